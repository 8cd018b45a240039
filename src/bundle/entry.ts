import {createHash} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {stat} from 'node:fs/promises'

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
  return {path, size, sha256, role, mode, label: source, open: () => createReadStream(source, {highWaterMark: READ_CHUNK})}
}
