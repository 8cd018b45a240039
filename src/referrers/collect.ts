import {readFile} from 'node:fs/promises'
import {isAbsolute, resolve} from 'node:path'

import type {BlobFetcher} from '../images/fetcher.js'
import type {Document, ResolvedImage} from '../images/resolve.js'
import type {RegistryPool} from '../registry/client.js'
import {AirlockError, fromFsError} from '../ui/errors.js'
import {loadCosignKey, verifyCosignSignature, type CosignVerified} from './cosign.js'
import {discoverReferrers} from './discover.js'
import type {ReferrerRecord} from './model.js'

export interface ReferrerPolicy {
  /** drop the referrers from the bundle (a required signature is still checked) */
  exclude: boolean
  /** require a cosign signature by this key (a path relative to the spec's folder) */
  cosignKey?: string
  /** the spec path to name in errors: bundles/x.yaml#spec.images[2] */
  subject: string
}

export interface CollectEnv {
  pool: RegistryPool
  fetcher: BlobFetcher
  baseDir: string
}

export interface ImageReferrers {
  records: ReferrerRecord[]
  /** the referrer manifests, for the layout */
  documents: Document[]
  /** set when the spec required an upstream signature and it verified */
  signature?: CosignVerified & {key: string}
  notes: string[]
}

/**
 * An image's referrers for the bundle, and its upstream signature check when the spec asks for one.
 * Referrer blobs are registered with the same fetcher as image blobs, so they download, hash and
 * stream the same way; a signature payload is read back from the verified file.
 */
export async function collectReferrers(img: ResolvedImage, policy: ReferrerPolicy, env: CollectEnv): Promise<ImageReferrers> {
  const none: ImageReferrers = {records: [], documents: [], notes: []}
  if (img.origin.kind !== 'registry') {
    if (policy.cosignKey) {
      throw new AirlockError('SPEC_INVALID', `${policy.subject}: ${img.name} comes from a local layout, which has no registry to hold its cosign signature`, {subject: `${policy.subject}.verify`, hint: 'bundle the image from its registry to check its signature, or remove verify from this entry'})
    }
    return none
  }
  if (policy.exclude && !policy.cosignKey) return none
  const origin = img.origin
  const client = env.pool.client(origin.registry)
  // the upstream digest (an index narrowed to some platforms keeps its referrers), then each platform manifest
  const children = img.documents.filter((d) => d.digest !== img.top.digest).map((d) => d.digest)
  const subjects = policy.exclude ? [img.sourceDigest] : [...new Set([img.sourceDigest, ...children])]
  const {found, notes} = await discoverReferrers({client, repository: origin.repository, name: img.name, subjects})
  for (const f of found) {
    for (const b of f.record.blobs) env.fetcher.register(b.digest, b.size, origin, `image ${img.name} referrer ${f.record.digest} blob ${b.digest}`)
  }

  let signature: ImageReferrers['signature']
  if (policy.cosignKey) {
    const keyPath = isAbsolute(policy.cosignKey) ? policy.cosignKey : resolve(env.baseDir, policy.cosignKey)
    const key = await loadCosignKey(keyPath, `${policy.subject}.verify.cosignKey`)
    const verified = await verifyCosignSignature({
      name: img.name,
      digest: img.sourceDigest,
      subject: policy.subject,
      key,
      keyPath: policy.cosignKey,
      found,
      readBlob: async (digest) => {
        const file = await env.fetcher.ensure(digest)
        return readFile(file).catch((error: unknown) => {
          throw fromFsError(error, file, 'signature payload')
        })
      },
    })
    signature = {...verified, key: policy.cosignKey}
  }
  if (policy.exclude) return {...none, ...(signature ? {signature} : {})}
  return {
    records: found.map((f) => f.record),
    documents: found.map((f) => ({digest: f.record.digest, size: f.record.size, mediaType: f.record.mediaType, bytes: f.bytes})),
    ...(signature ? {signature} : {}),
    notes,
  }
}
