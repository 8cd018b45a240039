import {REFERRER_SUBJECT, REFERRER_TAG, type ReferrerRecord} from './model.js'

/**
 * images/index.json entries for referrers: each names its subject and, when cosign's tag scheme
 * found it, its tag, so that a reader of the layout alone (or `images push`) can restore both.
 * The OCI image layout allows entries without a ref.name; every airlock reader of the index skips
 * these when it lists images (isReferrerDescriptor).
 */
export function layoutReferrerDescriptors(records: ReferrerRecord[]): {mediaType: string; digest: string; size: number; artifactType: string; annotations: Record<string, string>}[] {
  const seen = new Set<string>()
  return records
    .filter((r) => !seen.has(r.digest) && Boolean(seen.add(r.digest)))
    .map((r) => ({
      mediaType: r.mediaType,
      digest: r.digest,
      size: r.size,
      artifactType: r.artifactType,
      annotations: {[REFERRER_SUBJECT]: r.subject, ...(r.tag ? {[REFERRER_TAG]: r.tag} : {})},
    }))
}
