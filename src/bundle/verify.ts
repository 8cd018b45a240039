import {availableParallelism} from 'node:os'

import {checkSignerTrusted, parseSigner, type Trust} from '../signing/trust.js'
import type {FileIdentity} from '../transport/file-pin.js'
import {verifyDetached} from '../signing/keys.js'
import {AirlockError, fromFsError} from '../ui/errors.js'
import {
  HEAD_ENTRIES,
  MANIFEST,
  MAX_MANIFEST_BYTES,
  MAX_SIG_BYTES,
  MAX_SIGNER_BYTES,
  MAX_SUMS_BYTES,
  SIG,
  SIGNER,
  SUMS,
  parseSums,
  type BundleManifest,
} from './format.js'
import {EntryNames, checkEntryName, checkEntryType} from './path-safety.js'
import {IMAGE_INDEX, MAX_IMAGE_INDEX_BYTES, checkImageIndex, checkListedSize, checkManifest, checkManifestInventory} from './manifest-check.js'
import {FileBytes} from './file-bytes.js'
import {HashPool} from './hash-pool.js'
import {RangeHasher} from './range-hasher.js'
import {openBundleStream, type BundleInput} from './source.js'
import {SeekSource, TarReader, type PositionalBytes, type TarEntry} from './tar-reader.js'

export interface VerifiedSigner {
  fingerprint: string
  subject?: string
  issuer?: string
  validTo?: string
  trustedBy: Trust['kind']
}

export interface VerifyResult {
  bundle: string
  verified: true
  root: string
  name: string
  version: string
  created: string
  signer: VerifiedSigner
  /** entries checked against SHA256SUMS (the head entries not counted) */
  entries: number
  contentBytes: number
  images: number
}

/** Receives each verified-so-far entry's bytes (extract writes them to disk). */
export interface EntrySink {
  /** the three head entries, once the signature over SHA256SUMS has been checked */
  head?(name: string, data: Buffer): Promise<void>
  open(rel: string, entry: TarEntry, manifest: BundleManifest | undefined): Promise<EntryWriter | undefined>
  /** manifest.json, once its digest matched its line in SHA256SUMS */
  manifest?(manifest: BundleManifest): void
  /**
   * true when open() returns a writer for (nearly) every entry (extract): every byte passes through
   * this thread anyway, so the bundle is read as one stream through reused buffers, not by position.
   */
  writesEveryBody?: boolean
  /**
   * After a plain file verified: the identity of the file the verifier read (through its own
   * descriptor, opened by name). images serve compares it with the file it pinned, so that a path
   * swapped to another file while it was verified cannot pass for the one served.
   */
  readFrom?(file: FileIdentity): void
}

export interface EntryWriter {
  write(chunk: Buffer): Promise<void> | void
  /** called only after the digest matched */
  close(): Promise<void>
  abort(): Promise<void>
}

const LAG = 8
/**
 * Over a plain file every entry but manifest.json is hashed by position, by this thread and the
 * workers alike (RangeHasher): the walk runs at most this many entries, and this many bytes, ahead
 * of the digests it checks. Nothing is held in memory per entry, so it may run far ahead.
 */
const RANGE_LAG = 512
const RANGE_AHEAD_BYTES = 256 << 20
/** A worker costs a start-up (tens of ms): below this size this thread hashes the whole file alone. */
const WORKERS_FROM_BYTES = 48 << 20

interface Pending {
  path: string
  size: number
  expected: string
  /** a promise, or (a range queued in the RangeHasher) a function that collects it when its turn comes */
  digest: Promise<string> | (() => Promise<string>)
  writer?: EntryWriter
  keep?: Buffer[]
  /** what a kept body is: manifest.json, or the image layout's index.json */
  kept?: 'manifest' | 'layout-index'
  /** a range hashed by position: its end, reported as progress once its digest is checked */
  end?: number
}

/** Splits `ROOT/rel` and refuses anything that is not under the bundle's single root folder. */
function relativeToRoot(entry: TarEntry, root: string): string {
  const path = entry.path.replace(/\/$/, '')
  checkEntryName(entry.path)
  if (path === root && entry.type === 'Directory') return ''
  if (!path.startsWith(`${root}/`)) {
    throw new AirlockError('UNSAFE_PATH', `entry ${entry.path} is outside the bundle folder ${root}/`, {subject: entry.path, hint: 'the bundle was tampered with; do not use it'})
  }
  return path.slice(root.length + 1)
}

async function readHead(reader: TarReader, expected: string, max: number, root: string | undefined): Promise<{root: string; data: Buffer}> {
  const entry = await reader.next()
  if (!entry) throw new AirlockError('ENTRY_MISSING', `the bundle ends before ${expected}`, {subject: expected, hint: 'the file is not a complete airlock bundle'})
  checkEntryName(entry.path)
  checkEntryType(entry.path, entry.type, entry.mode)
  const r = root ?? entry.path.split('/')[0] ?? ''
  if (entry.path !== `${r}/${expected}` || entry.type !== 'File') {
    throw new AirlockError(root ? 'ENTRY_OUT_OF_ORDER' : 'NOT_A_BUNDLE', `expected ${r}/${expected} here, found ${entry.path}`, {
      subject: entry.path,
      hint: 'an airlock bundle starts with SHA256SUMS, SHA256SUMS.sig and signer.pem; this one was not written by airlock or was rearranged',
    })
  }
  return {root: r, data: await reader.readBody(max)}
}

/**
 * Verifies a bundle in one pass without unpacking: the signature over SHA256SUMS by a trusted signer
 * first, then every entry's digest as it streams past, then that nothing listed is missing. Nothing
 * is believed because the bundle says so: trust comes only from `trust`.
 */
export async function verifyBundle(input: BundleInput, trust: Trust, sink?: EntrySink, now = new Date(), onProgress?: (bytesRead: number) => void): Promise<VerifyResult> {
  // A plain file is walked by position (the same reader, the same checks) so that large bodies can
  // be hashed by workers reading the file themselves; stdin, pipes, gzip and parts stream.
  const file = sink?.writesEveryBody ? undefined : await FileBytes.openPlain(input)
  try {
    const reader = new TarReader(file ? new SeekSource(file) : await openBundleStream(input))
    try {
      const {manifest: _, signer, ...r} = await walkBundle(reader, input, {trust, sink, now, onProgress, file})
      if (file && sink?.readFrom) sink.readFrom(await file.identity())
      return {bundle: r.bundle, verified: true, root: r.root, name: r.name, version: r.version, created: r.created, signer: signer as VerifiedSigner, entries: r.entries, contentBytes: r.contentBytes, images: r.images}
    } finally {
      await reader.close()
    }
  } finally {
    await file?.close()
  }
}

export interface UnverifiedWalk {
  root: string
  name: string
  version: string
  manifest: BundleManifest
  entries: number
  contentBytes: number
}

/**
 * The `--no-verify` walk of images push and serve: the very walk verifyBundle makes, with the same
 * header parsing, order, path, type, duplicate, listing and end-of-archive checks, over a bundle read
 * by position. It skips only what costs: the signature (there is no trust to check it against) and
 * hashing entry bodies, which are jumped over. manifest.json is still checked against SHA256SUMS.
 */
export async function walkBundleUnverified(bytes: PositionalBytes | AsyncIterable<Buffer>, input: string, sink?: EntrySink): Promise<UnverifiedWalk> {
  // by position (a file or its parts: headers only), or one stream (gzip, stdin: every byte passes)
  const reader = new TarReader(Symbol.asyncIterator in bytes ? bytes : new SeekSource(bytes))
  try {
    const r = await walkBundle(reader, input, {sink})
    return {root: r.root, name: r.name, version: r.version, manifest: r.manifest, entries: r.entries, contentBytes: r.contentBytes}
  } finally {
    await reader.close()
  }
}

interface WalkOptions {
  /** undefined: check structure only, hash manifest.json alone */
  trust?: Trust
  sink?: EntrySink
  now?: Date
  onProgress?: (bytesRead: number) => void
  /** the bundle as one open plain file: large bodies are hashed by workers reading it by position */
  file?: FileBytes
}

type Walked = Omit<VerifyResult, 'verified' | 'signer'> & {signer?: VerifiedSigner; manifest: BundleManifest}

async function walkBundle(reader: TarReader, input: BundleInput, options: WalkOptions): Promise<Walked> {
  const {file} = options
  // A plain file is hashed by range, by this thread and one worker fewer than cores (started now,
  // while this thread checks the signature) once the file is large enough to pay for their start.
  // Bodies that pass through this thread (streams, manifest.json, a sink's writers) are hashed here.
  const workers = file && file.size >= WORKERS_FROM_BYTES ? Math.max(0, Math.min(availableParallelism() - 1, 3)) : 0
  const ranges = options.trust && file ? new RangeHasher(file.fd, workers) : undefined
  const pool = new HashPool(file ? 1 : undefined)
  try {
    return await walkEntries(reader, input, options, pool, ranges)
  } finally {
    await ranges?.close()
    await pool.close()
  }
}

async function walkEntries(reader: TarReader, input: BundleInput, options: WalkOptions, pool: HashPool, ranges: RangeHasher | undefined): Promise<Walked> {
  const {trust, sink} = options
  // never backwards: ranges report when checked, streamed bodies as they pass
  let reported = 0
  const onProgress = options.onProgress && ((bytes: number) => {
    if (bytes <= reported) return
    reported = bytes
    options.onProgress?.(bytes)
  })
  const hashing = trust !== undefined
  const {root, data: sums} = await readHead(reader, SUMS, MAX_SUMS_BYTES, undefined)
  const {data: sig} = await readHead(reader, SIG, MAX_SIG_BYTES, root)
  const {data: signerPem} = await readHead(reader, SIGNER, MAX_SIGNER_BYTES, root)

  let verifiedSigner: VerifiedSigner | undefined
  if (trust) {
    const signer = parseSigner(signerPem.toString('utf8'), `${root}/${SIGNER}`)
    await checkSignerTrusted(signer, trust, `${root}/${SIGNER}`, options.now ?? new Date())
    const key = trust.kind === 'key' ? trust.key : signer.key
    if (!verifyDetached(sums, sig, key)) {
      throw new AirlockError('SIGNATURE_INVALID', `${root}/${SIG} is not a valid signature of ${root}/${SUMS} by the trusted key ${signer.fingerprint}`, {
        subject: `${root}/${SIG}`,
        hint: 'SHA256SUMS or its signature was changed after signing; do not use this bundle',
      })
    }
    verifiedSigner = {
      fingerprint: signer.fingerprint,
      ...(signer.subject ? {subject: signer.subject, issuer: signer.issuer, validTo: signer.validTo} : {}),
      trustedBy: trust.kind,
    }
  } else {
    // no trust to judge it by, but a signer.pem that is not a key or certificate is refused by every reader alike
    parseSigner(signerPem.toString('utf8'), `${root}/${SIGNER}`)
  }
  const expected = parseSums(sums.toString('utf8'), `${root}/${SUMS}`)
  if (sink?.head) {
    await sink.head(SUMS, sums)
    await sink.head(SIG, sig)
    await sink.head(SIGNER, signerPem)
  }

  const seen = new Set<string>()
  let listedFolders: Set<string> | undefined
  let layoutIndex: Buffer | undefined
  const beforeManifest: Array<{rel: string; size: number; path: string}> = []
  // file and folder entries as a case-insensitive disk would see them (SHA256SUMS was checked the same way)
  const names = new EntryNames((path, other) => new AirlockError('ENTRY_DUPLICATE', `entry ${root}/${path} collides with ${root}/${other} (the same name on a case-insensitive disk, or a file that is also a folder)`, {subject: `${root}/${path}`, hint: 'extraction would overwrite one with the other; do not use this bundle'}))
  for (const head of HEAD_ENTRIES) names.addFile(head)
  let contentBytes = 0
  let manifest: BundleManifest | undefined
  // Digests of large entries come back from worker threads; they are checked in tar order, at most
  // LAG entries behind the reader, so the first bad entry is the one reported.
  const queue: Pending[] = []
  let queuedBytes = 0
  const settleNext = async () => {
    const item = queue.shift() as Pending
    queuedBytes -= item.size
    await settle(item)
    // the walk runs ahead of the hashing: progress is what has been checked
    if (item.end !== undefined) onProgress?.(item.end)
  }
  const settle = async (item: Pending) => {
    try {
      await settleOne(item)
    } catch (error) {
      // the entry is out of the queue now: its writer (an extracted file) is closed and removed here
      await item.writer?.abort()
      item.writer = undefined
      throw error
    }
  }
  const settleOne = async (item: Pending) => {
    const actual = await (typeof item.digest === 'function' ? item.digest() : item.digest).catch((error: unknown) => {
      if (error instanceof AirlockError) throw error
      if ((error as {code?: string}).code === 'TRUNCATED') {
        throw new AirlockError('TRUNCATED', `the bundle ends early, inside ${item.path}`, {subject: item.path, hint: 'the file was cut short in transfer; copy it again'})
      }
      throw fromFsError(error, input, 'bundle')
    })
    if (actual !== item.expected) {
      throw new AirlockError('DIGEST_MISMATCH', `entry ${item.path} has sha256:${actual}, ${SUMS} says sha256:${item.expected}`, {subject: item.path, hint: 'the bundle was changed or damaged after signing; do not use it, copy it again'})
    }
    await item.writer?.close()
    item.writer = undefined
    if (item.kept === 'layout-index') layoutIndex = Buffer.concat(item.keep ?? [])
    else if (item.keep) {
      manifest = parseManifest(Buffer.concat(item.keep), `${root}/${MANIFEST}`, root)
      sink?.manifest?.(manifest)
      // entries that came before manifest.json (airlock writes none) get the size check the later ones get
      for (const e of beforeManifest) checkListedSize(manifest, e.rel, e.size, e.path)
      beforeManifest.length = 0
    }
  }
  try {
    for (;;) {
      const entry = await reader.next()
      if (!entry) break
      const kind = checkEntryType(entry.path, entry.type, entry.mode)
      const rel = relativeToRoot(entry, root)
      if (kind === 'directory') {
        names.addFolder(rel)
        // A folder entry is signed by nothing; one that holds no listed file (airlock writes none)
        // is refused, so that folder entries, and the memory they take, are bounded by SHA256SUMS.
        listedFolders ??= foldersOf(expected.keys())
        if (rel !== '' && !listedFolders.has(rel)) {
          throw new AirlockError('ENTRY_UNLISTED', `folder entry ${entry.path} holds no file listed in ${SUMS}`, {subject: entry.path, hint: 'an entry was added after signing; do not use this bundle'})
        }
        continue
      }
      if ((HEAD_ENTRIES as readonly string[]).includes(rel) || seen.has(rel)) {
        throw new AirlockError('ENTRY_DUPLICATE', `entry ${entry.path} appears twice`, {subject: entry.path, hint: 'a second copy could shadow the verified one on extraction; do not use this bundle'})
      }
      const digest = expected.get(rel)
      if (digest === undefined) {
        throw new AirlockError('ENTRY_UNLISTED', `entry ${entry.path} is not listed in ${SUMS}`, {subject: entry.path, hint: 'a file was added after signing; do not use this bundle'})
      }
      seen.add(rel)
      names.addFile(rel)
      if (manifest) checkListedSize(manifest, rel, entry.size, entry.path)
      else beforeManifest.push({rel, size: entry.size, path: entry.path})
      contentBytes += entry.size
      // manifest.json and the layout's index.json are read by every walk, hashing or not: they are
      // checked against each other and against SHA256SUMS at the end (checkImageIndex)
      const kept = rel === MANIFEST ? 'manifest' : rel === IMAGE_INDEX ? 'layout-index' : undefined
      const isManifest = kept !== undefined
      if (isManifest && entry.size > (kept === 'manifest' ? MAX_MANIFEST_BYTES : MAX_IMAGE_INDEX_BYTES)) throw new AirlockError('MANIFEST_INVALID', `${entry.path} is too large`, {subject: entry.path})
      const writer = await sink?.open(rel, entry, manifest)
      if (!hashing && !isManifest && !writer) {
        onProgress?.(reader.position)
        continue // the body is jumped over by the next header read
      }
      const item: Pending = {path: entry.path, size: entry.size, expected: digest, digest: Promise.resolve(''), keep: isManifest ? [] : undefined, kept, writer}
      queue.push(item)
      queuedBytes += entry.size
      if (ranges && !writer && !isManifest) {
        // The body is jumped over by the next header read and hashed by position by whichever
        // thread is free; this one collects the digests in tar order once the walk is far enough ahead.
        const ticket = ranges.add(entry.dataOffset, entry.dataOffset + entry.size)
        item.digest = () => ranges.digest(ticket)
        item.end = entry.dataOffset + entry.size
        while (queue.length > RANGE_LAG || queuedBytes > RANGE_AHEAD_BYTES) await settleNext()
        continue
      }
      const job = pool.begin(entry.size)
      for await (const chunk of reader.body()) {
        onProgress?.(reader.position)
        await job.update(chunk)
        if (item.keep) item.keep.push(Buffer.from(chunk))
        if (item.writer) await item.writer.write(chunk)
      }
      item.digest = job.digest()
      // the manifest decides how later entries are written (roles), so it is settled at once
      while (queue.length > (item.keep ? 0 : ranges ? RANGE_LAG : LAG)) await settleNext()
    }
    while (queue.length > 0) await settleNext()
  } catch (error) {
    for (const item of queue) await item.writer?.abort()
    throw error
  }
  const missing = [...expected.keys()].filter((p) => !seen.has(p))
  if (missing.length > 0) {
    throw new AirlockError('ENTRY_MISSING', `${missing.length} file(s) listed in ${SUMS} are not in the bundle: ${missing.slice(0, 5).map((m) => `${root}/${m}`).join(', ')}${missing.length > 5 ? ', ...' : ''}`, {
      subject: `${root}/${missing[0]}`,
      hint: 'the bundle is incomplete (cut short or entries removed); copy it again',
    })
  }
  if (!manifest) throw new AirlockError('ENTRY_MISSING', `the bundle has no ${MANIFEST}`, {subject: `${root}/${MANIFEST}`})
  checkManifestInventory(manifest, `${root}/${MANIFEST}`, expected)
  checkImageIndex(layoutIndex, manifest, expected, root)
  return {
    bundle: input,
    root,
    name: manifest.name,
    version: manifest.version,
    created: manifest.created,
    ...(verifiedSigner ? {signer: verifiedSigner} : {}),
    entries: seen.size,
    contentBytes,
    images: manifest.images.length,
    manifest,
  }
}

/** Every folder the listed files are in (slices of their names, not copies). */
function foldersOf(paths: Iterable<string>): Set<string> {
  const out = new Set<string>()
  for (const path of paths) for (let i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1)) out.add(path.slice(0, i))
  return out
}

export function parseManifest(data: Buffer, entry: string, root: string): BundleManifest {
  let m: unknown
  try {
    m = JSON.parse(data.toString('utf8'))
  } catch (error) {
    throw new AirlockError('MANIFEST_INVALID', `${entry} is not JSON`, {subject: entry, cause: error})
  }
  return checkManifest(m, entry, root)
}
