import {Header, type HeaderData} from 'tar/header'

import {AirlockError} from '../ui/errors.js'

export const BLOCK = 512

/**
 * Exact reads over an async stream of chunks, counting the position, so that a tar can be walked in
 * one pass without buffering entry bodies (images push reads blobs later by the offsets seen here).
 */
/**
 * Where a tar's bytes come from. A stream must read every byte; a random-access source may jump
 * over an entry body it is not asked for. Either way the same headers are read, in the same order,
 * by the same code: skipping only ever skips bytes nobody looks at.
 */
export interface TarBytes {
  readonly position: number
  /** n bytes, or undefined at a clean end of input; a partial read is a truncation */
  readExact(n: number, what: string): Promise<Buffer | undefined>
  /** exactly n bytes, as slices */
  take(n: number, what: string): AsyncGenerator<Buffer>
  skip(n: number, what: string): Promise<void>
  /** everything from here to the end of the input */
  rest(): AsyncGenerator<Buffer>
  /** releases what the source holds open (a stream); a reader may stop before the end */
  close(): Promise<void>
}

export class ByteSource implements TarBytes {
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

  async *rest(): AsyncGenerator<Buffer> {
    for (;;) {
      const chunk = await this.pull()
      if (!chunk) return
      this.position += chunk.length
      yield chunk
    }
  }
}

/** What a random-access bundle offers (a file or its parts: src/transport/random-access.ts). */
export interface PositionalBytes {
  size: number
  read(offset: number, length: number): AsyncGenerator<Buffer>
  readBuffer(offset: number, length: number): Promise<Buffer>
}

/**
 * A tar read by position: headers and small records are read, bodies are jumped over unless asked
 * for. `images push --no-verify` indexes a bundle of many gigabytes this way by reading kilobytes.
 */
export class SeekSource implements TarBytes {
  position = 0

  constructor(private readonly bytes: PositionalBytes) {}

  async readExact(n: number, what: string): Promise<Buffer | undefined> {
    if (this.position === this.bytes.size && n > 0) return undefined
    if (this.position + n > this.bytes.size) throw truncated(what, this.bytes.size)
    const buf = await this.bytes.readBuffer(this.position, n)
    this.position += n
    return buf
  }

  async *take(n: number, what: string): AsyncGenerator<Buffer> {
    if (this.position + n > this.bytes.size) throw truncated(what, this.bytes.size)
    const at = this.position
    this.position += n
    yield* this.bytes.read(at, n)
  }

  async skip(n: number, what: string): Promise<void> {
    if (this.position + n > this.bytes.size) throw truncated(what, this.bytes.size)
    this.position += n
  }

  async *rest(): AsyncGenerator<Buffer> {
    const at = this.position
    this.position = this.bytes.size
    yield* this.bytes.read(at, this.bytes.size - at)
  }

  /** Nothing to release: whoever opened the positional bytes (a file, its parts) closes them. */
  async close(): Promise<void> {}
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
const MAX_META_RECORDS = 8
/** zero padding allowed after the end-of-archive blocks */
export const MAX_TRAILER_BYTES = 16 << 20

export function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK
}

const META_TYPES = new Set(['ExtendedHeader', 'GlobalExtendedHeader', 'NextFileHasLongPath', 'NextFileHasLongLinkpath'])
const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile'])

/*
 * pax keys whose meaning every tar agrees on. Anything else (GNU.sparse.*, a pax `type`, vendor
 * keys that restructure data) could make GNU tar or busybox see other bytes than this reader does,
 * so it is refused rather than ignored.
 */
const PAX_KEYS = new Set(['path', 'linkpath', 'size', 'mtime', 'atime', 'ctime', 'uid', 'gid', 'uname', 'gname', 'charset', 'comment', 'hdrcharset'])
const PAX_PREFIXES = ['SCHILY.dev', 'SCHILY.ino', 'SCHILY.nlink']
/*
 * Extended attributes (file capabilities in `security.capability`, SELinux labels), ACLs and file
 * flags are restored by bsdtar, and by GNU tar with --xattrs, when run as root: like a set-user-ID
 * bit they grant what no signature covers, so they are refused as that bit is.
 */
const PAX_PRIVILEGE_PREFIXES = ['SCHILY.xattr.', 'LIBARCHIVE.xattr.', 'SCHILY.acl.', 'SCHILY.fflags']
const PAX_NUMERIC = new Set(['size', 'uid', 'gid'])
const PAX_TIME = new Set(['mtime', 'atime', 'ctime'])

/**
 * Parses pax records by their length prefix, as POSIX defines them, and refuses any record that is
 * malformed. node-tar's own parser skips a record it cannot read; a reader that skips what another
 * tar honours (a `size` above all) is how one archive shows two different contents.
 */
export function parsePaxRecords(body: Buffer, at: number): HeaderData {
  const out: Record<string, unknown> = {}
  const bad = (why: string) => new AirlockError('NOT_A_BUNDLE', `malformed pax record at byte ${at}: ${why}`, {subject: `pax header at byte ${at}`, hint: 'the bundle is damaged or hostile; do not use it'})
  let pos = 0
  const keys = new Set<string>()
  while (pos < body.length) {
    const space = body.indexOf(0x20, pos)
    if (space < 0 || space - pos > 10) throw bad('no length prefix')
    const lenText = body.subarray(pos, space).toString('latin1')
    if (!/^[1-9]\d*$/.test(lenText)) throw bad(`length ${JSON.stringify(lenText)} is not a decimal number`)
    const len = Number(lenText)
    if (pos + len > body.length || body[pos + len - 1] !== 0x0a) throw bad('a record runs past the header or lacks its newline')
    const record = body.subarray(space + 1, pos + len - 1).toString('utf8')
    const eq = record.indexOf('=')
    if (eq <= 0) throw bad('a record has no key')
    const key = record.slice(0, eq)
    const value = record.slice(eq + 1)
    // tars differ on which of two values wins (the first, the last); airlock writes each key once
    if (keys.has(key)) throw bad(`key ${JSON.stringify(key)} is given twice`)
    keys.add(key)
    if (PAX_PRIVILEGE_PREFIXES.some((p) => key.startsWith(p))) throw bad(`key ${JSON.stringify(key)} sets an extended attribute, ACL or file flag, which tar restores as root and no signature covers`)
    // `mode` among them: node-tar applies a pax mode, GNU and busybox tar ignore it and restore the ustar mode
    if (!PAX_KEYS.has(key) && !PAX_PREFIXES.some((p) => key.startsWith(p))) throw bad(`key ${JSON.stringify(key)} is not one every tar reads the same way`)
    if (PAX_NUMERIC.has(key)) {
      if (!/^\d{1,15}$/.test(value) || !Number.isSafeInteger(Number(value))) throw bad(`${key}=${JSON.stringify(value.slice(0, 40))} is not a whole number`)
      out[key] = Number(value)
    } else if (PAX_TIME.has(key)) {
      if (!/^-?\d{1,15}(\.\d{1,9})?$/.test(value)) throw bad(`${key}=${JSON.stringify(value.slice(0, 40))} is not a time`)
      out[key] = new Date(Number(value) * 1000)
    } else if (key === 'path' || key === 'linkpath') {
      if (value.includes('\0')) throw bad(`${key} holds a NUL byte`)
      out[key] = value
    } else if (key === 'uname' || key === 'gname' || key === 'charset' || key === 'comment') {
      out[key] = value
    }
    pos += len
  }
  // trailing NULs are allowed only as block padding, which the caller already cut off
  return out as HeaderData
}

/*
 * A global record applies to every later entry for GNU tar and node-tar and to none for busybox tar,
 * so one that changes which bytes or which name an entry has (size, path, linkpath) makes tars read
 * different archives. airlock never writes one; such a record is refused.
 */
function parseGlobalRecords(body: Buffer, at: number): HeaderData {
  const records = parsePaxRecords(body, at)
  for (const key of ['size', 'path', 'linkpath'] as const) {
    if (records[key] !== undefined) {
      throw new AirlockError('NOT_A_BUNDLE', `malformed pax record at byte ${at}: a global ${key} record changes every later entry`, {subject: `pax header at byte ${at}`, hint: 'the bundle is damaged or hostile; do not use it'})
    }
  }
  return records
}

/*
 * Number fields as [offset, length, name, base-256 allowed]. node-tar reads them with parseInt, which
 * stops at the first character it does not like ("0000000005x", "+5", "58" all read as numbers), while
 * GNU and busybox tar refuse them, or read them otherwise (a leading "+" is GNU base-64, a mode with
 * junk can come out set-user-ID): only canonical fields are let through, so every tar reads one value.
 */
const NUMBER_FIELDS: Array<[number, number, string, boolean]> = [
  [100, 8, 'mode', false],
  [108, 8, 'uid', true],
  [116, 8, 'gid', true],
  [124, 12, 'size', true],
  [136, 12, 'mtime', true],
  [148, 8, 'checksum', false],
]
/** leading spaces, octal digits, then only spaces and NULs; or a field left blank (all NUL) */
const OCTAL_FIELD = /^(?: *[0-7]+[ \0]*|\0*)$/
const POSIX_MAGIC = Buffer.from('ustar\u000000', 'latin1')
const GNU_MAGIC = Buffer.from('ustar  \u0000', 'latin1')

/**
 * The header fields tars read differently unless written the one way airlock (node-tar) and GNU tar
 * write them: the magic and version, which decide whether the prefix field is part of the name (GNU
 * tar honours it for "ustar\0" whatever the version, node-tar only for version "00", busybox tar
 * also under the GNU magic), and the number fields.
 */
function checkHeaderFields(block: Buffer, at: number, subject: string): void {
  const bad = (why: string) => new AirlockError('NOT_A_BUNDLE', `tar header at byte ${at}: ${why}`, {subject, hint: 'tars would read different entries from this bundle; it is damaged or hostile, do not use it'})
  const magic = block.subarray(257, 265)
  if (magic.equals(GNU_MAGIC)) {
    // the GNU format has no prefix field, but busybox tar still puts a name found there in front
    if (block[345] !== 0) throw bad('a GNU-format header with a name prefix (busybox tar reads it, GNU tar and node-tar do not)')
  } else if (!magic.equals(POSIX_MAGIC)) {
    throw bad(`magic and version ${JSON.stringify(magic.toString('latin1'))} are neither POSIX ustar nor GNU (tars disagree on whether its name prefix counts)`)
  }
  for (const [off, len, name, base256] of NUMBER_FIELDS) {
    const field = block.subarray(off, off + len)
    if (base256 && ((field[0] as number) & 0x80) !== 0) continue // decoded, and range-checked, by node-tar
    const text = field.toString('latin1')
    if (!OCTAL_FIELD.test(text)) throw bad(`its ${name} field ${JSON.stringify(text.replace(/\0+$/, ''))} is not an octal number`)
  }
}

function decodeHeader(block: Buffer, at: number, extended: HeaderData, global: HeaderData, current: string): Header {
  try {
    return new Header(block, 0, extended, global)
  } catch (error) {
    // node-tar throws on a number field it cannot decode (base-256 junk, or above 2^53)
    throw new AirlockError('NOT_A_BUNDLE', `not a valid tar header at byte ${at}: ${(error as Error).message}`, {subject: current || `tar header at byte ${at}`, hint: 'this is not an uncompressed or gzip tar written by airlock (zstd, xz, bzip2 or encrypted files are not bundles), or it is damaged', cause: error})
  }
}

/**
 * A pull-based tar walker: `next()` returns the next real entry (pax and GNU long-name records are
 * folded into it), and its body must be read with `body()` or is skipped on the following `next()`.
 * Every reader of a bundle walks it with this class: verify, inspect, extract, and the
 * `--no-verify` paths of images push and serve (over a SeekSource).
 *
 * It is stricter than tar(1): a header that does not decode, a malformed pax record, a body on an
 * entry that cannot have one, a lone zero block followed by anything, and any byte after the
 * end-of-archive blocks other than zero padding are refused, so no two tools can read two contents.
 */
export class TarReader {
  private readonly src: TarBytes
  private bodyLeft = 0
  private bodyPad = 0
  private current = ''
  private global: HeaderData = {}
  private entries = 0
  private ended = false

  constructor(source: AsyncIterable<Buffer> | Iterable<Buffer> | TarBytes) {
    this.src = isTarBytes(source) ? source : new ByteSource(source)
  }

  get position(): number {
    return this.src.position
  }

  /** Releases the source: every reader that may stop before the stream ends (an error, the end-of-archive blocks, a head read) calls it. */
  close(): Promise<void> {
    return this.src.close()
  }

  async next(): Promise<TarEntry | undefined> {
    if (this.ended) return undefined
    if (this.bodyLeft > 0 || this.bodyPad > 0) await this.src.skip(this.bodyLeft + this.bodyPad, this.current)
    this.bodyLeft = 0
    this.bodyPad = 0
    let extended: HeaderData = {}
    let longPath: string | undefined
    let longLink = false
    let paxHeaders = 0
    let metaRecords = 0
    let pendingMeta = false
    for (;;) {
      const at = this.src.position
      const block = await this.src.readExact(BLOCK, 'a tar header')
      if (!block) {
        if (this.entries === 0) throw notTar('the file is empty')
        if (pendingMeta) throw truncated('a tar header', at)
        this.ended = true
        return undefined // no end-of-archive blocks: tolerated, as GNU tar does
      }
      if (this.entries === 0 && at === 0) {
        const kind = compressedKind(block)
        if (kind) throw notTar(`it is ${kind}-compressed (magic bytes at byte 0)`)
      }
      const header = decodeHeader(block, at, extended, this.global, this.current)
      if (header.nullBlock) {
        if (this.entries === 0) throw notTar('the first block is empty')
        if (pendingMeta) throw new AirlockError('NOT_A_BUNDLE', `a pax or long-name record at byte ${at} is followed by the end of the archive`, {subject: this.current || 'tar header', hint: 'the bundle is damaged or hostile; do not use it'})
        await this.checkTrailer(at)
        this.ended = true
        return undefined
      }
      if (!header.cksumValid) {
        throw this.entries === 0
          ? notTar(`the first block is not a tar header`)
          : new AirlockError('NOT_A_BUNDLE', `corrupt tar header at byte ${at}`, {subject: this.current || 'tar header', hint: 'the bundle is damaged; copy it again'})
      }
      // named by the entry it describes (a pax or long-name record by the entry before it)
      checkHeaderFields(block, at, (META_TYPES.has(header.type) ? this.current : (extended.path ?? longPath ?? header.path)) || `tar header at byte ${at}`)
      this.entries++
      const size = header.size
      // base-256 sizes can be negative or absurd; either would misalign every header after it
      if (size === undefined || !Number.isSafeInteger(size) || size < 0) {
        throw new AirlockError('NOT_A_BUNDLE', `tar header at byte ${at} has an invalid size`, {subject: header.path ?? 'tar header', hint: 'the bundle is damaged or hostile; do not use it'})
      }
      const type = header.type
      if (META_TYPES.has(type)) {
        if (size > MAX_META_BYTES) throw notTar(`a ${type} record of ${size} bytes at byte ${at}`)
        const body = (await this.src.readExact(size + padding(size), `a ${type} record`)) ?? Buffer.alloc(0)
        const data = body.subarray(0, size)
        pendingMeta = true
        // airlock writes at most one record before an entry; a chain of global records without end is read no further
        if (++metaRecords > MAX_META_RECORDS) throw new AirlockError('NOT_A_BUNDLE', `more than ${MAX_META_RECORDS} pax or long-name records in a row at byte ${at}`, {subject: this.current || `tar header at byte ${at}`, hint: 'the bundle is damaged or hostile; do not use it'})
        // Two pax headers, or two long names, for one entry: tars disagree on which applies (busybox
        // takes whichever name came last, GNU tar the pax one); airlock writes at most one pax header.
        const twice = (what: string) => new AirlockError('NOT_A_BUNDLE', `${what} at byte ${at} for one entry`, {subject: this.current || `tar header at byte ${at}`, hint: 'tars would read different names from this bundle; it is damaged or hostile, do not use it'})
        if (type === 'ExtendedHeader') {
          if (paxHeaders++ > 0) throw twice('a second pax header')
          extended = parsePaxRecords(data, at)
        } else if (type === 'GlobalExtendedHeader') this.global = {...this.global, ...parseGlobalRecords(data, at)}
        else if (type === 'NextFileHasLongPath') {
          if (longPath !== undefined) throw twice('a second GNU long name')
          longPath = data.toString('utf8').replace(/\0.*$/s, '')
        } else {
          if (longLink) throw twice('a second GNU long link name')
          longLink = true
        }
        continue
      }
      const path = extended.path ?? longPath ?? header.path ?? ''
      this.current = path
      if (extended.path !== undefined && longPath !== undefined) {
        throw new AirlockError('NOT_A_BUNDLE', `entry ${path} at byte ${at} has both a pax path and a GNU long name (${longPath})`, {subject: path, hint: 'GNU tar reads the one, busybox tar the other; the bundle is damaged or hostile, do not use it'})
      }
      // pax `size` overrides the ustar field for GNU tar and node-tar, but busybox tar reads the ustar
      // field: two sizes that disagree are two different archives, so they must agree (airlock writes both)
      if (extended.size !== undefined) {
        const ustar = decodeHeader(block, at, {}, {}, path).size
        if (ustar !== extended.size) {
          throw new AirlockError('NOT_A_BUNDLE', `entry ${path} at byte ${at}: its pax size ${extended.size} and its tar header size ${ustar} disagree`, {subject: path, hint: 'tars would read different contents from this bundle; it is damaged or hostile, do not use it'})
        }
      }
      const isFile = FILE_TYPES.has(type)
      if (isFile || type === 'Directory') {
        // busybox tar makes an empty regular file that names a link target into a hard link to it
        if (longLink || extended.linkpath !== undefined || block[157] !== 0) {
          throw new AirlockError('NOT_A_BUNDLE', `entry ${path} (${type}) at byte ${at} names a link target`, {subject: path, hint: 'busybox tar would make it a link; the bundle is damaged or hostile, do not use it'})
        }
        // node-tar and GNU tar read a regular-file header named `x/` as a folder, busybox tar as a file
        if (type === 'Directory' && block[156] !== 0x35) {
          throw new AirlockError('NOT_A_BUNDLE', `entry ${path} at byte ${at} is a regular-file header whose name ends in "/"`, {subject: path, hint: 'tars disagree on whether it is a file or a folder; the bundle is damaged or hostile, do not use it'})
        }
      }
      // a directory or link with a body: GNU tar and this reader might disagree on where the next header is
      if (!isFile && (size !== 0 || rawSizeNonZero(block) || (extended.size ?? 0) !== 0)) {
        throw new AirlockError('NOT_A_BUNDLE', `entry ${path} (${type}) at byte ${at} claims a body of ${size} bytes`, {subject: path, hint: 'the bundle is damaged or hostile; do not use it'})
      }
      this.bodyLeft = isFile ? size : 0
      this.bodyPad = this.bodyLeft > 0 ? padding(size) : 0
      return {path, type, size: this.bodyLeft, mode: header.mode ?? 0, mtime: header.mtime, dataOffset: this.src.position}
    }
  }

  /**
   * After the first zero block only zeros may follow: hidden entries or appended data are refused.
   * And only so many: a stream of zeros without end (`cat bundle /dev/zero |`), or a small gzip that
   * inflates to terabytes of them, would otherwise be read for ever. Writers pad to a record (GNU tar
   * and airlock to 10 KiB, `tar -b` at most to a few MiB).
   */
  private async checkTrailer(at: number): Promise<void> {
    let pos = at + BLOCK
    for await (const chunk of this.src.rest()) {
      const i = chunk.findIndex((b) => b !== 0)
      if (i >= 0) {
        throw new AirlockError('NOT_A_BUNDLE', `data after the end of the archive at byte ${pos + i} (the archive ends at byte ${at})`, {
          subject: `byte ${pos + i}`,
          hint: 'something was appended to or hidden in the bundle after it was signed; do not use it, copy the original again',
        })
      }
      if (pos + chunk.length - at > MAX_TRAILER_BYTES) {
        throw new AirlockError('NOT_A_BUNDLE', `more than ${MAX_TRAILER_BYTES >> 20} MiB of zeros after the end of the archive at byte ${at}`, {subject: `byte ${at + MAX_TRAILER_BYTES}`, hint: 'no writer pads a tar this much; the bundle is damaged or hostile, do not use it'})
      }
      pos += chunk.length
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

/** node-tar reads a directory's size as 0 whatever the field says; GNU tar may skip that many bytes. */
function rawSizeNonZero(block: Buffer): boolean {
  return block.subarray(124, 136).some((b) => b !== 0x30 && b !== 0x20 && b !== 0)
}

const MAGICS: Array<[string, number[]]> = [
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['lz4', [0x04, 0x22, 0x4d, 0x18]],
  ['zip', [0x50, 0x4b, 0x03, 0x04]],
  ['age-encrypted', [...Buffer.from('age-encryption.org/')]],
  ['OpenPGP-armored', [...Buffer.from('-----BEGIN PGP')]],
]

/** A name for what the file is, when it is a well-known compressed or encrypted format. */
function compressedKind(block: Buffer): string | undefined {
  return MAGICS.find(([, m]) => m.every((b, i) => block[i] === b))?.[0]
}

function isTarBytes(source: unknown): source is TarBytes {
  return typeof source === 'object' && source !== null && 'readExact' in source && 'rest' in source
}

function notTar(why: string): AirlockError {
  return new AirlockError('NOT_A_BUNDLE', `not a tar archive: ${why}`, {subject: 'bundle', hint: 'pass the .tar or .tar.gz that `airlock bundle build` wrote (zstd, xz, bzip2 or encrypted files are not bundles)'})
}
