import type {Writable} from 'node:stream'
import {Header, Pax} from 'tar'

import {BLOCK, padding} from './tar-reader.js'

export interface TarHeaderFields {
  path: string
  size: number
  mode: number
  mtime: Date
}

const ZERO = Buffer.alloc(BLOCK * 2)

/**
 * Encodes one regular-file header with fixed owner (0/0, no names) so that output depends on the
 * content alone. node-tar does the field encoding; a pax record is added only when ustar cannot hold
 * the path or size, which keeps the archive readable by every tar.
 */
export function encodeFileHeader(fields: TarHeaderFields): Buffer {
  const data = {path: fields.path, size: fields.size, mode: fields.mode, mtime: fields.mtime, uid: 0, gid: 0, uname: '', gname: '', type: 'File' as const}
  const header = new Header(data)
  const block = Buffer.alloc(BLOCK)
  const needPax = header.encode(block, 0)
  if (!needPax) return block
  const pax = new Pax({path: fields.path, size: fields.size, mtime: fields.mtime, uid: 0, gid: 0}).encode()
  const header2 = new Header({...data, path: truncatePath(fields.path)})
  const block2 = Buffer.alloc(BLOCK)
  header2.encode(block2, 0)
  return Buffer.concat([pax, block2])
}

function truncatePath(path: string): string {
  return Buffer.from(path).subarray(0, 99).toString('utf8').replace(/\uFFFD$/, '')
}

/** Writes a tar to a stream with backpressure, counting bytes so callers can report offsets. */
export class TarWriter {
  position = 0

  constructor(private readonly out: Writable) {}

  /**
   * Resolves once the stream has taken the chunk (written it, or copied it on), not merely queued it:
   * callers read entries into buffers they reuse (readChunks), so a chunk must be gone before the next
   * read lands in its buffer.
   */
  async write(chunk: Buffer): Promise<void> {
    this.position += chunk.length
    await new Promise<void>((resolve, reject) => {
      this.out.write(chunk, (error) => (error ? reject(error) : resolve()))
    })
  }

  async header(fields: TarHeaderFields): Promise<void> {
    await this.write(encodeFileHeader(fields))
  }

  async pad(size: number): Promise<void> {
    const n = padding(size)
    if (n > 0) await this.write(ZERO.subarray(0, n))
  }

  async end(): Promise<void> {
    await this.write(ZERO) // two zero blocks end the archive
    // pad to a 10 KiB record like GNU tar, so `tar tf` never warns about a short record
    const record = 20 * BLOCK
    const n = (record - (this.position % record)) % record
    if (n > 0) await this.write(Buffer.alloc(n))
  }
}
