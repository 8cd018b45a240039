import {AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand, HeadObjectCommand, type S3Client} from '@aws-sdk/client-s3'
import {createHash} from 'node:crypto'
import {rm} from 'node:fs/promises'
import {Writable} from 'node:stream'
import {crc32} from 'node:zlib'

import {AirlockError, fromFsError} from '../ui/errors.js'
import {readBuildUploadRecord, type BuildUploadRecord, type RecordedPart} from './build-upload-record.js'
import {checksumField, crc32Checksum, effectivePartSize, listUploadedParts, putChecksumObject, sendPart, type PartChecksum} from './publish.js'
import {writeRecordFile} from './record.js'
import {createS3Client, fromS3Error, parseS3Url, s3ErrorName, s3Status, s3Url, withRetry, type S3Location} from './s3.js'

export interface S3SinkOptions {
  endpoint?: string
  region?: string
  /** requested bytes per part (raised for very large bundles to stay within 10,000 parts) */
  partSize: number
  /** parts uploading at once: memory is about (concurrency + 1) x part size */
  concurrency: number
  /** replace an object already under the key */
  force?: boolean
  /** about how many bytes will be written, to choose a part size within S3's 10,000 parts */
  expectedSize: number
  /** keep the upload on failure and continue the one recorded at `recordPath` (bundle build --resume) */
  resume?: {recordPath: string; identity: string; created: string}
  /** what the user should know before the upload starts (a recorded upload that cannot be continued) */
  onNote?: (text: string) => void
}

export interface S3SinkResult {
  url: string
  size: number
  sha256: string
  checksumUrl: string
  parts: number
  partSize: number
  /** parts an interrupted `--resume` build had already sent, not sent again */
  partsResumed: number
}

/** how long an interrupted build may spend aborting its upload before the signal ends the process */
const ABORT_TIMEOUT_MS = 10_000

/**
 * The bundle's bytes written straight into a multipart upload: the stream is cut into parts of a
 * fixed size, each sent while the next fills (at most `concurrency` in flight; a write waits when
 * they are all busy, so memory stays bounded whatever the bundle's size), the whole object's SHA-256
 * computed as the bytes pass. Ending the stream completes the upload, checks the assembled size with
 * HEAD and writes KEY.sha256 (the format `bundle publish` writes). Until then nothing exists under
 * the key; `abort()` removes the parts, so a failed or interrupted build leaves neither an object nor
 * an upload the bucket is billed for (with --resume it keeps them instead, for the next build to
 * continue: see continueRecorded).
 *
 * CPU per byte is what limits this path (the store, or its proxy, competes for the same cores), so
 * each byte is touched as few times as it can be:
 * - each byte is copied once, into a reused part buffer the request sends as is (sending the tar
 *   writer's own chunks instead, with no copy, measured worse: holding them for a part's lifetime
 *   moves them past young-generation GC, and GC time tripled);
 * - the whole object's SHA-256 runs here, inline: on the hash pool each MiB would be copied into
 *   its ring and announced by a message, which measured more CPU than the hash itself saves;
 * - each part's integrity checksum is a CRC32 (zlib's, a few GB/s) rather than a SHA-256 (another
 *   full hash pass over every byte): S3, MinIO and recent Ceph recompute x-amz-checksum-crc32 and
 *   refuse a part damaged on the way (BadDigest), which is what a part checksum is for; the content
 *   itself is authenticated by the bundle's signature and KEY.sha256, not by the part checksums.
 *   Stores that predate flexible checksums ignore the header (as they ignored x-amz-checksum-sha256).
 *
 * Memory: at most `concurrency` parts in flight plus the one filling, i.e. (concurrency + 1) x part
 * size of part buffers (20 MiB with the defaults, 3 x 5 MiB), whatever the bundle's size.
 */
export class S3MultipartSink extends Writable {
  readonly url: string
  private readonly whole = createHash('sha256')
  /** the part filling: its buffer, the bytes in it and their running CRC32 */
  private part: Buffer
  private filled = 0
  private readonly spare: Buffer[] = []
  private crc = 0
  private parts = 0
  private size = 0
  private readonly sent: {n: number; etag: string; checksum: PartChecksum}[] = []
  private readonly inFlight = new Set<Promise<void>>()
  private failure: unknown
  private readonly controller = new AbortController()
  private state: 'open' | 'completing' | 'complete' | 'aborted' = 'open'
  private result?: S3SinkResult
  private resumed = 0
  /** record writes, one at a time, so the record never claims a part the store has not acknowledged */
  private saving: Promise<void> = Promise.resolve()

  private constructor(
    private readonly client: S3Client,
    private readonly loc: S3Location,
    private readonly uploadId: string,
    readonly partSize: number,
    private readonly concurrency: number,
    /** --resume: the record kept up to date, and the parts the store already has (by number) */
    private readonly record?: {path: string; data: BuildUploadRecord; known: Map<number, RecordedPart>},
  ) {
    super({highWaterMark: 1 << 20})
    this.url = s3Url(loc)
    this.part = Buffer.allocUnsafe(partSize)
  }

  /** Checks the key (refused when an object is there, unless `force`) and starts the multipart upload. */
  static async start(url: string, options: S3SinkOptions): Promise<S3MultipartSink> {
    const loc = parseS3Url(url, '--out')
    if (loc.key === '' || loc.key.endsWith('/')) {
      throw new AirlockError('USAGE', `--out ${url} names a prefix, not an object`, {subject: '--out', hint: 'give the full key, e.g. s3://bucket/releases/demo.tar'})
    }
    const partSize = effectivePartSize(options.expectedSize, options.partSize)
    const client = createS3Client({endpoint: options.endpoint, region: options.region, concurrency: options.concurrency})
    const name = s3Url(loc)
    try {
      if (!options.force && (await objectExists(client, loc))) {
        throw new AirlockError('FILE_EXISTS', `${name} already exists`, {subject: name, hint: 'choose another key, or pass --force to replace it'})
      }
      const concurrency = Math.max(1, options.concurrency)
      const resume = options.resume
      if (resume) {
        const continued = await continueRecorded(client, loc, partSize, options, resume)
        if (continued) return new S3MultipartSink(client, loc, continued.data.uploadId, partSize, concurrency, {path: resume.recordPath, ...continued})
      }
      const created = await withRetry(() => client.send(new CreateMultipartUploadCommand({Bucket: loc.bucket, Key: loc.key, ContentType: 'application/x-tar', ChecksumAlgorithm: 'CRC32'}))).catch((error) => {
        throw fromS3Error(error, name, 'starting the upload of')
      })
      const uploadId = created.UploadId as string
      if (!resume) return new S3MultipartSink(client, loc, uploadId, partSize, concurrency)
      const data: BuildUploadRecord = {version: 1, url: name, endpoint: options.endpoint ?? null, uploadId, partSize, created: resume.created, identity: resume.identity, parts: {}}
      await writeRecordFile(resume.recordPath, data).catch(async (error) => {
        // no record, no resuming: the upload just started is not left behind
        await abortMultipart(client, loc, uploadId)
        throw fromFsError(error, resume.recordPath, 'upload record')
      })
      return new S3MultipartSink(client, loc, uploadId, partSize, concurrency, {path: resume.recordPath, data, known: new Map()})
    } catch (error) {
      client.destroy()
      throw error
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const waiting = this.accept(chunk)
    if (waiting) waiting.then(() => callback(), callback)
    else callback()
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.complete().then(() => callback(), callback)
  }

  /** Adds the chunk to the whole hash and the part filling; a promise only when a full part must wait for a free slot. */
  private accept(chunk: Buffer): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure)
    if (this.state !== 'open') return Promise.reject(new AirlockError('INTERRUPTED', `the upload of ${this.url} was stopped`, {subject: this.url}))
    this.size += chunk.length
    this.whole.update(chunk)
    const take = Math.min(this.partSize - this.filled, chunk.length)
    this.add(chunk, 0, take)
    if (this.filled < this.partSize) return undefined
    return this.cutRest(chunk, take)
  }

  private add(chunk: Buffer, from: number, to: number): void {
    const piece = from === 0 && to === chunk.length ? chunk : chunk.subarray(from, to)
    piece.copy(this.part, this.filled)
    this.filled += piece.length
    this.crc = crc32(piece, this.crc)
  }

  /** Hands over the part just filled, then places the rest of the chunk (a chunk larger than a part fills several). */
  private async cutRest(chunk: Buffer, at: number): Promise<void> {
    await this.flush()
    while (at < chunk.length) {
      const take = Math.min(this.partSize, chunk.length - at)
      this.add(chunk, at, at + take)
      at += take
      if (this.filled === this.partSize) await this.flush()
    }
  }

  /** Hands the part filled so far to the upload; waits first while `concurrency` parts are in flight (the bound on memory). */
  private async flush(): Promise<void> {
    while (this.inFlight.size >= this.concurrency) await Promise.race(this.inFlight)
    if (this.failure) throw this.failure
    const handed = this.part
    const body = handed.subarray(0, this.filled)
    const n = ++this.parts
    const checksum = crc32Checksum(this.crc)
    const known = this.record?.known.get(n)
    if (known && known.size === body.length && known.crc32 === checksum.base64) {
      // --resume: the store has this very part (same length, same CRC32, same bundle identity)
      this.sent.push({n, etag: known.etag, checksum})
      this.resumed++
      this.filled = 0
      this.crc = 0
      return
    }
    // the buffer handed out is that part's body until the store acknowledges it: fill another
    // (at most concurrency + 1 buffers ever exist: acknowledged parts give theirs back)
    this.part = this.spare.pop() ?? Buffer.allocUnsafe(this.partSize)
    this.filled = 0
    this.crc = 0
    const sending = sendPart(this.client, this.loc, this.uploadId, n, body.length, checksum, () => body, this.controller.signal)
      .then(async (etag) => {
        this.sent.push({n, etag, checksum})
        if (this.record) await this.save(n, {etag, size: body.length, crc32: checksum.base64})
      })
      .catch((error: unknown) => {
        this.failure ??= error
      })
    const tracked = sending.finally(() => {
      this.inFlight.delete(tracked)
      this.spare.push(handed)
    })
    this.inFlight.add(tracked)
  }

  private async complete(): Promise<void> {
    if (this.filled > 0 || this.parts === 0) await this.flush()
    this.state = 'completing'
    await Promise.all(this.inFlight)
    if (this.failure) throw this.failure
    const parts = [...this.sent].sort((a, b) => a.n - b.n)
    await withRetry(() =>
      this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.loc.bucket,
          Key: this.loc.key,
          UploadId: this.uploadId,
          MultipartUpload: {Parts: parts.map((p) => ({PartNumber: p.n, ETag: p.etag, ...checksumField(p.checksum)}))},
        }),
      ),
    ).catch(async (error) => {
      const name = s3ErrorName(error)
      if (this.record && (name === 'InvalidPart' || name === 'NoSuchUpload' || name === 'InvalidPartOrder')) {
        // the store no longer has a part the record listed: this upload cannot be completed, the next run starts afresh
        await this.dropRecord()
        throw new AirlockError('S3_ERROR', `the store refused to assemble ${this.url} from the parts it had acknowledged: ${name}`, {subject: this.url, hint: 'build again: the record of the interrupted upload was removed, so the next build starts a new upload', cause: error})
      }
      throw fromS3Error(error, this.url, 'completing the upload of')
    })
    if ((this.state as string) === 'aborted') {
      // interrupted while the store assembled the object: it must not stay under the key
      await this.removeObject()
      throw this.failure
    }
    this.state = 'complete'
    const sha256 = this.whole.digest('hex')
    try {
      const head = await withRetry(() => this.client.send(new HeadObjectCommand({Bucket: this.loc.bucket, Key: this.loc.key}))).catch((error) => {
        throw fromS3Error(error, this.url, 'checking')
      })
      if (head.ContentLength !== this.size) {
        throw new AirlockError('SIZE_MISMATCH', `${this.url} is ${head.ContentLength} bytes after the upload, the bundle is ${this.size}`, {subject: this.url, hint: 'build again; the store assembled the parts wrongly'})
      }
      await putChecksumObject(this.client, this.loc, sha256)
    } catch (error) {
      // an object that is not what was built must not stay under the key
      await this.removeObject()
      throw error
    }
    await this.dropRecord()
    this.result = {url: this.url, size: this.size, sha256, checksumUrl: `${this.url}.sha256`, parts: parts.length, partSize: this.partSize, partsResumed: this.resumed}
  }

  /** --resume: notes an acknowledged part in the record (writes queued, so the last one written is the newest). */
  private save(n: number, part: RecordedPart): Promise<void> {
    const record = this.record as NonNullable<typeof this.record>
    record.data.parts[String(n)] = part
    this.saving = this.saving.then(() => writeRecordFile(record.path, record.data)).catch((error: unknown) => {
      throw fromFsError(error, record.path, 'upload record')
    })
    return this.saving
  }

  private async dropRecord(): Promise<void> {
    if (!this.record) return
    await this.saving.catch(() => {})
    await rm(this.record.path, {force: true})
  }

  /** What was uploaded, once the stream has finished. */
  uploaded(): S3SinkResult {
    if (!this.result) throw new Error('internal: the upload is not complete')
    return this.result
  }

  /**
   * Stops the parts in flight and aborts the multipart upload, so the store drops every part and
   * nothing appears under the key. Bounded in time: an unreachable store cannot hold up an interrupt.
   * With --resume the upload is kept instead (still nothing under the key): the record beside the
   * spec lists the parts the store acknowledged, and the same build with --resume continues it.
   */
  abort(): Promise<void> {
    // one abort however many callers (the signal handler, the failing write): each waits for the same one
    this.aborting ??= this.state === 'complete' ? Promise.resolve() : this.abortUpload()
    return this.aborting
  }

  private aborting?: Promise<void>

  private async abortUpload(): Promise<void> {
    this.state = 'aborted'
    this.failure ??= new AirlockError('INTERRUPTED', `the upload of ${this.url} was stopped`, {subject: this.url})
    this.controller.abort()
    if (this.record) {
      await this.saving.catch(() => {})
      const kept = Object.keys(this.record.data.parts).length
      process.stderr.write(`airlock: the upload of ${this.url} is kept (${kept} part(s) in the store, listed in ${this.record.path}); run the same build with --resume to continue it\n`)
      return
    }
    // Never throws: the error that made the build stop is the one the user must see. A store that
    // cannot abort (s3rver has no AbortMultipartUpload) keeps the parts until its own lifecycle rule
    // drops them; they are never visible under the key either way.
    const aborting = abortMultipart(this.client, this.loc, this.uploadId)
    let timer: NodeJS.Timeout | undefined
    try {
      await Promise.race([aborting, new Promise<void>((resolve) => (timer = setTimeout(resolve, ABORT_TIMEOUT_MS)))])
    } finally {
      clearTimeout(timer)
    }
  }

  close(): void {
    this.client.destroy()
  }

  private async removeObject(): Promise<void> {
    await withRetry(() => this.client.send(new DeleteObjectCommand({Bucket: this.loc.bucket, Key: this.loc.key}))).catch(() => {})
  }
}

async function objectExists(client: S3Client, loc: S3Location): Promise<boolean> {
  try {
    await withRetry(() => client.send(new HeadObjectCommand({Bucket: loc.bucket, Key: loc.key})))
    return true
  } catch (error) {
    if (s3ErrorName(error) === 'NotFound' || s3ErrorName(error) === 'NoSuchKey' || s3Status(error) === 404) return false
    throw fromS3Error(error, s3Url(loc), 'looking up')
  }
}

/** Aborts a multipart upload under the retry policy; never throws (a store without Abort keeps the parts for its lifecycle rule). */
function abortMultipart(client: S3Client, loc: S3Location, uploadId: string): Promise<void> {
  return withRetry(() => client.send(new AbortMultipartUploadCommand({Bucket: loc.bucket, Key: loc.key, UploadId: uploadId}))).then(
    () => {},
    () => {},
  )
}

/**
 * --resume: the upload an interrupted build recorded, if this build can continue it: same key,
 * endpoint, part size and bundle identity (so the same bytes, part for part), and the store still
 * has the upload. The parts it has are those ListParts names, with their CRC32 (the store's, else the
 * record's); a store without ListParts (s3rver) is taken at the record's word, and completing the
 * upload confirms it (the store refuses a part it does not have). A part is skipped only when this
 * build's part has the same length and CRC32. Anything else: a note, the stale upload
 * aborted, and a new upload.
 */
async function continueRecorded(client: S3Client, loc: S3Location, partSize: number, options: S3SinkOptions, resume: NonNullable<S3SinkOptions['resume']>): Promise<{data: BuildUploadRecord; known: Map<number, RecordedPart>} | undefined> {
  const data = await readBuildUploadRecord(resume.recordPath)
  if (!data) return undefined
  const url = s3Url(loc)
  const note = (why: string) => options.onNote?.(`--resume: ${why}; starting a new upload of ${url}`)
  if (data.url !== url || data.endpoint !== (options.endpoint ?? null)) {
    // another key's record: left alone, this build's record replaces it only once it starts
    note(`${resume.recordPath} records an upload to ${data.url}${data.endpoint ? ` at ${data.endpoint}` : ''}, not this one`)
    return undefined
  }
  const stale = async (why: string) => {
    note(why)
    await abortMultipart(client, loc, data.uploadId)
    return undefined
  }
  if (data.partSize !== partSize) return stale(`the interrupted upload used parts of ${data.partSize} bytes, this build ${partSize}`)
  if (data.identity !== resume.identity) return stale('the bundle differs from the interrupted build\'s (a source, the spec, the key or the clock changed)')
  const listed = await listUploadedParts(client, loc, data.uploadId)
  if (listed === 'gone') {
    note('the store no longer has the interrupted upload (completed, aborted or expired)')
    return undefined
  }
  const known = new Map<number, RecordedPart>()
  if (listed === 'unsupported') {
    for (const [n, part] of Object.entries(data.parts)) known.set(Number(n), part)
  } else {
    // the store's own list wins: it also names parts acknowledged after the record was last written
    for (const [n, there] of listed) {
      const crc32 = there.crc32 ?? data.parts[String(n)]?.crc32
      if (crc32) known.set(n, {etag: there.etag, size: there.size, crc32})
    }
  }
  // the record from here on lists only what this build relies on
  data.parts = Object.fromEntries([...known].map(([n, p]) => [String(n), p]))
  return {data, known}
}
