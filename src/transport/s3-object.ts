import {GetObjectCommand, HeadObjectCommand, type S3Client} from '@aws-sdk/client-s3'
import type {Readable} from 'node:stream'

import {READ_CHUNK} from '../bundle/entry.js'
import {AirlockError} from '../ui/errors.js'
import type {RandomAccessBundle} from './random-access.js'
import {RangeGetHandler, ResponseBody, type SdkRequestHandler} from './range-http.js'
import {createS3Client, fromS3Error, parseS3Url, s3Url, withRetry, type S3Location} from './s3.js'
import type {S3ReadSettings} from './s3-input.js'

/** bytes per ranged GET: large enough that request overhead is small, small enough that a retry repeats little */
export const RANGE_BYTES = 8 * 1024 * 1024

/**
 * A bundle object read in place with ranged GETs. Every GET carries If-Match with the ETag the HEAD
 * saw, so an object replaced while it is read fails (PreconditionFailed, exit 4) instead of yielding
 * bytes of two versions. Each range is completed under the one retry policy before it is handed
 * out: a connection cut mid-range costs the rest of that range again, never a gap or a duplicate.
 * The GETs' bodies land straight in the range buffers (range-http.ts).
 */
export class S3Object {
  private constructor(
    readonly url: string,
    private readonly loc: S3Location,
    private readonly client: S3Client,
    readonly size: number,
    readonly etag: string,
    private readonly inFlight: number,
  ) {}

  static async open(url: string, settings: S3ReadSettings): Promise<S3Object> {
    const loc = parseS3Url(url, 'bundle')
    if (loc.key === '' || loc.key.endsWith('/')) {
      throw new AirlockError('USAGE', `${url} names a prefix, not an object`, {subject: url, hint: "give the bundle's full key, e.g. s3://bucket/releases/demo.tar"})
    }
    const name = s3Url(loc)
    const inFlight = Math.max(1, settings.concurrency)
    const client = createS3Client({endpoint: settings.endpoint, region: settings.region, concurrency: inFlight})
    // the GETs' bodies land straight in the range buffers (range-http.ts: a fraction of node:http's CPU)
    const config = client.config as unknown as {requestHandler: SdkRequestHandler}
    config.requestHandler = new RangeGetHandler(config.requestHandler)
    try {
      const head = await withRetry(() => client.send(new HeadObjectCommand({Bucket: loc.bucket, Key: loc.key})))
      return new S3Object(name, loc, client, head.ContentLength ?? 0, head.ETag ?? '', inFlight)
    } catch (error) {
      client.destroy()
      throw fromS3Error(error, name, 'reading')
    }
  }

  /**
   * The bytes [start, start + length) as one buffer (`into`, when given, is reused), under the retry
   * policy. A connection cut mid-range costs only the rest of it: the bytes already in the buffer
   * are of the version the ETag names (If-Match), so the next attempt asks for what follows them.
   */
  async range(start: number, length: number, into?: Buffer): Promise<Buffer> {
    if (length === 0) return Buffer.alloc(0)
    const buf = into && into.length >= length ? into.subarray(0, length) : Buffer.allocUnsafe(length)
    const tooLong = () => new AirlockError('SIZE_MISMATCH', `the store sent more than the ${length} bytes asked for at ${start}`, {subject: this.url})
    let done = 0
    try {
      await withRetry(async () => {
        const from = done
        const out = await this.client.send(new GetObjectCommand({Bucket: this.loc.bucket, Key: this.loc.key, Range: `bytes=${start + from}-${start + length - 1}`, ...(this.etag ? {IfMatch: this.etag} : {})}))
        if (out.ContentLength !== undefined && out.ContentLength > length - from) {
          ;(out.Body as Readable | undefined)?.destroy()
          throw tooLong()
        }
        // bytes placed by position must be the bytes asked for: a store (or proxy) answering another range is refused
        if (out.ContentRange && !out.ContentRange.startsWith(`bytes ${start + from}-`)) {
          ;(out.Body as Readable | undefined)?.destroy()
          throw new AirlockError('S3_ERROR', `the store answered ${out.ContentRange} when asked for bytes ${start + from}-${start + length - 1} of ${this.url}`, {subject: this.url, hint: 'check --endpoint and any proxy between airlock and the store'})
        }
        const rest = buf.subarray(from)
        const landed = (n: number) => (done = from + n)
        const got = out.Body instanceof ResponseBody ? await out.Body.readInto(rest, landed) : await copyInto(out.Body as Readable, rest, landed)
        if (got > rest.length) throw tooLong()
        // a range cut short is a network accident: worth another attempt (for the rest)
        if (done !== length) throw Object.assign(new Error(`range at ${start} ended after ${done} of ${length} bytes`), {code: 'ECONNRESET'})
      })
      return buf
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'HTTP_PROTOCOL') {
        throw new AirlockError('S3_ERROR', `the store's answer for ${this.url} at byte ${start} is not valid HTTP: ${(error as Error).message}`, {subject: this.url, hint: 'check --endpoint and any proxy between airlock and the store', cause: error})
      }
      throw fromS3Error(error, this.url, 'reading')
    }
  }

  /**
   * [offset, offset + length) in order, in chunks of at most 1 MiB, with up to `inFlight` ranged GETs
   * running ahead of the consumer: memory is bounded by inFlight x RANGE_BYTES whatever the size.
   * With `reuse`, the range buffers form a ring (inFlight + 2 of them) instead of one allocation per
   * range, so memory stays flat and the collector idle: a chunk handed out is overwritten a full
   * ring later, long after a consumer that awaits each chunk before the next is done with it (the
   * same contract as a plain file's reader). Readers that keep chunks (blob reads) pass false.
   */
  async *read(offset: number, length: number, inFlight = this.inFlight, reuse = false): AsyncGenerator<Buffer> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new AirlockError('TRUNCATED', `${this.url}: the range ${offset}+${length} lies beyond the end of the bundle (${this.size} bytes)`, {subject: this.url, hint: 'the object is cut short; publish it again'})
    }
    const end = offset + length
    let next = offset
    const pending: Promise<Buffer>[] = []
    const ring = reuse ? Array.from({length: inFlight + 2}, () => Buffer.allocUnsafe(Math.min(RANGE_BYTES, length))) : []
    let slot = 0
    const fill = () => {
      while (pending.length < inFlight && next < end) {
        const take = Math.min(RANGE_BYTES, end - next)
        const p = this.range(next, take, reuse ? ring[slot++ % ring.length] : undefined)
        p.catch(() => {}) // observed when its turn comes; a consumer that stops early must not see an unhandled rejection
        pending.push(p)
        next += take
      }
    }
    fill()
    while (pending.length > 0) {
      const buf = await (pending.shift() as Promise<Buffer>)
      fill()
      for (let at = 0; at < buf.length; at += READ_CHUNK) yield buf.subarray(at, Math.min(at + READ_CHUNK, buf.length))
    }
  }

  close(): void {
    this.client.destroy()
  }
}

/**
 * A body read as a stream (a handler other than ours) into `buf`: its length, or more than
 * buf.length when it is longer; `landed` is told how many bytes are in `buf` as they arrive.
 */
async function copyInto(body: Readable, buf: Buffer, landed: (n: number) => void): Promise<number> {
  let got = 0
  for await (const data of body) {
    const chunk = data as Buffer
    if (got + chunk.length > buf.length) {
      body.destroy()
      return got + chunk.length
    }
    chunk.copy(buf, got)
    got += chunk.length
    landed(got)
  }
  return got
}

/** The whole object as one stream, for the tar walk of verify, inspect and extract. */
export async function openS3Stream(url: string, settings: S3ReadSettings): Promise<AsyncGenerator<Buffer>> {
  const object = await S3Object.open(url, settings)
  // gunzip may queue a chunk it was handed: a gzip object gets fresh buffers, a tar the reused ring
  let gzip: boolean
  try {
    const magic = object.size >= 2 ? await object.range(0, 2) : Buffer.alloc(0)
    gzip = magic[0] === 0x1f && magic[1] === 0x8b
  } catch (error) {
    object.close()
    throw error
  }
  return (async function* () {
    try {
      yield* object.read(0, object.size, undefined, !gzip)
    } finally {
      object.close()
    }
  })()
}

/**
 * Bytes a small read fetches at once: a walk of the tar's headers (images push/serve --no-verify,
 * inspect) asks for 512 bytes at a time, and one GET per header would be one round trip each, one
 * after another. A window this size serves every header of the small entries it covers with one
 * GET; a header before a large blob costs one GET, as before, and a little more transfer.
 */
export const READ_AHEAD_BYTES = 2 * 1024 * 1024

/**
 * The object read by offset, for images push, serve and list. One read (a blob) keeps two ranges in
 * flight; blobs read side by side each have their own, so the store sees several GETs at once.
 * Small reads (headers, manifests) go through a read-ahead window: the last two windows fetched are
 * kept, so a walk that reads a header and then the manifest beside it asks the store once.
 */
export async function openS3RandomAccess(url: string, settings: S3ReadSettings): Promise<RandomAccessBundle> {
  const object = await S3Object.open(url, settings)
  const windows: {start: number; bytes: Promise<Buffer>}[] = []
  const windowFor = (offset: number, length: number): Promise<Buffer> | undefined => {
    const hit = windows.find((w) => offset >= w.start && offset + length <= w.start + Math.min(READ_AHEAD_BYTES, object.size - w.start))
    if (hit) return hit.bytes.then((b) => b.subarray(offset - hit.start, offset - hit.start + length))
    return undefined
  }
  const bundle: RandomAccessBundle = {
    size: object.size,
    read: (offset, length) => object.read(offset, length, 2),
    async readBuffer(offset, length) {
      if (offset < 0 || length < 0 || offset + length > object.size) {
        throw new AirlockError('TRUNCATED', `${url}: the range ${offset}+${length} lies beyond the end of the bundle (${object.size} bytes)`, {subject: url, hint: 'the object is cut short; publish it again'})
      }
      if (length > READ_AHEAD_BYTES / 2) return object.range(offset, length)
      const cached = windowFor(offset, length)
      // a copy: the caller may keep it without holding the whole window
      if (cached) return Buffer.from(await cached)
      const window = {start: offset, bytes: object.range(offset, Math.min(READ_AHEAD_BYTES, object.size - offset))}
      // a failed GET is not kept: the next read asks again (under the retry policy)
      window.bytes.catch(() => windows.splice(windows.indexOf(window) >>> 0, 1))
      windows.unshift(window)
      windows.length = Math.min(windows.length, 2)
      return Buffer.from((await window.bytes).subarray(0, length))
    },
    async close() {
      object.close()
    },
  }
  return bundle
}
