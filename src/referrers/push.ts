import {MAX_MANIFEST_BYTES, parseManifest, type Descriptor} from '../oci/manifest.js'
import {MT} from '../oci/media-types.js'
import type {RegistryClient} from '../registry/client.js'
import {digestTag, EMPTY_CONFIG, REFERRER_SUBJECT, REFERRER_TAG} from './model.js'

export interface PushedReferrers {
  /** referrer manifests put by digest */
  pushed: number
  /** referrer manifests the registry had already */
  present: number
  /** cosign tags (`sha256-<hex>.sig`) set */
  tagged: number
  /** referrers tag schema indexes (`sha256-<hex>`) written, for a registry without the referrers API */
  tagSchemaUpdates: number
}

export interface ReferrerToPush {
  /** its images/index.json entry (subject and cosign tag annotations) */
  desc: Descriptor
  bytes: Buffer
}

/**
 * Restores an image's referrers in the destination repository, after the image itself (the blobs
 * went with the image's). Each manifest goes by digest, unchanged. A cosign referrer gets its tag
 * back. An OCI 1.1 referrer is indexed by the registry when it has the referrers API (it answers the
 * PUT with OCI-Subject, or lists it on the API); otherwise its descriptor is added to the referrers
 * tag schema index `sha256-<hex>`, keeping any referrers already listed there.
 */
export async function pushReferrers(client: RegistryClient, repository: string, referrers: ReferrerToPush[]): Promise<PushedReferrers> {
  const out: PushedReferrers = {pushed: 0, present: 0, tagged: 0, tagSchemaUpdates: 0}
  const bySubject = new Map<string, Descriptor[]>()
  for (const {desc, bytes} of referrers) {
    const manifest = parseManifest(bytes, desc.mediaType, `referrer ${desc.digest}`)
    let ociSubject: string | undefined
    const head = await client.headManifest(repository, desc.digest)
    if (head?.digest === desc.digest) out.present++
    else {
      ociSubject = (await client.putManifestWithSubject(repository, desc.digest, bytes, desc.mediaType)).ociSubject
      out.pushed++
    }
    const tag = desc.annotations?.[REFERRER_TAG]
    if (tag) {
      const tagged = await client.headManifest(repository, tag)
      if (tagged?.digest !== desc.digest) {
        await client.putManifest(repository, tag, bytes, desc.mediaType)
        out.tagged++
      }
      continue
    }
    const subject = manifest.kind === 'manifest' ? manifest.subject?.digest : undefined
    if (!subject || ociSubject) continue
    const raw = JSON.parse(bytes.toString('utf8')) as {artifactType?: unknown; annotations?: Record<string, string>}
    const artifactType = typeof raw.artifactType === 'string' ? raw.artifactType : manifest.kind === 'manifest' && manifest.config.mediaType !== EMPTY_CONFIG ? manifest.config.mediaType : (desc.artifactType as string | undefined)
    const listed: Descriptor = {mediaType: desc.mediaType, digest: desc.digest, size: desc.size, ...(artifactType ? {artifactType} : {}), ...(raw.annotations ? {annotations: raw.annotations} : {})}
    bySubject.set(subject, [...(bySubject.get(subject) ?? []), listed])
  }
  for (const [subject, listed] of bySubject) {
    // a registry with the referrers API indexes subjects itself, even when it sent no OCI-Subject
    const api = await client.getReferrers(repository, subject)
    if (api) {
      const answered = parseManifest(api, MT.ociIndex, `referrers of ${subject}`)
      const have = new Set(answered.kind === 'index' ? answered.manifests.map((d) => d.digest) : [])
      if (listed.every((d) => have.has(d.digest))) continue
    }
    if (await updateTagSchema(client, repository, subject, listed)) out.tagSchemaUpdates++
  }
  return out
}

/** Adds descriptors to the `sha256-<hex>` index (made when absent); false when all were listed already. */
async function updateTagSchema(client: RegistryClient, repository: string, subject: string, listed: Descriptor[]): Promise<boolean> {
  const tag = digestTag(subject)
  let manifests: Descriptor[] = []
  if (await client.headManifest(repository, tag)) {
    const current = await client.getManifest(repository, tag)
    const parsed = current.bytes.length <= MAX_MANIFEST_BYTES ? parseManifest(current.bytes, current.mediaType, `${repository}:${tag}`) : undefined
    if (parsed?.kind === 'index') manifests = (JSON.parse(current.bytes.toString('utf8')) as {manifests: Descriptor[]}).manifests
  }
  const add = listed.filter((d) => !manifests.some((m) => m.digest === d.digest))
  if (add.length === 0) return false
  const index = {schemaVersion: 2, mediaType: MT.ociIndex, manifests: [...manifests, ...add]}
  await client.putManifest(repository, tag, Buffer.from(JSON.stringify(index)), MT.ociIndex)
  return true
}

/** The referrers of one image in the bundle's layout index: those whose subject is one of its digests. */
export function referrersOf(index: Descriptor[], digests: Set<string>): Descriptor[] {
  return index.filter((d) => digests.has(d.annotations?.[REFERRER_SUBJECT] ?? ''))
}
