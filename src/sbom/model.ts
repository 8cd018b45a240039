import type {ReferrerRecord} from '../referrers/model.js'

/** The bundle root's SBOM file (DESIGN.md, bundle format v1). */
export const SBOM_FILE = 'sbom.cdx.json'
/** Larger than any SBOM of a bundle airlock writes; a reader refuses more. */
export const MAX_SBOM_BYTES = 64 << 20

export interface SbomBlob {
  digest: string
  size: number
  mediaType: string
}

/** One manifest of an image: the image itself when it has one platform, else one per platform. */
export interface SbomManifest {
  digest: string
  mediaType: string
  /** os/arch[/variant], when known */
  platform?: string
  /** config first, then layers */
  blobs: SbomBlob[]
}

/** What the images step tells the SBOM about each image (Contribution.sbom). */
export interface SbomImage {
  /** the full reference: quay.io/org/app:1.2.3 */
  name: string
  registry: string
  repository: string
  tag?: string
  /** the digest stored in the layout, and the upstream one when an index was narrowed */
  digest: string
  sourceDigest: string
  mediaType: string
  /** for an index, its platform manifests; for a single manifest, that manifest (digest = the image's) */
  manifests: SbomManifest[]
  referrers: ReferrerRecord[]
}

/** A chart as the charts step may describe it (manifest.json `extensions.charts`); every field but name optional. */
export interface SbomChart {
  name: string
  version?: string
  /** the chart's OCI digest, or the SHA-256 of its .tgz */
  digest?: string
  sha256?: string
  /** its .tgz in the bundle: charts/NAME-VERSION.tgz */
  path?: string
  /** its name in the bundle's layout (HOST/PATH/NAME:TAG), which images push maps to the site */
  ref?: string
  /** the images it needs, by their full reference */
  images?: string[]
}

export interface SbomPart {
  images?: SbomImage[]
  charts?: SbomChart[]
}
