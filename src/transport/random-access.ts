import {open, stat, type FileHandle} from 'node:fs/promises'

import {READ_CHUNK} from '../bundle/entry.js'
import {AirlockError, fromFsError} from '../ui/errors.js'
import {isGzipMagic} from '../util/fs.js'
import {handleIdentity, identityOf, pinnable, sameFile, unchanged, type FileIdentity} from './file-pin.js'
import {openPartsIndex, partsIndexFor} from './parts.js'
import {isS3Url, s3ReadSettings} from './s3-input.js'

/**
 * A bundle read by offset: `images push` and `images serve` take blobs straight out of the tar at the
 * `dataOffset` TarReader reported, whether the bundle is one file or split into parts.
 *
 * It does not check part digests (a range read sees only part of a part); callers check the blob's
 * own digest, which SHA256SUMS already vouches for.
 */
export interface RandomAccessBundle {
  /** total bytes of the (joined) bundle */
  size: number
  /** the bytes [offset, offset + length), in chunks of at most 1 MiB; each chunk is a fresh buffer the caller may keep */
  read(offset: number, length: number): AsyncGenerator<Buffer>
  /** a small range as one buffer (headers, manifests) */
  readBuffer(offset: number, length: number): Promise<Buffer>
  /**
   * Fills `into` with the bytes from `offset` on, for a caller that reuses its buffers (images serve
   * sends a blob through a few buffers instead of allocating one per chunk). Absent where each read
   * yields a fresh buffer anyway (S3): use `read` there.
   */
  readInto?(into: Buffer, offset: number): Promise<void>
  /**
   * Pins the identity of every file the bundle is read from (see BundlePin), through the handles it
   * reads with; undefined when a change could go unseen (S3, a network file system, a file changed
   * in the last seconds): the caller then hashes what it reads.
   */
  pin?(): Promise<BundlePin | undefined>
  close(): Promise<void>
}

/**
 * The files of a bundle as they were when pinned. Taken before the bundle is verified and checked
 * after, it says the bytes verified are the bytes these handles read; checked after a blob is read,
 * that the blob is still what was verified, without hashing it again. It cannot see a writer that
 * mapped the file for writing beforehand (docs/differential-and-serve.md says so, and how to rule it
 * out); a path swapped to another file and back while the verifier had it open by name is caught by
 * checkPaths(verified) for a single file.
 */
export interface BundlePin {
  /**
   * after verifying by path: each path still names the file pinned, and none has changed; `verified`
   * (the identity of the file the verifier read, when it read one plain file) must be the pinned file
   */
  checkPaths(verified?: FileIdentity): Promise<void>
  /** none of the files holding [offset, offset + length) has changed since it was pinned */
  check(offset: number, length: number): Promise<void>
}

interface Segment {
  path: string
  offset: number
  size: number
  handle?: Promise<FileHandle>
}

/** `input`: a bundle file, its first part, its `.split.json` index, or `s3://BUCKET/KEY` (ranged GETs). A gzip bundle has no offsets to seek to and is refused. */
export async function openRandomAccess(input: string): Promise<RandomAccessBundle> {
  const bundle = await openAny(input)
  if (await isGzip(bundle)) {
    await bundle.close()
    throw new AirlockError('INPUT_INVALID', `${input} is gzip-compressed: blobs cannot be read from it by offset`, {subject: input, hint: 'gunzip it first (gzip -dc BUNDLE > BUNDLE.tar), or build without --gzip'})
  }
  return bundle
}

/**
 * The bundle by position when it can be read so, or undefined when it can only be streamed (stdin,
 * a pipe, gzip): the readers that check structure without hashing (inspect, images list, the SBOM)
 * then read headers only, from a file, its parts or S3 alike. A path that does not exist is left to
 * the stream reader, which names it.
 */
export async function openSeekable(input: string): Promise<RandomAccessBundle | undefined> {
  if (input === '-') return undefined
  if (!isS3Url(input) && !(await partsIndexFor(input)) && !(await stat(input).catch(() => undefined))?.isFile()) return undefined
  const bundle = await openAny(input)
  if (!(await isGzip(bundle))) return bundle
  await bundle.close()
  return undefined
}

async function openAny(input: string): Promise<RandomAccessBundle> {
  return isS3Url(input) ? (await import('./s3-object.js')).openS3RandomAccess(input, s3ReadSettings()) : openFileRandomAccess(input)
}

async function isGzip(bundle: RandomAccessBundle): Promise<boolean> {
  return isGzipMagic(bundle.size >= 2 ? await bundle.readBuffer(0, 2) : Buffer.alloc(0))
}

async function openFileRandomAccess(input: string): Promise<RandomAccessBundle> {
  const index = await partsIndexFor(input)
  // before the index is read, so that a pin covers the very index these parts came from
  const indexIdentity = index ? await stat(index, {bigint: true}).then(identityOf, () => undefined) : undefined
  let segments: Segment[]
  if (index) {
    segments = (await openPartsIndex(index)).parts.map((p) => ({path: p.path, offset: p.offset, size: p.size}))
  } else {
    let info
    try {
      info = await stat(input)
    } catch (error) {
      throw fromFsError(error, input, 'bundle')
    }
    if (!info.isFile()) {
      // a pipe or device has no offsets to read blobs at (and opening a FIFO would wait for a writer)
      const kind = info.isDirectory() ? 'a directory' : info.isFIFO() ? 'a FIFO (named pipe)' : 'a device or special file'
      throw new AirlockError('INPUT_INVALID', `${input} is ${kind}, not a bundle file`, {subject: input, hint: 'give the bundle file (or its first part or .split.json index); save a stream to a file first'})
    }
    segments = [{path: input, offset: 0, size: info.size}]
  }
  const size = segments.reduce((sum, s) => sum + s.size, 0)
  const handleOf = (s: Segment) =>
    (s.handle ??= open(s.path, 'r').catch((error) => {
      throw fromFsError(error, s.path, 'part')
    }))

  const checkRange = (offset: number, length: number) => {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
      throw new AirlockError('TRUNCATED', `${input}: the range ${offset}+${length} lies beyond the end of the bundle (${size} bytes)`, {subject: input, hint: 'the bundle is cut short; copy it again'})
    }
  }
  /** Fills `into` from the bundle position `at` on, across part boundaries. */
  const fill = async (into: Buffer, at: number): Promise<void> => {
    let got = 0
    for (const s of segments) {
      if (got === into.length) break
      const pos = at + got
      if (pos >= s.offset + s.size) continue
      const handle = await handleOf(s)
      const want = Math.min(into.length, got + s.offset + s.size - pos)
      while (got < want) {
        const {bytesRead} = await handle.read(into, got, want - got, at + got - s.offset)
        if (bytesRead === 0) throw new AirlockError('TRUNCATED', `${s.path} ended early at ${at + got - s.offset} bytes`, {subject: s.path, hint: 'the file shrank while it was read; copy it again'})
        got += bytesRead
      }
    }
  }

  const bundle: RandomAccessBundle = {
    size,
    async *read(offset: number, length: number) {
      checkRange(offset, length)
      for (let pos = offset; pos < offset + length; ) {
        // a fresh buffer per chunk: callers keep them (push retries a range, S3 uploads hold parts)
        const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, offset + length - pos))
        await fill(buf, pos)
        pos += buf.length
        yield buf
      }
    },
    async readInto(into: Buffer, offset: number) {
      checkRange(offset, into.length)
      await fill(into, offset)
    },
    async pin() {
      if (index && !(indexIdentity && (await pinnable(index, indexIdentity)))) return undefined
      const pinned = new Map<Segment, FileIdentity>()
      for (const s of segments) {
        const id = await handleIdentity(await handleOf(s))
        if (id.size !== BigInt(s.size) || !(await pinnable(s.path, id))) return undefined
        pinned.set(s, id)
      }
      const changed = (path: string) =>
        new AirlockError('DIGEST_MISMATCH', `${path} changed on disk after the bundle was verified`, {subject: path, hint: 'whatever writes the bundle must finish first; then run bundle verify, and serve again'})
      const checkHandle = async (s: Segment) => {
        if (!unchanged(pinned.get(s) as FileIdentity, await handleIdentity(await handleOf(s)))) throw changed(s.path)
      }
      return {
        async checkPaths(verified?: FileIdentity) {
          // the verifier opened the path itself: a file swapped in for it and back again is caught here
          const only = segments.length === 1 && !index ? segments[0] : undefined
          if (verified && only && !unchanged(pinned.get(only) as FileIdentity, verified)) {
            throw new AirlockError('DIGEST_MISMATCH', `${only.path} was replaced while it was verified: the file verified is not the file about to be served`, {subject: only.path, hint: 'keep the bundle in a folder only its owner can write; then serve again'})
          }
          const indexNow = index ? await stat(index, {bigint: true}).then(identityOf, () => undefined) : undefined
          if (index && !(indexNow && unchanged(indexIdentity as FileIdentity, indexNow))) throw changed(index)
          for (const s of segments) {
            const now = await stat(s.path, {bigint: true}).then(identityOf, () => undefined)
            if (!now || !sameFile(now, pinned.get(s) as FileIdentity)) throw changed(s.path)
            await checkHandle(s)
          }
        },
        async check(offset: number, length: number) {
          for (const s of segments) if (s.offset < offset + length && offset < s.offset + s.size) await checkHandle(s)
        },
      }
    },
    async readBuffer(offset: number, length: number) {
      const chunks: Buffer[] = []
      for await (const c of bundle.read(offset, length)) chunks.push(c)
      return Buffer.concat(chunks)
    },
    async close() {
      await Promise.all(segments.map(async (s) => (s.handle ? (await s.handle.catch(() => undefined))?.close() : undefined)))
      for (const s of segments) s.handle = undefined
    },
  }
  return bundle
}
