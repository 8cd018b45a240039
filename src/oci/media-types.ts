export const MT = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const

export const INDEX_TYPES: readonly string[] = [MT.ociIndex, MT.dockerList]
export const MANIFEST_TYPES: readonly string[] = [MT.ociManifest, MT.dockerManifest]
export const SCHEMA1_TYPES: readonly string[] = [MT.dockerSchema1, MT.dockerSchema1Signed, 'application/json']

/** What a registry is asked for: every supported type, schema 1 last so it is only sent when nothing else exists. */
export const MANIFEST_ACCEPT = [MT.ociIndex, MT.ociManifest, MT.dockerList, MT.dockerManifest, `${MT.dockerSchema1Signed};q=0.1`, `${MT.dockerSchema1};q=0.1`].join(', ')

export const REF_NAME = 'org.opencontainers.image.ref.name'
/** on a layout descriptor whose index was narrowed to some platforms: the digest it came from */
export const SOURCE_DIGEST = 'dev.airlock.source.digest'
