import {createHash} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {open, stat} from 'node:fs/promises'

import {fromFsError} from '../ui/errors.js'
import {PARALLEL_MIN_BYTES, sharedHashPool} from './hash-pool.js'
import type {EntryRole} from './format.js'

/**
 * One file of the bundle, known before a byte is written: its path under the root folder, size and
 * SHA-256 (so SHA256SUMS and the signature can come first), and a way to open its bytes later. The
 * writer re-hashes every byte as it copies and aborts on any difference.
 */
export interface EntrySource {
  path: string
  size: number
  sha256: string
  role: EntryRole
  /** 0o644 unless said; only role `executable` gets 0o755 */
  mode?: number
  /** what to name in an error: "image quay.io/x:1 blob sha256:..." or the source file */
  label?: string
  /** The bytes; a chunk may be overwritten once the next one is asked for (see readChunks). */
  open(): AsyncIterable<Buffer> | Iterable<Buffer> | Promise<AsyncIterable<Buffer> | Iterable<Buffer>>
}

export function bufferEntry(path: string, data: Buffer | string, role: EntryRole): EntrySource {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8')
  return {
    path,
    size: buf.length,
    sha256: createHash('sha256').update(buf).digest('hex'),
    role,
    label: path,
    open: () => [buf],
  }
}

export const READ_CHUNK = 1 << 20

/**
 * A local file in chunks of READ_CHUNK, read into two buffers that take turns (one is read ahead while
 * the caller works on the other): a chunk is valid only until the next one is asked for. The bundle
 * writer copies each chunk on (into the hash ring, the output) before asking for the next. A fresh
 * buffer per chunk, as fs streams allocate, left up to 64 MB of read chunks for the garbage collector,
 * which V8 only looks for once that much memory outside its heap has piled up.
 */
export async function* readChunks(path: string): AsyncGenerator<Buffer> {
  const handle = await open(path, 'r')
  const buffers = [Buffer.allocUnsafeSlow(READ_CHUNK), Buffer.allocUnsafeSlow(READ_CHUNK)]
  let position = 0
  let turn = 0
  let pending = handle.read(buffers[0] as Buffer, 0, READ_CHUNK, 0)
  try {
    for (;;) {
      const {bytesRead} = await pending
      if (bytesRead === 0) return
      const current = (buffers[turn] as Buffer).subarray(0, bytesRead)
      position += bytesRead
      turn ^= 1
      pending = handle.read(buffers[turn] as Buffer, 0, READ_CHUNK, position)
      yield current
    }
  } finally {
    // a caller that stops early leaves one read in flight: let it land before the handle closes
    await pending.catch(() => undefined)
    await handle.close()
  }
}

/** SHA-256 and size of a local file, streamed: on a worker thread when large, so files hash side by side. */
export async function hashFile(path: string): Promise<{sha256: string; size: number}> {
  try {
    const info = await stat(path)
    if (info.size >= PARALLEL_MIN_BYTES) return await sharedHashPool().hashFile(path, info.size)
    const hash = createHash('sha256')
    let size = 0
    for await (const chunk of createReadStream(path, {highWaterMark: READ_CHUNK})) {
      hash.update(chunk as Buffer)
      size += (chunk as Buffer).length
    }
    return {sha256: hash.digest('hex'), size}
  } catch (error) {
    throw fromFsError(error, path)
  }
}

/** A local file entry: hashed now, read again when written (and checked again then). */
export async function fileEntry(path: string, source: string, role: EntryRole, mode?: number): Promise<EntrySource> {
  try {
    const info = await stat(source)
    if (!info.isFile()) throw Object.assign(new Error('not a file'), {code: 'EISDIR'})
  } catch (error) {
    throw fromFsError(error, source)
  }
  const {sha256, size} = await hashFile(source)
  return {path, size, sha256, role, mode, label: source, open: () => readChunks(source)}
}
