import {createHash} from 'node:crypto'

import {parseSigner} from '../signing/trust.js'
import {AirlockError} from '../ui/errors.js'
import {MANIFEST, MAX_MANIFEST_BYTES, MAX_SIG_BYTES, MAX_SIGNER_BYTES, MAX_SUMS_BYTES, SIG, SIGNER, SUMS, parseSums, type BundleBase, type BundleManifest, type ImageRecord, type InventoryEntry} from './format.js'
import {checkEntryType, checkRelativePath} from './path-safety.js'
import {openBundleStream, type BundleInput} from './source.js'
import {TarReader} from './tar-reader.js'
import {parseManifest} from './verify.js'
import {bundleCharts} from '../charts/push.js'
import type {ChartExtension} from '../charts/plan.js'

export interface BundleHead {
  root: string
  sums: Map<string, string>
  signerPem: string
  manifest: BundleManifest
}

/**
 * Reads only the head of a bundle: SHA256SUMS, its signature, the signer and manifest.json (checked
 * against its line), then stops. Nothing here is trusted: `bundle verify` decides that.
 */
export async function readBundleHead(input: BundleInput): Promise<BundleHead> {
  const reader = new TarReader(await openBundleStream(input))
  try {
    return await readHeadOf(reader)
  } finally {
    await reader.close()
  }
}

async function readHeadOf(reader: TarReader): Promise<BundleHead> {
  const take = async (name: string, max: number, root?: string) => {
    const entry = await reader.next()
    if (!entry) throw new AirlockError('NOT_A_BUNDLE', `the bundle ends before ${name}`, {subject: name})
    checkRelativePath(entry.path)
    checkEntryType(entry.path, entry.type)
    const r = root ?? entry.path.split('/')[0] ?? ''
    if (entry.path !== `${r}/${name}`) {
      throw new AirlockError('NOT_A_BUNDLE', `expected ${r}/${name}, found ${entry.path}`, {subject: entry.path, hint: 'pass a bundle written by `airlock bundle build`'})
    }
    return {root: r, data: await reader.readBody(max)}
  }
  const {root, data: sums} = await take(SUMS, MAX_SUMS_BYTES)
  await take(SIG, MAX_SIG_BYTES, root)
  const {data: signerPem} = await take(SIGNER, MAX_SIGNER_BYTES, root)
  const {data: manifestData} = await take(MANIFEST, MAX_MANIFEST_BYTES, root)
  const lines = parseSums(sums.toString('utf8'), `${root}/${SUMS}`)
  const digest = createHash('sha256').update(manifestData).digest('hex')
  if (lines.get(MANIFEST) !== digest) {
    throw new AirlockError('DIGEST_MISMATCH', `${root}/${MANIFEST} does not match its line in ${SUMS}`, {subject: `${root}/${MANIFEST}`, hint: 'the bundle was changed after signing; run `airlock bundle verify`'})
  }
  return {root, sums: lines, signerPem: signerPem.toString('utf8'), manifest: parseManifest(manifestData, `${root}/${MANIFEST}`, root)}
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
