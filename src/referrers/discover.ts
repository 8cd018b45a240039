import {parseManifest, type Descriptor} from '../oci/manifest.js'
import type {RegistryClient} from '../registry/client.js'
import {AirlockError} from '../ui/errors.js'
import {classifyReferrer, COSIGN_SUFFIXES, digestTag, EMPTY_CONFIG, type ReferrerRecord} from './model.js'

/** A referrer found upstream: its record and its manifest's bytes (small; it goes into the layout from memory). */
export interface FoundReferrer {
  record: ReferrerRecord
  bytes: Buffer
}

export interface DiscoverInput {
  client: RegistryClient
  repository: string
  /** the image's name, for errors and notes */
  name: string
  /** the digests to find referrers of: the image's source digest and each platform manifest it carries */
  subjects: string[]
}

export interface DiscoverResult {
  found: FoundReferrer[]
  /** referrers seen but not carried, and why */
  notes: string[]
}

/**
 * Finds every referrer of every subject: the referrers API first, its tag schema where the registry
 * lacks the API, and cosign's `.sig`/`.att`/`.sbom` tags always (cosign writes those whatever the
 * registry supports). Each referrer manifest is fetched by digest, so its bytes are checked against
 * it; one that does not name the subject it was listed for is not carried, because a registry could
 * list anything there.
 */
export async function discoverReferrers(input: DiscoverInput): Promise<DiscoverResult> {
  const {client, repository, name} = input
  const found = new Map<string, FoundReferrer>()
  const notes: string[] = []
  const take = async (desc: {digest: string; mediaType?: string}, subject: string, via: ReferrerRecord['via'], tag?: string) => {
    if (found.has(desc.digest)) return
    const fetched = tag ? await client.getManifest(repository, tag) : await client.getManifest(repository, desc.digest)
    const what = `${name} referrer ${fetched.digest}`
    let parsed
    try {
      parsed = parseManifest(fetched.bytes, fetched.mediaType || desc.mediaType, what)
    } catch (error) {
      // an artifact type airlock cannot store as an OCI manifest: say so, carry the rest
      if (!(error instanceof AirlockError) || error.code !== 'MANIFEST_INVALID') throw error
      notes.push(`${what} is not carried: ${error.message}`)
      return
    }
    if (parsed.kind !== 'manifest') {
      notes.push(`${what} is an index; referrers that are indexes are not carried`)
      return
    }
    if (via !== 'cosign-tag' && parsed.subject?.digest !== subject) {
      notes.push(`${what} was listed as a referrer of ${subject} but names ${parsed.subject?.digest ?? 'no subject'}; not carried`)
      return
    }
    const raw = JSON.parse(fetched.bytes.toString('utf8')) as {artifactType?: unknown}
    const artifactType = typeof raw.artifactType === 'string' ? raw.artifactType : parsed.config.mediaType === EMPTY_CONFIG ? EMPTY_CONFIG : parsed.config.mediaType
    const blobs = [parsed.config, ...parsed.layers].map((b) => ({digest: b.digest, size: b.size, mediaType: b.mediaType}))
    found.set(fetched.digest, {
      bytes: fetched.bytes,
      record: {
        digest: fetched.digest,
        mediaType: parsed.mediaType,
        size: fetched.bytes.length,
        artifactType,
        kind: classifyReferrer(artifactType, parsed.layers.map((l) => l.mediaType), tag),
        subject,
        via,
        ...(tag ? {tag} : {}),
        blobs: blobs.filter((b, i) => blobs.findIndex((x) => x.digest === b.digest) === i),
      },
    })
  }

  for (const subject of input.subjects) {
    let listed: Descriptor[] | undefined
    let via: ReferrerRecord['via'] = 'referrers-api'
    const api = await client.getReferrers(repository, subject)
    if (api) {
      listed = indexManifests(api, `${name} referrers of ${subject}`)
    } else if (await client.headManifest(repository, digestTag(subject))) {
      via = 'tag-schema'
      const index = await client.getManifest(repository, digestTag(subject))
      listed = indexManifests(index.bytes, `${name} ${repository}:${digestTag(subject)}`)
    }
    for (const d of listed ?? []) await take(d, subject, via)
    for (const suffix of COSIGN_SUFFIXES) {
      const tag = `${digestTag(subject)}.${suffix}`
      const head = await client.headManifest(repository, tag)
      if (head) await take({digest: head.digest, mediaType: head.mediaType}, subject, 'cosign-tag', tag)
    }
  }
  return {found: [...found.values()], notes}
}

function indexManifests(bytes: Buffer, what: string): Descriptor[] {
  const parsed = parseManifest(bytes, undefined, what)
  if (parsed.kind !== 'index') throw new AirlockError('MANIFEST_INVALID', `${what} is not an image index`, {subject: what, hint: 'the registry answered the referrers query with something else; ask its owner'})
  return parsed.manifests
}
