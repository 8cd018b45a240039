import {mkdir, mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {basename, dirname, join, resolve} from 'node:path'

import {loadSpec} from '../spec/load.js'
import {loadSigner} from '../signing/signer.js'
import {AirlockError} from '../ui/errors.js'
import {pathExists} from '../util/fs.js'
import {removeOnInterrupt} from '../util/partial.js'
import {toolVersion} from '../util/version.js'
import type {BuildContext, BuildOptions, Contribution} from './build-context.js'
import {CONTRIBUTORS} from './contributors.js'
import {closeSharedHashPool} from './hash-pool.js'
import {bufferEntry, type EntrySource} from './entry.js'
import {FORMAT_VERSION, MANIFEST, VERIFY_TXT, renderVerifyScript, rootName, type BundleBase, type BundleManifest, type ImageRecord, type InventoryEntry} from './format.js'
import {EntryNames, checkEntryName} from './path-safety.js'
import {describeBase, loadSinceBase} from './since.js'
import {writeBundle} from './writer.js'
import {isS3Url} from '../transport/s3-input.js'
import type {S3SinkResult} from '../transport/s3-sink.js'
import {readBuildUploadRecord} from '../transport/build-upload-record.js'
import {contributeSbom} from '../sbom/contribute.js'

export interface BuildResult {
  out: string
  name: string
  version: string
  root: string
  created: string
  signer: {fingerprint: string; subject?: string}
  entries: number
  contentBytes: number
  /** a build into S3: the object's size, SHA-256 (also in KEY.sha256) and parts */
  s3?: S3SinkResult
  images: ImageRecord[]
  files: InventoryEntry[]
  /** a differential bundle: the base it follows and what it left out */
  base?: BundleBase
  notes: string[]
  /** private keys the build wrote outside the bundle */
  secrets: string[]
}

/** SOURCE_DATE_EPOCH (reproducible-builds.org) fixes every timestamp in the bundle. */
export function buildClock(env: NodeJS.ProcessEnv = process.env): Date {
  const epoch = env.SOURCE_DATE_EPOCH
  if (epoch === undefined || epoch === '') return new Date(Math.floor(Date.now() / 1000) * 1000)
  if (!/^\d+$/.test(epoch)) throw new AirlockError('USAGE', `SOURCE_DATE_EPOCH must be whole seconds since 1970, got ${epoch}`, {subject: 'SOURCE_DATE_EPOCH'})
  return new Date(Number(epoch) * 1000)
}

export async function buildBundle(options: BuildOptions, progress: (text: string) => void = () => {}, onBytes?: (done: number, total: number) => void): Promise<BuildResult> {
  // s3://BUCKET/KEY: nothing of the bundle touches local disk; the upload checks the key itself
  const toS3 = isS3Url(options.out)
  if (toS3) {
    options = {...options, secretsDir: options.secretsDir ?? process.cwd()}
    // Loading the AWS SDK costs about half a second of one core: started now, it runs while the
    // inputs are read and hashed instead of after them, when the store would sit idle waiting for it.
    // writeBundle's own import() of the module gets this same load; a failure surfaces there.
    import('../transport/s3-sink.js').catch(() => {})
  }
  const out = toS3 ? options.out : resolve(options.out)
  if (!toS3 && !options.force && (await pathExists(out))) {
    throw new AirlockError('FILE_EXISTS', `${out} already exists`, {subject: out, hint: 'remove it, choose another --out, or pass --force'})
  }
  const loaded = await loadSpec(options.specPath, options.set)
  const signer = await loadSigner(options.keyPath, {certPath: options.certPath, passphrase: options.passphrase})
  if (options.since) progress(`reading ${options.since}`)
  const since = options.since ? await loadSinceBase(options.since, options.sinceTrust) : undefined
  // --resume: the interrupted build's clock, so that this build makes the same bytes (unless the clock is fixed otherwise)
  const s3Notes: string[] = []
  const resume = toS3 && options.s3?.resume ? await resumeClock(options, s3Notes) : undefined
  const now = options.now ?? resume?.created ?? buildClock()
  const {name, version} = loaded.spec.metadata
  const root = rootName(name, version)
  // `--out out/x.tar` in a fresh folder: make out/ rather than fail on the work folder inside it
  // (blob downloads pass through it and are deleted as they are written; for S3 it is the temp folder)
  if (!toS3) await mkdir(dirname(out), {recursive: true})
  const workDir = await mkdtemp(toS3 ? join(tmpdir(), 'airlock-build-') : resolve(dirname(out), `.${basename(out)}.work-`))
  const unregister = removeOnInterrupt(workDir)
  try {
    const ctx: BuildContext = {loaded, options, workDir, now, progress, ...(since ? {since} : {})}
    const contributions: Contribution[] = []
    for (const load of CONTRIBUTORS) {
      const contribute = await load()
      const c = await contribute(ctx)
      if (c) contributions.push(c)
    }
    const entries: EntrySource[] = contributions.flatMap((c) => c.entries)
    refuseUnverifiableNames(entries)
    const images = contributions.flatMap((c) => c.images ?? [])
    const extensions = Object.assign({}, ...contributions.map((c) => c.extensions ?? {})) as Record<string, unknown>
    const profile = contributions.find((c) => c.profile)?.profile
    const base = since ? describeBase(since, contributions.flatMap((c) => c.omitted ?? [])) : undefined
    const verifyTxt = bufferEntry(VERIFY_TXT, renderVerifyScript({root, bundleFile: basename(out), signerIsCertificate: Boolean(options.certPath)}), 'verify-instructions')
    const sbom = await contributeSbom({name, version, created: now, specSha256: loaded.sha256, parts: contributions, extensions, files: [verifyTxt, ...entries]})
    // manifest.json cannot list itself; SHA256SUMS covers it
    const files: InventoryEntry[] = [verifyTxt, sbom, ...entries].map((e) => ({path: e.path, size: e.size, sha256: e.sha256, role: e.role, ...(e.role !== 'executable' && ((e.mode ?? 0) & 0o111) !== 0 ? {executable: true} : {})}))
    const manifest: BundleManifest = {
      formatVersion: FORMAT_VERSION,
      name,
      version,
      created: now.toISOString(),
      tool: {name: 'airlock', version: toolVersion()},
      spec: {path: basename(loaded.path), sha256: loaded.sha256},
      ...(profile ? {profile} : {}),
      images,
      files,
      ...(Object.keys(extensions).length > 0 ? {extensions} : {}),
      ...(base ? {base} : {}),
    }
    // the SBOM right after the head, so `bundle inspect --sbom` reads a few kilobytes into the tar
    const head = [bufferEntry(MANIFEST, `${JSON.stringify(manifest, null, 2)}\n`, 'manifest'), verifyTxt, sbom]
    progress(`writing ${basename(out)}`)
    const written = await writeBundle({out, root, entries: [...head, ...entries], signer, mtime: now, gzip: options.gzip, onBytes, s3: {...S3_OUT_DEFAULTS, ...options.s3, force: options.force, onNote: (text) => s3Notes.push(text)}})
    return {
      out,
      name,
      version,
      root,
      created: manifest.created,
      signer: {fingerprint: signer.fingerprint, ...(signer.subject ? {subject: signer.subject} : {})},
      entries: written.entries,
      contentBytes: written.contentBytes,
      ...(written.s3 ? {s3: written.s3} : {}),
      images,
      files,
      ...(base ? {base} : {}),
      notes: [...s3Notes, ...contributions.flatMap((c) => c.notes ?? [])],
      secrets: contributions.flatMap((c) => c.secrets ?? []),
    }
  } finally {
    await closeSharedHashPool()
    // retries: a download cut short may still be closing its file; the build's own error must not be masked
    await rm(workDir, {recursive: true, force: true, maxRetries: 5, retryDelay: 50})
    unregister()
  }
}

/**
 * --resume with a record of an interrupted upload to this very key: its `created` clock, unless the
 * clock is fixed already (SOURCE_DATE_EPOCH): then the identity check decides whether the parts fit.
 */
async function resumeClock(options: BuildOptions, notes: string[]): Promise<{created: Date} | undefined> {
  const path = options.s3?.resume?.recordPath as string
  const record = await readBuildUploadRecord(path)
  if (!record || record.url !== options.out || record.endpoint !== (options.s3?.endpoint ?? null)) return undefined
  if (process.env.SOURCE_DATE_EPOCH) return undefined
  const created = new Date(record.created)
  if (Number.isNaN(created.getTime())) return undefined
  notes.push(`--resume: built with the clock of the interrupted build (${record.created}), so that the parts already uploaded fit`)
  return {created}
}

/**
 * `bundle build --out s3://` without --part-size/--s3-concurrency: parts of S3's smallest size, 3 in
 * flight, so the part buffers take (3 + 1) x 5 MiB = 20 MiB. Measured against s3rver (512 MB bundle,
 * 2 cores): peak RSS 215 MB with 4 x 8 MiB, 202 MB with 4 x 5 MiB, 194 MB with 3 x 5 MiB, for the same
 * CPU and the same time (the store is the limit); since entries are read into reused buffers
 * (readChunks), 172 MB with 3 x 5 MiB. The rest is the build's own (a build to a file peaks at about
 * 158 MB) and the AWS SDK.
 * Parts grow past 5 MiB only for bundles over 48.8 GiB (S3's 10,000 parts), and memory with them.
 */
export const S3_OUT_DEFAULTS = {partSize: 5 * 1024 * 1024, concurrency: 3}

/**
 * A bundle every reader would refuse is not written: names `bundle verify` and VERIFY.txt refuse
 * (outside their character set, equal but for case, a file that is also a folder) fail the build.
 */
function refuseUnverifiableNames(entries: EntrySource[]): void {
  const names = new EntryNames((path, other) => new AirlockError('SPEC_INVALID', `the bundle would hold both ${path} and ${other}: one file on a case-insensitive disk, or a file that is also a folder`, {subject: path, hint: 'rename one of them (spec.files[].as)'}))
  for (const head of ['SHA256SUMS', 'SHA256SUMS.sig', 'signer.pem', MANIFEST, VERIFY_TXT]) names.addFile(head)
  const seen = new Set<string>()
  for (const e of entries) {
    if (seen.has(e.path)) continue // the same entry twice is the writer's business, not a name clash
    seen.add(e.path)
    try {
      checkEntryName(e.path)
    } catch (error) {
      throw new AirlockError('SPEC_INVALID', `the bundle would hold ${e.path}, a name bundle verify refuses: ${(error as Error).message}`, {subject: e.path, hint: 'rename it (spec.files[].as)', cause: error})
    }
    names.addFile(e.path)
  }
}
