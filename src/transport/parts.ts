import {createHash} from 'node:crypto'
import {createReadStream, createWriteStream, type WriteStream} from 'node:fs'
import {readdir, rm, stat} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'
import {once} from 'node:events'

import {READ_CHUNK} from '../bundle/entry.js'
import {AirlockError, fromFsError} from '../ui/errors.js'
import {pathExists, readSmallFile, renameDurably, writeFileAtomic} from '../util/fs.js'

/**
 * `FILE.split.json`: what `bundle split` wrote, so the parts can be checked one by one (a damaged part is
 * named, not just "the bundle is damaged") and read back as one stream. Names are plain file names
 * in the index's own folder; the index is untrusted input like the bundle itself.
 */
export interface PartsIndex {
  kind: 'airlock-parts'
  version: 1
  /** the original file name */
  bundle: string
  size: number
  sha256: string
  partSize: number
  parts: Array<{name: string; size: number; sha256: string}>
}

export interface SplitResult {
  bundle: string
  index: string
  size: number
  sha256: string
  partSize: number
  parts: Array<{path: string; size: number; sha256: string}>
}

const PART_RE = /^(.*)\.part(\d{3,})$/
/*
 * The index is named so that `cat FILE.part*` does not catch it: `FILE.parts` (what earlier
 * versions wrote, still read) matches that glob and would be appended to the joined bundle.
 */
export const INDEX_SUFFIX = '.split.json'
const OLD_INDEX_SUFFIX = '.parts'

export function indexNameFor(bundle: string): string {
  return `${bundle}${INDEX_SUFFIX}`
}
const MAX_INDEX_BYTES = 4 << 20

export function partName(bundle: string, i: number, count: number): string {
  return `${bundle}.part${String(i).padStart(Math.max(3, String(count - 1).length), '0')}`
}

/**
 * Cuts FILE into FILE.part000, FILE.part001, ... of `partSize` bytes (the last may be shorter) and
 * writes FILE.split.json last: an interrupted split leaves no index, so nothing half-split is taken
 * for whole. One read of FILE hashes each part and the whole. `cat FILE.part* > FILE` gives FILE back
 * byte for byte: the glob matches the parts and nothing else split writes.
 */
export async function splitBundle(file: string, partSize: number, options: {force?: boolean} = {}, onProgress: (done: number, total: number) => void = () => {}): Promise<SplitResult> {
  let size: number
  try {
    const info = await stat(file)
    if (!info.isFile()) throw Object.assign(new Error('not a file'), {code: 'EISDIR'})
    size = info.size
  } catch (error) {
    throw fromFsError(error, file, 'bundle')
  }
  const count = Math.max(1, Math.ceil(size / partSize))
  const names = Array.from({length: count}, (_, i) => partName(basename(file), i, count))
  const dir = dirname(file)
  const indexPath = indexNameFor(file)
  const oldIndex = `${file}${OLD_INDEX_SUFFIX}`
  const existing = await existingParts(file)
  const oldIndexExists = await pathExists(oldIndex)
  if (!options.force && (existing.length > 0 || (await pathExists(indexPath)) || oldIndexExists)) {
    const first = existing[0] ?? (oldIndexExists ? oldIndex : indexPath)
    throw new AirlockError('FILE_EXISTS', `${first} already exists`, {subject: first, hint: 'remove the old parts or pass --force'})
  }
  await rm(indexPath, {force: true})
  // an old-style index beside new parts would be caught by `cat FILE.part*`
  await rm(oldIndex, {force: true})
  // a longer old split would leave stray parts that `cat FILE.part*` would append
  for (const p of existing) await rm(p, {force: true})

  const whole = createHash('sha256')
  const parts: SplitResult['parts'] = []
  let i = 0
  let part: {out: WriteStream; path: string; hash: ReturnType<typeof createHash>; size: number} | undefined
  const finishPart = async () => {
    if (!part) return
    const p = part
    part = undefined
    p.out.end()
    await once(p.out, 'close')
    await renameDurably(`${p.path}.partial`, p.path)
    parts.push({path: p.path, size: p.size, sha256: p.hash.digest('hex')})
  }
  const startPart = () => {
    const path = join(dir, names[i++] as string)
    part = {out: createWriteStream(`${path}.partial`, {highWaterMark: READ_CHUNK}), path, hash: createHash('sha256'), size: 0}
    part.out.on('error', () => {}) // surfaced by the awaited write/close below
  }
  let done = 0
  try {
    startPart()
    for await (const data of createReadStream(file, {highWaterMark: READ_CHUNK})) {
      const chunk = data as Buffer
      whole.update(chunk)
      for (let off = 0; off < chunk.length; ) {
        if (!part || part.size === partSize) {
          await finishPart()
          startPart()
        }
        const p = part as NonNullable<typeof part>
        const piece = chunk.subarray(off, off + Math.min(partSize - p.size, chunk.length - off))
        p.hash.update(piece)
        p.size += piece.length
        off += piece.length
        if (!p.out.write(piece)) await Promise.race([once(p.out, 'drain'), once(p.out, 'error').then(([e]) => Promise.reject(e))])
      }
      done += chunk.length
      onProgress(done, size)
    }
    await finishPart()
  } catch (error) {
    if (part) {
      part.out.destroy()
      await rm(`${part.path}.partial`, {force: true})
    }
    for (const p of parts) await rm(p.path, {force: true})
    throw fromFsError(error, part?.path ?? file)
  }
  const sha256 = whole.digest('hex')
  const index: PartsIndex = {kind: 'airlock-parts', version: 1, bundle: basename(file), size, sha256, partSize, parts: parts.map((p) => ({name: basename(p.path), size: p.size, sha256: p.sha256}))}
  await writeFileAtomic(indexPath, `${JSON.stringify(index, null, 2)}\n`, {force: true})
  return {bundle: file, index: indexPath, size, sha256, partSize, parts}
}

async function existingParts(file: string): Promise<string[]> {
  const prefix = `${basename(file)}.part`
  try {
    return (await readdir(dirname(file)))
      .filter((n) => n.startsWith(prefix) && PART_RE.test(n))
      .sort()
      .map((n) => join(dirname(file), n))
  } catch {
    return []
  }
}

/**
 * The index a reader should use for `input`, or undefined when `input` is an ordinary file: the
 * index itself (`FILE.split.json`, or `FILE.parts` from earlier versions), or the first part
 * (`FILE.part000`), whose index sits beside it.
 */
export async function partsIndexFor(input: string): Promise<string | undefined> {
  if (input.endsWith(INDEX_SUFFIX) || input.endsWith(OLD_INDEX_SUFFIX)) return input
  const m = PART_RE.exec(basename(input))
  if (!m) return undefined
  const index = join(dirname(input), `${m[1]}${INDEX_SUFFIX}`)
  if (Number(m[2]) !== 0) {
    throw new AirlockError('USAGE', `${input} is not the first part`, {subject: input, hint: `give the first part (${partName(m[1] as string, 0, 1)}) or the index ${index}`})
  }
  if (await pathExists(index)) return index
  const old = join(dirname(input), `${m[1]}${OLD_INDEX_SUFFIX}`)
  if (await pathExists(old)) return old
  throw new AirlockError('FILE_NOT_FOUND', `${input} is a part, but its index ${index} is not beside it`, {subject: index, hint: `copy ${basename(index)} along with the parts, or join them yourself: cat ${m[1]}.part* | airlock bundle verify -`})
}

export interface OpenedParts {
  index: PartsIndex
  indexPath: string
  /** each part's path, size, SHA-256 and offset in the whole */
  parts: Array<{path: string; size: number; sha256: string; offset: number}>
}

/** Reads and checks the index, then checks that every part is there with its size, before any byte is read. */
export async function openPartsIndex(indexPath: string): Promise<OpenedParts> {
  await requireRegularFile(indexPath, 'parts index')
  const raw = await readSmallFile(indexPath, {what: 'parts index', maxBytes: MAX_INDEX_BYTES})
  const index = parseIndex(raw, indexPath)
  const dir = dirname(indexPath)
  const parts: OpenedParts['parts'] = []
  let offset = 0
  for (const p of index.parts) {
    const path = join(dir, p.name)
    const actual = (await requireRegularFile(path, 'part')).size
    if (actual !== p.size) {
      throw new AirlockError('SIZE_MISMATCH', `${path} is ${actual} bytes, ${basename(indexPath)} says ${p.size}`, {subject: path, hint: `this part was cut short or changed in transfer; copy ${p.name} again`})
    }
    parts.push({path, size: p.size, sha256: p.sha256, offset})
    offset += p.size
  }
  return {index, indexPath, parts}
}

/**
 * A part or index must be a regular file: opening a FIFO would wait for a writer forever, and a
 * device has no size to check against the index. Checked with stat, before anything is opened.
 */
async function requireRegularFile(path: string, what: string): Promise<{size: number}> {
  let info
  try {
    info = await stat(path)
  } catch (error) {
    throw fromFsError(error, path, what)
  }
  if (!info.isFile()) {
    const kind = info.isDirectory() ? 'a directory' : info.isFIFO() ? 'a FIFO (named pipe)' : info.isSocket() ? 'a socket' : 'a device or special file'
    throw new AirlockError('INPUT_INVALID', `${path} is ${kind}, not a ${what} file`, {subject: path, hint: `give the ${what} as the regular file bundle split wrote`})
  }
  return {size: info.size}
}

function parseIndex(raw: Buffer, path: string): PartsIndex {
  const bad = (why: string) => new AirlockError('INPUT_INVALID', `${path} is not a parts index: ${why}`, {subject: path, hint: 'it is written by airlock bundle split; copy it again'})
  let v: PartsIndex
  try {
    v = JSON.parse(raw.toString('utf8')) as PartsIndex
  } catch {
    throw bad('not JSON')
  }
  if (typeof v !== 'object' || v === null || v.kind !== 'airlock-parts' || v.version !== 1) throw bad('kind/version is not airlock-parts/1')
  if (typeof v.bundle !== 'string' || !isPlainName(v.bundle)) throw bad('bundle is not a plain file name')
  if (!isSize(v.size) || !isSize(v.partSize) || typeof v.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(v.sha256)) throw bad('size, partSize or sha256 is missing or malformed')
  if (!Array.isArray(v.parts) || v.parts.length === 0) throw bad('no parts listed')
  let total = 0
  v.parts.forEach((p, i) => {
    // the names become paths: only the exact names split writes are accepted, never ../ or a folder
    if (typeof p?.name !== 'string' || p.name !== partName(v.bundle, i, v.parts.length)) throw bad(`parts[${i}].name is not ${partName(v.bundle, i, v.parts.length)}`)
    if (!isSize(p.size) || typeof p.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(p.sha256)) throw bad(`parts[${i}] has no valid size or sha256`)
    total += p.size
  })
  if (total !== v.size) throw bad(`the parts add up to ${total} bytes, the index says ${v.size}`)
  return v
}

function isPlainName(n: string): boolean {
  return n.length > 0 && n !== '.' && n !== '..' && !/[/\\\0]/.test(n)
}

function isSize(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0
}

/**
 * The parts as one stream. Each part's SHA-256 is checked at its end, so a damaged part fails by
 * name (DIGEST_MISMATCH with the part as subject) before a byte of the next part is read.
 */
export async function* streamParts(opened: OpenedParts): AsyncGenerator<Buffer> {
  for (const p of opened.parts) {
    const hash = createHash('sha256')
    let seen = 0
    const stream = createReadStream(p.path, {highWaterMark: READ_CHUNK})
    try {
      for await (const data of stream) {
        const chunk = data as Buffer
        hash.update(chunk)
        seen += chunk.length
        yield chunk
      }
    } catch (error) {
      throw fromFsError(error, p.path, 'part')
    } finally {
      stream.destroy()
    }
    const actual = hash.digest('hex')
    if (seen !== p.size || actual !== p.sha256) {
      throw new AirlockError('DIGEST_MISMATCH', `${p.path} has sha256:${actual}, ${basename(opened.indexPath)} says sha256:${p.sha256}`, {
        subject: p.path,
        hint: `this part was damaged in transfer; copy ${basename(p.path)} again`,
      })
    }
  }
}
