import {readSync} from 'node:fs'
import {open, type FileHandle} from 'node:fs/promises'

import {handleIdentity, type FileIdentity} from '../transport/file-pin.js'
import {partsIndexFor} from '../transport/parts.js'
import {AirlockError, fromFsError} from '../ui/errors.js'
import {isGzipMagic} from '../util/fs.js'
import {READ_CHUNK} from './entry.js'
import type {PositionalBytes} from './tar-reader.js'

/**
 * Headers come out of one window read: one pread for a header and the small entries after it. The
 * bodies verify hashes are read by the RangeHasher, so a window only needs to reach past the small
 * entries (configs, manifests) that sit between two layers.
 */
const WINDOW = 16 << 10

/**
 * A bundle that is one plain, uncompressed, regular file, open once and read by position. `bundle
 * verify` walks its headers on this thread through a SeekSource, and this thread and worker threads
 * (RangeHasher) read the bodies through the same descriptor (`fd`), so no byte is copied between threads. The same
 * file is read, whatever happens to the path meanwhile (a rename, a replacement), by every thread.
 */
export class FileBytes implements PositionalBytes {
  private readonly window = Buffer.allocUnsafe(WINDOW)
  private windowAt = 0
  private windowLength = 0

  private constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    private readonly path: string,
  ) {}

  /** What the open file is and when it last changed (fstat of the descriptor every thread reads through). */
  async identity(): Promise<FileIdentity> {
    return handleIdentity(this.handle)
  }

  /**
   * The open file when `input` is a regular file holding an uncompressed tar; undefined for stdin, a
   * pipe, a split bundle or gzip, which are read as one stream (openBundleStream) instead.
   */
  static async openPlain(input: string): Promise<FileBytes | undefined> {
    if (input === '-' || (await partsIndexFor(input))) return undefined
    let handle: FileHandle
    try {
      handle = await open(input, 'r')
    } catch {
      // openBundleStream reports a missing or unreadable file in its own words
      return undefined
    }
    try {
      const info = await handle.stat()
      if (!info.isFile()) {
        await handle.close()
        return undefined
      }
      const bytes = new FileBytes(handle, info.size, input)
      if (info.size >= 2 && isGzipMagic(await bytes.readBuffer(0, 2))) {
        await handle.close()
        return undefined
      }
      return bytes
    } catch (error) {
      await handle.close()
      throw fromFsError(error, input, 'bundle')
    }
  }

  get fd(): number {
    return this.handle.fd
  }

  close(): Promise<void> {
    return this.handle.close()
  }

  /**
   * Exactly `length` bytes at `offset` into `into`, or TRUNCATED when the file is shorter than it was.
   * Read synchronously: a header or a small body is a few KB from the page cache, which costs less
   * than a round trip through libuv's thread pool (hundreds of them per bundle, this thread idle).
   */
  private fill(into: Buffer, length: number, offset: number): void {
    let got = 0
    while (got < length) {
      let bytesRead: number
      try {
        bytesRead = readSync(this.handle.fd, into, got, length - got, offset + got)
      } catch (error) {
        throw fromFsError(error, this.path, 'bundle')
      }
      if (bytesRead === 0) throw new AirlockError('TRUNCATED', `${this.path} ended early at byte ${offset + got}`, {subject: this.path, hint: 'the file shrank while it was read; copy it again'})
      got += bytesRead
    }
  }

  /** A copy the caller may keep. */
  async readBuffer(offset: number, length: number): Promise<Buffer> {
    if (length > WINDOW) {
      const out = Buffer.allocUnsafe(length)
      this.fill(out, length, offset)
      return out
    }
    if (offset < this.windowAt || offset + length > this.windowAt + this.windowLength) {
      const n = Math.min(WINDOW, this.size - offset)
      this.windowLength = 0
      this.fill(this.window, Math.max(n, length), offset)
      this.windowAt = offset
      this.windowLength = Math.max(n, length)
    }
    return Buffer.from(this.window.subarray(offset - this.windowAt, offset - this.windowAt + length))
  }

  async *read(offset: number, length: number): AsyncGenerator<Buffer> {
    for (let at = offset; at < offset + length; ) {
      const n = Math.min(READ_CHUNK, offset + length - at)
      yield await this.readBuffer(at, n)
      at += n
    }
  }
}
