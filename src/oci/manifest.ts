import {AirlockError} from '../ui/errors.js'
import {checkDigest} from './digest.js'
import {INDEX_TYPES, MANIFEST_TYPES, MT} from './media-types.js'
import type {Platform} from './platform.js'

export interface Descriptor {
  mediaType: string
  digest: string
  size: number
  platform?: Platform & {'os.version'?: string; 'os.features'?: string[]; features?: string[]}
  annotations?: Record<string, string>
  urls?: string[]
  [key: string]: unknown
}

export interface ImageIndex {
  kind: 'index'
  mediaType: string
  manifests: Descriptor[]
}

export interface ImageManifest {
  kind: 'manifest'
  mediaType: string
  config: Descriptor
  layers: Descriptor[]
  subject?: Descriptor
}

export type AnyManifest = ImageIndex | ImageManifest

/** Manifests and indexes are small documents; anything larger is refused before parsing. */
export const MAX_MANIFEST_BYTES = 4 << 20

function checkDescriptor(d: unknown, subject: string): Descriptor {
  const desc = d as Descriptor
  if (typeof desc !== 'object' || desc === null || typeof desc.mediaType !== 'string' || !Number.isSafeInteger(desc.size) || desc.size < 0) {
    throw new AirlockError('MANIFEST_INVALID', `${subject} is not a valid descriptor (mediaType, digest, size)`, {subject, hint: 'the registry or layout served a damaged manifest'})
  }
  checkDigest(desc.digest, subject)
  return desc
}

/**
 * Parses a manifest or index. `mediaType` is the Content-Type (or descriptor type) it arrived with;
 * the document's own mediaType wins when present. Schema 1 is refused: it has no content-addressed
 * config and cannot be stored in an OCI layout without rewriting it.
 */
export function parseManifest(bytes: Buffer, mediaType: string | undefined, subject: string): AnyManifest {
  if (bytes.length > MAX_MANIFEST_BYTES) throw new AirlockError('MANIFEST_INVALID', `${subject}: manifest of ${bytes.length} bytes is too large`, {subject})
  let doc: Record<string, unknown>
  try {
    doc = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>
  } catch (error) {
    throw new AirlockError('MANIFEST_INVALID', `${subject}: the manifest is not JSON`, {subject, cause: error, hint: 'the registry served something that is not a manifest'})
  }
  if (typeof doc !== 'object' || doc === null) throw new AirlockError('MANIFEST_INVALID', `${subject}: the manifest is not a JSON object`, {subject})
  const type = typeof doc.mediaType === 'string' ? doc.mediaType : (mediaType ?? '').split(';')[0]?.trim() ?? ''
  if (doc.schemaVersion === 1 || type === MT.dockerSchema1 || type === MT.dockerSchema1Signed) {
    throw new AirlockError('MANIFEST_INVALID', `${subject} is a Docker schema 1 image, which airlock does not carry`, {
      subject,
      hint: 'schema 1 is deprecated and has no content-addressed config; push the image again with a current docker or skopeo (schema 2 or OCI) and bundle that',
    })
  }
  const isIndex = INDEX_TYPES.includes(type) || (type === '' && Array.isArray(doc.manifests))
  const isManifest = MANIFEST_TYPES.includes(type) || (type === '' && typeof doc.config === 'object')
  if (isIndex) {
    if (!Array.isArray(doc.manifests)) throw new AirlockError('MANIFEST_INVALID', `${subject}: an index without "manifests"`, {subject})
    return {kind: 'index', mediaType: type || MT.ociIndex, manifests: doc.manifests.map((m, i) => checkDescriptor(m, `${subject} manifests[${i}]`))}
  }
  if (isManifest) {
    if (!Array.isArray(doc.layers)) throw new AirlockError('MANIFEST_INVALID', `${subject}: a manifest without "layers"`, {subject})
    return {
      kind: 'manifest',
      mediaType: type || MT.ociManifest,
      config: checkDescriptor(doc.config, `${subject} config`),
      layers: doc.layers.map((l, i) => checkDescriptor(l, `${subject} layers[${i}]`)),
      ...(doc.subject ? {subject: checkDescriptor(doc.subject, `${subject} subject`)} : {}),
    }
  }
  throw new AirlockError('MANIFEST_INVALID', `${subject} has media type "${type || 'none'}", which is not an image manifest or index`, {
    subject,
    hint: 'airlock carries Docker schema 2 and OCI images and indexes; artifacts of other types are not supported',
  })
}
