import {parseSigner} from '../signing/trust.js'
import {SIGNER, SUMS, parseSums, type BundleBase, type BundleManifest, type ImageRecord, type InventoryEntry} from './format.js'
import type {BundleInput} from './source.js'
import {walkBundleStructure} from './structure.js'
import {bundleCharts} from '../charts/push.js'
import type {ChartExtension} from '../charts/plan.js'

export interface BundleHead {
  root: string
  sums: Map<string, string>
  signerPem: string
  manifest: BundleManifest
}

/**
 * SHA256SUMS, the signer and manifest.json (checked against its line and against SHA256SUMS), from
 * the same walk `bundle verify` makes with only the hashing of bodies skipped: inspect and images
 * list refuse every structure verify refuses. Nothing here is trusted: `bundle verify` decides that.
 */
export async function readBundleHead(input: BundleInput): Promise<BundleHead> {
  const head = new Map<string, Buffer>()
  const walk = await walkBundleStructure(input, {
    async head(name, data) {
      head.set(name, data)
    },
    async open() {
      return undefined
    },
  })
  return {root: walk.root, sums: parseSums((head.get(SUMS) ?? Buffer.alloc(0)).toString('utf8'), `${walk.root}/${SUMS}`), signerPem: (head.get(SIGNER) ?? Buffer.alloc(0)).toString('utf8'), manifest: walk.manifest}
}

export interface InspectResult {
  bundle: string
  /** inspect never checks trust; `bundle verify` does */
  verified: false
  name: string
  version: string
  created: string
  tool: {name: string; version: string}
  signer: {fingerprint: string; subject?: string; issuer?: string; validTo?: string; kind: 'certificate' | 'public-key'}
  profile?: {name: string; sha256: string}
  images: ImageRecord[]
  /** Helm charts (manifest.json extensions.charts): stored in images/ as OCI artifacts, archives under charts/ */
  charts: ChartExtension[]
  files: InventoryEntry[]
  extensions?: Record<string, unknown>
  /** a differential bundle: what it was built --since, and what it leaves out */
  base?: BundleBase
  totals: {entries: number; files: number; images: number; bytes: number; imageBytes: number}
}

export async function inspectBundle(input: BundleInput): Promise<InspectResult> {
  const head = await readBundleHead(input)
  const m = head.manifest
  const signer = parseSigner(head.signerPem, `${head.root}/${SIGNER}`)
  const bytes = m.files.reduce((n, f) => n + f.size, 0)
  const imageBytes = m.files.filter((f) => f.role === 'image-blob' || f.role === 'image-layout').reduce((n, f) => n + f.size, 0)
  return {
    bundle: input,
    verified: false,
    name: m.name,
    version: m.version,
    created: m.created,
    tool: m.tool,
    signer: {
      fingerprint: signer.fingerprint,
      kind: signer.chain.length > 0 ? 'certificate' : 'public-key',
      ...(signer.subject ? {subject: signer.subject, issuer: signer.issuer, validTo: signer.validTo} : {}),
    },
    ...(m.profile ? {profile: m.profile} : {}),
    images: m.images,
    charts: [...bundleCharts(m).values()],
    files: m.files,
    ...(m.extensions ? {extensions: m.extensions} : {}),
    ...(m.base ? {base: m.base} : {}),
    totals: {entries: head.sums.size + 3, files: m.files.filter((f) => f.role !== 'image-blob').length, images: m.images.length, bytes, imageBytes},
  }
}
