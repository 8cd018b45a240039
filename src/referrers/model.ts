import type {Descriptor} from '../oci/manifest.js'

/*
 * An image's referrers: signatures, attestations and SBOMs stored beside it. Two ways exist to find
 * them, and airlock reads and writes both:
 *  - OCI 1.1: a manifest with a `subject` descriptor naming the image's digest, listed by the
 *    registry's referrers API (GET /v2/NAME/referrers/DIGEST) or, where a registry lacks it, by the
 *    referrers tag schema: an index tagged `sha256-<hex>` whose manifests are the referrers.
 *  - cosign's tags: `sha256-<hex>.sig`, `.att` and `.sbom`, plain manifests without a subject.
 */

/** The cosign tag suffixes, in the order they are looked up. */
export const COSIGN_SUFFIXES = ['sig', 'att', 'sbom'] as const

export type ReferrerKind = 'signature' | 'attestation' | 'sbom' | 'other'

/** manifest.json `extensions.images[i].referrers[j]`: what `bundle inspect`, `images list` and `images push` read. */
export interface ReferrerRecord {
  digest: string
  mediaType: string
  size: number
  /** the manifest's artifactType, else its config's media type */
  artifactType: string
  kind: ReferrerKind
  /** the digest it refers to: the image, or one of its platform manifests */
  subject: string
  /** how it was found, and so how `images push` restores it */
  via: 'referrers-api' | 'tag-schema' | 'cosign-tag'
  /** the cosign tag it was found under (`sha256-<hex>.sig`) */
  tag?: string
  /** every config and layer blob of the referrer, digests unchanged */
  blobs: {digest: string; size: number; mediaType: string}[]
}

/** Annotations on a referrer's entry in the bundle's images/index.json (it has no ref.name). */
export const REFERRER_SUBJECT = 'dev.airlock.referrer.subject'
export const REFERRER_TAG = 'dev.airlock.referrer.tag'

export const EMPTY_CONFIG = 'application/vnd.oci.empty.v1+json'
export const COSIGN_SIMPLESIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json'
export const COSIGN_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature'

/** A layout index entry that is a referrer, not an image: every reader of images/index.json skips these. */
export function isReferrerDescriptor(d: Descriptor): boolean {
  return typeof d.annotations?.[REFERRER_SUBJECT] === 'string'
}

/** `sha256:<hex>` -> `sha256-<hex>`: the tag of the referrers tag schema and the stem of cosign's tags. */
export function digestTag(digest: string): string {
  return digest.replace(':', '-')
}

/** What a reviewer wants to know first: is it a signature, an attestation or an SBOM. */
export function classifyReferrer(artifactType: string, layerTypes: string[], tag?: string): ReferrerKind {
  if (tag?.endsWith('.sig')) return 'signature'
  if (tag?.endsWith('.att')) return 'attestation'
  if (tag?.endsWith('.sbom')) return 'sbom'
  const types = [artifactType, ...layerTypes].map((t) => t.toLowerCase())
  if (types.some((t) => t.includes('spdx') || t.includes('cyclonedx') || t.includes('syft'))) return 'sbom'
  if (types.some((t) => t.includes('in-toto') || t.includes('intoto') || t.includes('dsse') || t.includes('attestation'))) return 'attestation'
  if (types.some((t) => t.includes('signature') || t.includes('simplesigning') || t.includes('notary') || t.includes('sigstore'))) return 'signature'
  return 'other'
}
