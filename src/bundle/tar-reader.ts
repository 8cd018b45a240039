import {Header, Pax, type HeaderData} from 'tar'

import {AirlockError} from '../ui/errors.js'

export const BLOCK = 512

/**
 * Exact reads over an async stream of chunks, counting the position, so that a tar can be walked in
 * one pass without buffering entry bodies (images push reads blobs later by the offsets seen here).
 */
export class ByteSource {
  position = 0
  private pending: Buffer | undefined
  private readonly iterator: AsyncIterator<Buffer> | Iterator<Buffer>
  private done = false

  constructor(source: AsyncIterable<Buffer> | Iterable<Buffer>) {
    this.iterator = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]()
  }

  private async pull(): Promise<Buffer | undefined> {
    if (this.pending && this.pending.length > 0) {
      const chunk = this.pending
      this.pending = undefined
      return chunk
    }
    if (this.done) return undefined
    const next = await this.iterator.next()
    if (next.done) {
      this.done = true
      return undefined
    }
    return Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value as Uint8Array)
  }

  /** Ends the underlying stream early, so the file (handle) behind it is closed now and not by the garbage collector. */
  async close(): Promise<void> {
    if (this.done) return
    this.done = true
    this.pending = undefined
    await this.iterator.return?.()
  }

  /** n bytes, or undefined at a clean end of stream; a partial read is a truncation. */
  async readExact(n: number, what: string): Promise<Buffer | undefined> {
    const parts: Buffer[] = []
    let have = 0
    while (have < n) {
      const chunk = await this.pull()
      if (!chunk) {
        if (have === 0) return undefined
        throw truncated(what, this.position + have)
      }
      const take = Math.min(n - have, chunk.length)
      parts.push(take === chunk.length ? chunk : chunk.subarray(0, take))
      if (take < chunk.length) this.pending = chunk.subarray(take)
      have += take
    }
    this.position += n
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, n)
  }

  /** Yields exactly n bytes as slices of the underlying chunks (no copies). */
  async *take(n: number, what: string): AsyncGenerator<Buffer> {
    let left = n
    while (left > 0) {
      const chunk = await this.pull()
      if (!chunk) throw truncated(what, this.position)
      const slice = chunk.length > left ? chunk.subarray(0, left) : chunk
      if (chunk.length > left) this.pending = chunk.subarray(left)
      left -= slice.length
      this.position += slice.length
      yield slice
    }
  }

  async skip(n: number, what: string): Promise<void> {
    for await (const _ of this.take(n, what)) {
      // discard
    }
  }
}

function truncated(what: string, at: number): AirlockError {
  return new AirlockError('TRUNCATED', `the bundle ends early, inside ${what} (at byte ${at})`, {subject: what, hint: 'the file was cut short in transfer; copy it again'})
}

export interface TarEntry {
  path: string
  type: string
  size: number
  mode: number
  mtime?: Date
  /** offset of the entry's first body byte in the (uncompressed) tar */
  dataOffset: number
}

const MAX_META_BYTES = 1 << 20

export function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK
}

/**
 * A pull-based tar walker: `next()` returns the next real entry (pax and GNU long-name records are
 * folded into it), and its body must be read with `body()` or is skipped on the following `next()`.
 */
export class TarReader {
  private readonly src: ByteSource
  private bodyLeft = 0
  private bodyPad = 0
  private current = ''
  private global: HeaderData = {}
  private entries = 0

  constructor(source: AsyncIterable<Buffer> | Iterable<Buffer>) {
    this.src = new ByteSource(source)
  }

  get position(): number {
    return this.src.position
  }

  /** Releases the source: every reader that may stop before the stream ends (an error, the end-of-archive blocks, a head read) calls it. */
  close(): Promise<void> {
    return this.src.close()
  }

  async next(): Promise<TarEntry | undefined> {
    if (this.bodyLeft > 0 || this.bodyPad > 0) await this.src.skip(this.bodyLeft + this.bodyPad, this.current)
    this.bodyLeft = 0
    this.bodyPad = 0
    let extended: HeaderData = {}
    let longPath: string | undefined
    for (;;) {
      const block = await this.src.readExact(BLOCK, 'a tar header')
      if (!block) {
        if (this.entries === 0) throw notTar('the file is empty')
        return undefined // no end-of-archive blocks: tolerated, as GNU tar does
      }
      const header = new Header(block, 0, extended, this.global)
      if (header.nullBlock) return undefined
      if (!header.cksumValid) {
        throw this.entries === 0
          ? notTar('the first block is not a tar header')
          : new AirlockError('NOT_A_BUNDLE', `corrupt tar header at byte ${this.src.position - BLOCK}`, {subject: this.current || 'tar header', hint: 'the bundle is damaged; copy it again'})
      }
      this.entries++
      const size = header.size ?? 0
      // base-256 sizes can be negative or absurd; either would misalign every header after it
      if (!Number.isSafeInteger(size) || size < 0) {
        throw new AirlockError('NOT_A_BUNDLE', `tar header at byte ${this.src.position - BLOCK} has an invalid size`, {subject: header.path ?? 'tar header', hint: 'the bundle is damaged or hostile; do not use it'})
      }
      const type = header.type
      if (type === 'ExtendedHeader' || type === 'GlobalExtendedHeader' || type === 'NextFileHasLongPath' || type === 'NextFileHasLongLinkpath') {
        if (size > MAX_META_BYTES) throw notTar(`a ${type} record of ${size} bytes`)
        const body = (await this.src.readExact(size + padding(size), `a ${type} record`)) ?? Buffer.alloc(0)
        const text = body.subarray(0, size).toString('utf8')
        if (type === 'ExtendedHeader') extended = {...extended, ...stripUndefined(Pax.parse(text, extended, false))}
        else if (type === 'GlobalExtendedHeader') this.global = {...this.global, ...stripUndefined(Pax.parse(text, this.global, true))}
        else if (type === 'NextFileHasLongPath') longPath = text.replace(/\0.*$/s, '')
        // a long link name only matters for links, which are refused anyway
        continue
      }
      const path = longPath ?? header.path ?? ''
      this.current = path
      this.bodyLeft = type === 'File' || type === 'OldFile' || type === 'ContiguousFile' ? size : 0
      this.bodyPad = this.bodyLeft > 0 ? padding(size) : 0
      return {path, type, size: this.bodyLeft, mode: header.mode ?? 0, mtime: header.mtime, dataOffset: this.src.position}
    }
  }

  /** The current entry's bytes, as slices; padding is consumed after the last one. */
  async *body(): AsyncGenerator<Buffer> {
    const n = this.bodyLeft
    this.bodyLeft = 0
    yield* this.src.take(n, this.current)
    const pad = this.bodyPad
    this.bodyPad = 0
    if (pad > 0) await this.src.skip(pad, this.current)
  }

  async readBody(max: number): Promise<Buffer> {
    if (this.bodyLeft > max) {
      throw new AirlockError('NOT_A_BUNDLE', `${this.current} is ${this.bodyLeft} bytes, more than the ${max} it may have`, {subject: this.current})
    }
    const parts: Buffer[] = []
    for await (const chunk of this.body()) parts.push(Buffer.from(chunk))
    return Buffer.concat(parts)
  }
}

function stripUndefined(obj: object): HeaderData {
  return Object.fromEntries(Object.entries(obj).filter(([k, v]) => v !== undefined && k !== 'global')) as HeaderData
}

function notTar(why: string): AirlockError {
  return new AirlockError('NOT_A_BUNDLE', `not a tar archive: ${why}`, {subject: 'bundle', hint: 'pass the .tar or .tar.gz that `airlock bundle build` wrote'})
}
