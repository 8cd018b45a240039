import type {ImageRecord} from '../bundle/format.js'
import type {ImageExtension} from './contribute.js'
import {readBundleHead} from '../bundle/inspect.js'
import {bundleCharts} from '../charts/push.js'
import type {ChartExtension} from '../charts/plan.js'

export interface ListedImage extends ImageRecord {
  /** the full reference it is stored under (ref.name in images/index.json) */
  name?: string
  sourceDigest?: string
  /** bytes shared with other images of the bundle (stored once) */
  sharedBytes?: number
  /** signatures, attestations and SBOMs carried beside it */
  referrers?: ImageExtension['referrers']
  /** the upstream cosign signature the spec required at build */
  signature?: ImageExtension['signature']
}

export interface ListResult {
  bundle: string
  root: string
  images: ListedImage[]
  /** Helm charts stored in images/ as OCI artifacts, each with the images it needs and where each was found */
  charts: ChartExtension[]
  /** every image's size added up, and the bytes actually stored once each */
  totalBytes: number
}

/** The images of a bundle from its manifest.json (the head only: a 10 GB bundle lists instantly). */
export async function listBundleImages(bundle: string): Promise<ListResult> {
  const {root, manifest} = await readBundleHead(bundle)
  const ext = ((manifest.extensions?.images ?? []) as ImageExtension[])
  const images = manifest.images.map((img, i) => {
    const e = ext[i]?.ref === img.ref ? ext[i] : ext.find((x) => x.ref === img.ref)
    return {...img, ...(e ? {name: e.name, sourceDigest: e.sourceDigest, sharedBytes: e.sharedBytes, ...(e.referrers ? {referrers: e.referrers} : {}), ...(e.signature ? {signature: e.signature} : {})} : {})}
  })
  const totalBytes = manifest.files.filter((f) => f.path.startsWith('images/')).reduce((n, f) => n + f.size, 0)
  return {bundle, root, images, charts: [...bundleCharts(manifest).values()], totalBytes}
}
