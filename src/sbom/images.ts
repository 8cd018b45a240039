import type {ResolvedImage} from '../images/resolve.js'
import {parseManifest} from '../oci/manifest.js'
import {formatPlatform} from '../oci/platform.js'
import type {ReferrerRecord} from '../referrers/model.js'
import {parseReference} from '../registry/reference.js'
import type {SbomImage, SbomManifest} from './model.js'

/**
 * The SBOM's view of a resolved image, from the documents already in memory: each platform manifest
 * with its config and layers. Local images are named as the bundle names them (localhost/...).
 */
export function sbomImage(img: ResolvedImage, referrers: ReferrerRecord[]): SbomImage {
  const ref = parseReference(img.name, img.specRef)
  const top = parseManifest(img.top.bytes, img.top.mediaType, `${img.name} ${img.top.digest}`)
  const platformOf = new Map(top.kind === 'index' ? top.manifests.map((d) => [d.digest, d.platform ? formatPlatform(d.platform) : undefined]) : [])
  const manifests: SbomManifest[] = []
  for (const d of img.documents) {
    const m = parseManifest(d.bytes, d.mediaType, `${img.name} ${d.digest}`)
    if (m.kind !== 'manifest') continue
    const platform = top.kind === 'index' ? platformOf.get(d.digest) : img.platforms[0]
    manifests.push({digest: d.digest, mediaType: m.mediaType, ...(platform ? {platform} : {}), blobs: [m.config, ...m.layers].map((b) => ({digest: b.digest, size: b.size, mediaType: b.mediaType}))})
  }
  return {
    name: img.name,
    registry: ref.registry,
    repository: ref.repository,
    ...(ref.tag ? {tag: ref.tag} : {}),
    digest: img.top.digest,
    sourceDigest: img.sourceDigest,
    mediaType: img.top.mediaType,
    manifests,
    referrers,
  }
}
