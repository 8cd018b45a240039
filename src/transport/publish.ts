import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import {createHash} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {rm, stat} from 'node:fs/promises'
import {basename} from 'node:path'
import type {Readable} from 'node:stream'
import pLimit from 'p-limit'

import {READ_CHUNK} from '../bundle/entry.js'
import {HashPool} from '../bundle/hash-pool.js'
import {AirlockError, fromFsError} from '../ui/errors.js'
import {readRecordFile, writeRecordFile} from './record.js'
import {createS3Client, fromS3Error, parseS3Url, s3ErrorName, s3Status, s3Url, withRetry, type S3Location} from './s3.js'

export const MIN_PART_SIZE = 5 * 1024 * 1024
const MAX_PARTS = 10_000
/** where the published SHA-256 lives in the object's user metadata (`x-amz-meta-sha256`) */
export const SHA256_METADATA = 'sha256'
export const CHECKSUM_SUFFIX = '.sha256'

export interface PublishOptions {
  file: string
  /** s3://BUCKET/PREFIX/ (the file's name is appended) or s3://BUCKET/KEY */
  destination: string
  endpoint?: string
  region?: string
  partSize: number
  concurrency: number
}

export interface PublishResult {
  bundle: string
  url: string
  bucket: string
  key: string
  size: number
  sha256: string
  /** the `KEY.sha256` object beside the bundle (sha256sum format) */
  checksumUrl: string
  partSize: number
  parts: number
  /** parts sent by this run */
  partsSent: number
  /** parts an earlier, interrupted run had already sent */
  partsResumed: number
  /** the object was already there with the same SHA-256: nothing was sent */
  alreadyPublished: boolean
}

export type PublishProgress = (phase: 'hashing' | 'uploading', done: number, total: number) => void

/**
 * What an interrupted upload leaves beside the bundle so a re-run can continue it. It names the
 * upload id and, per part, the SHA-256 sent and the ETag received. Where the store implements
 * ListParts (S3, MinIO, Ceph) the store's own list decides what is skipped, compared by checksum;
 * the record is the fallback for stores that lack it (s3rver).
 */
interface UploadRecord {
  version: 1
  url: string
  endpoint: string | null
  size: number
  mtimeMs: number
  partSize: number
  sha256: string
  partSha256: string[]
  uploadId: string
  etags: Record<string, string>
}

export function uploadRecordPath(file: string): string {
  return `${file}.publish.json`
}

/** The key the bundle gets: a destination ending in `/` (or an empty key) is a prefix. */
export function destinationKey(loc: S3Location, file: string): S3Location {
  return loc.key === '' || loc.key.endsWith('/') ? {bucket: loc.bucket, key: `${loc.key}${basename(file)}`} : loc
}

/** Multipart uploads have at most 10,000 parts: a larger bundle gets larger parts, in whole MiB. */
export function effectivePartSize(size: number, requested: number): number {
  if (requested < MIN_PART_SIZE) {
    throw new AirlockError('USAGE', `--part-size ${requested} is below the 5 MiB every S3 part but the last must have`, {subject: '--part-size', hint: 'use 5M or more'})
  }
  if (Math.ceil(size / requested) <= MAX_PARTS) return requested
  const mib = 1024 * 1024
  return Math.ceil(size / MAX_PARTS / mib) * mib
}

/**
 * Uploads a bundle with a multipart upload: one read to hash the whole file and each part (the
 * SHA-256 must be known before the upload starts, since it goes into the object's metadata), then
 * the parts, each sent with its SHA-256 as `x-amz-checksum-sha256` and as the signed payload hash,
 * so the store rejects a part damaged on the way. Last, `KEY.sha256` is written beside the object.
 */
export async function publishBundle(options: PublishOptions, onProgress: PublishProgress = () => {}): Promise<PublishResult> {
  const loc = destinationKey(parseS3Url(options.destination, 'destination'), options.file)
  const url = s3Url(loc)
  let info
  try {
    info = await stat(options.file)
    if (!info.isFile()) throw Object.assign(new Error('not a file'), {code: 'EISDIR'})
  } catch (error) {
    throw fromFsError(error, options.file, 'bundle')
  }
  const size = info.size
  const partSize = effectivePartSize(size, options.partSize)
  const client = createS3Client({endpoint: options.endpoint, region: options.region, concurrency: options.concurrency})
  try {
    const recordPath = uploadRecordPath(options.file)
    let record = await readRecord(recordPath)
    if (record && !(record.url === url && record.endpoint === (options.endpoint ?? null) && record.size === size && record.mtimeMs === info.mtimeMs && record.partSize === partSize)) {
      record = undefined
    }
    const hashes = record ? {sha256: record.sha256, parts: record.partSha256} : await hashParts(options.file, size, partSize, (d) => onProgress('hashing', d, size))
    const base = {bundle: options.file, url, bucket: loc.bucket, key: loc.key, size, sha256: hashes.sha256, checksumUrl: `${url}${CHECKSUM_SUFFIX}`, partSize, parts: hashes.parts.length}

    if (!record && (await alreadyPublished(client, loc, size, hashes.sha256))) {
      await putChecksumObject(client, loc, hashes.sha256)
      return {...base, partsSent: 0, partsResumed: hashes.parts.length, alreadyPublished: true}
    }

    let uploaded = new Map<number, string>()
    if (record) {
      const listed = await listUploadedParts(client, loc, record.uploadId)
      if (listed === 'gone') {
        record = undefined
      } else if (listed === 'unsupported') {
        for (const [n, etag] of Object.entries(record.etags)) uploaded.set(Number(n), etag)
      } else {
        uploaded = matchListedParts(listed, hashes.parts, size, partSize)
      }
    }
    if (!record) {
      const created = await withRetry(() =>
        client.send(new CreateMultipartUploadCommand({Bucket: loc.bucket, Key: loc.key, ContentType: 'application/x-tar', Metadata: {[SHA256_METADATA]: hashes.sha256}, ChecksumAlgorithm: 'SHA256'})),
      ).catch((error) => {
        throw fromS3Error(error, url, 'starting the upload of')
      })
      record = {version: 1, url, endpoint: options.endpoint ?? null, size, mtimeMs: info.mtimeMs, partSize, sha256: hashes.sha256, partSha256: hashes.parts, uploadId: created.UploadId as string, etags: {}}
      await writeRecord(recordPath, record)
    }
    const active = record
    const resumed = uploaded.size
    active.etags = Object.fromEntries([...uploaded].map(([n, e]) => [String(n), e]))

    // The record is rewritten after each part, one write at a time, so it never claims a part the store has not acknowledged.
    let saving = Promise.resolve()
    const save = () => (saving = saving.then(() => writeRecord(recordPath, active)))
    let sentBytes = [...uploaded.keys()].reduce((sum, n) => sum + partLength(n, size, partSize), 0)
    onProgress('uploading', sentBytes, size)
    const limit = pLimit(options.concurrency)
    const todo = hashes.parts.map((_, i) => i + 1).filter((n) => !uploaded.has(n))
    try {
      await Promise.all(
        todo.map((n) =>
          limit(async () => {
            const etag = await uploadPart(client, loc, active.uploadId, options.file, n, size, partSize, hashes.parts[n - 1] as string)
            uploaded.set(n, etag)
            active.etags[String(n)] = etag
            sentBytes += partLength(n, size, partSize)
            onProgress('uploading', sentBytes, size)
            await save()
          }),
        ),
      )
    } catch (error) {
      limit.clearQueue()
      throw error
    }
    await saving

    await completeUpload(client, loc, active, uploaded, recordPath)
    const head = await withRetry(() => client.send(new HeadObjectCommand({Bucket: loc.bucket, Key: loc.key}))).catch((error) => {
      throw fromS3Error(error, url, 'checking')
    })
    if (head.ContentLength !== size) {
      throw new AirlockError('SIZE_MISMATCH', `${url} is ${head.ContentLength} bytes after the upload, the bundle is ${size}`, {subject: url, hint: 'publish again; the store assembled the parts wrongly'})
    }
    await putChecksumObject(client, loc, hashes.sha256)
    await rm(recordPath, {force: true})
    return {...base, partsSent: todo.length, partsResumed: resumed, alreadyPublished: false}
  } finally {
    client.destroy()
  }
}

function partLength(n: number, size: number, partSize: number): number {
  return Math.max(0, Math.min(partSize, size - (n - 1) * partSize))
}

/** One read of the bundle: the SHA-256 of the whole (on a worker thread) and of every part (here), side by side. */
async function hashParts(file: string, size: number, partSize: number, onProgress: (done: number) => void): Promise<{sha256: string; parts: string[]}> {
  const pool = new HashPool()
  const whole = pool.begin(size)
  const parts: string[] = []
  let part = createHash('sha256')
  let inPart = 0
  let done = 0
  try {
    for await (const data of createReadStream(file, {highWaterMark: READ_CHUNK})) {
      const chunk = data as Buffer
      await whole.update(chunk)
      for (let off = 0; off < chunk.length; ) {
        const take = Math.min(partSize - inPart, chunk.length - off)
        part.update(chunk.subarray(off, off + take))
        inPart += take
        off += take
        if (inPart === partSize) {
          parts.push(part.digest('hex'))
          part = createHash('sha256')
          inPart = 0
        }
      }
      done += chunk.length
      onProgress(done)
    }
    if (inPart > 0 || parts.length === 0) parts.push(part.digest('hex'))
    if (done !== size) throw new AirlockError('SIZE_MISMATCH', `${file} changed while it was read (${done} bytes, expected ${size})`, {subject: file, hint: 'wait for whatever writes the bundle to finish'})
    return {sha256: await whole.digest(), parts}
  } catch (error) {
    throw fromFsError(error, file, 'bundle')
  } finally {
    await pool.close()
  }
}

async function alreadyPublished(client: S3Client, loc: S3Location, size: number, sha256: string): Promise<boolean> {
  try {
    const head = await withRetry(() => client.send(new HeadObjectCommand({Bucket: loc.bucket, Key: loc.key})))
    return head.ContentLength === size && head.Metadata?.[SHA256_METADATA] === sha256
  } catch (error) {
    const name = s3ErrorName(error)
    if (name === 'NotFound' || name === 'NoSuchKey' || s3Status(error) === 404) return false
    throw fromS3Error(error, s3Url(loc), 'looking up')
  }
}

export type ListedParts = Map<number, {etag: string; size: number; sha256?: string; crc32?: string}>

/** The store's own list of what it holds; 'unsupported' for stores without ListParts, 'gone' for an upload that was aborted or expired. */
export async function listUploadedParts(client: S3Client, loc: S3Location, uploadId: string): Promise<ListedParts | 'unsupported' | 'gone'> {
  const parts: ListedParts = new Map()
  let marker: string | undefined
  try {
    for (;;) {
      const page = await withRetry(() => client.send(new ListPartsCommand({Bucket: loc.bucket, Key: loc.key, UploadId: uploadId, PartNumberMarker: marker})))
      for (const p of page.Parts ?? []) {
        if (p.PartNumber && p.ETag) parts.set(p.PartNumber, {etag: p.ETag, size: p.Size ?? -1, sha256: p.ChecksumSHA256, crc32: p.ChecksumCRC32})
      }
      if (!page.IsTruncated) return parts
      marker = page.NextPartNumberMarker
    }
  } catch (error) {
    const name = s3ErrorName(error)
    const status = s3Status(error)
    if (name === 'NoSuchUpload' || status === 404) return 'gone'
    if (name === 'NotImplemented' || name === 'MethodNotAllowed' || status === 405 || status === 501) return 'unsupported'
    throw fromS3Error(error, s3Url(loc), 'listing the uploaded parts of')
  }
}

/** A listed part counts only if its size and SHA-256 are the ones this bundle's part has. */
function matchListedParts(listed: ListedParts, partSha256: string[], size: number, partSize: number): Map<number, string> {
  const ok = new Map<number, string>()
  for (const [n, p] of listed) {
    const expected = partSha256[n - 1]
    if (!expected || p.size !== partLength(n, size, partSize)) continue
    if (p.sha256 !== undefined && p.sha256 !== Buffer.from(expected, 'hex').toString('base64')) continue
    ok.set(n, p.etag)
  }
  return ok
}

async function uploadPart(client: S3Client, loc: S3Location, uploadId: string, file: string, n: number, size: number, partSize: number, sha256: string): Promise<string> {
  const start = (n - 1) * partSize
  const length = partLength(n, size, partSize)
  // a fresh stream per attempt: a body is consumed by the attempt that sends it
  return sendPart(client, loc, uploadId, n, length, sha256Checksum(sha256), () => (length === 0 ? Buffer.alloc(0) : createReadStream(file, {start, end: start + length - 1, highWaterMark: READ_CHUNK})))
}

/**
 * A part's integrity checksum as S3 carries it: the algorithm named at CreateMultipartUpload, and
 * the digest in base64 (big-endian), sent as `x-amz-checksum-ALGORITHM` on the part and repeated in
 * CompleteMultipartUpload. The store recomputes it over the bytes it received and refuses the part
 * (BadDigest) when they differ.
 */
export interface PartChecksum {
  algorithm: 'SHA256' | 'CRC32'
  base64: string
}

export function sha256Checksum(hex: string): PartChecksum {
  return {algorithm: 'SHA256', base64: Buffer.from(hex, 'hex').toString('base64')}
}

export function crc32Checksum(crc: number): PartChecksum {
  const b = Buffer.allocUnsafe(4)
  b.writeUInt32BE(crc >>> 0)
  return {algorithm: 'CRC32', base64: b.toString('base64')}
}

/** The checksum field of a part in UploadPart, CompleteMultipartUpload and ListParts. */
export function checksumField(c: PartChecksum): {ChecksumSHA256: string} | {ChecksumCRC32: string} {
  return c.algorithm === 'SHA256' ? {ChecksumSHA256: c.base64} : {ChecksumCRC32: c.base64}
}

/**
 * Sends one part of a multipart upload under the retry policy, with its checksum as
 * `x-amz-checksum-*` (the store rejects a part damaged on the way). A SHA-256 is also the signed
 * payload hash (the signature then covers the bytes; the signer would otherwise read the part again
 * to compute it); a part sent with a CRC32 is signed as UNSIGNED-PAYLOAD, its CRC32 header being
 * signed instead. `body` is called once per attempt. Used by publish (parts read from the file, each
 * with its SHA-256) and by `bundle build --out s3://` (parts cut from the tar stream, each with its
 * CRC32: see S3MultipartSink).
 */
export async function sendPart(client: S3Client, loc: S3Location, uploadId: string, n: number, length: number, checksum: PartChecksum, body: () => Buffer | Readable, abortSignal?: AbortSignal): Promise<string> {
  const payloadHash = checksum.algorithm === 'SHA256' ? Buffer.from(checksum.base64, 'base64').toString('hex') : 'UNSIGNED-PAYLOAD'
  try {
    return await withRetry(async () => {
      const command = new UploadPartCommand({
        Bucket: loc.bucket,
        Key: loc.key,
        UploadId: uploadId,
        PartNumber: n,
        ContentLength: length,
        ...checksumField(checksum),
        Body: body(),
      })
      command.middlewareStack.add(
        (next) => async (args) => {
          const request = args.request as {headers?: Record<string, string>}
          if (request.headers) request.headers['x-amz-content-sha256'] = payloadHash
          return next(args)
        },
        {step: 'build', name: 'airlockPayloadSha256'},
      )
      const out = await client.send(command, abortSignal ? {abortSignal} : {})
      if (!out.ETag) throw new AirlockError('S3_ERROR', `the store returned no ETag for part ${n} of ${s3Url(loc)}`, {subject: s3Url(loc)})
      return out.ETag
    })
  } catch (error) {
    throw fromS3Error(error, `${s3Url(loc)} part ${n}`, 'uploading')
  }
}

async function completeUpload(client: S3Client, loc: S3Location, record: UploadRecord, uploaded: Map<number, string>, recordPath: string): Promise<void> {
  const parts = [...uploaded.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([n, etag]) => ({PartNumber: n, ETag: etag, ChecksumSHA256: Buffer.from(record.partSha256[n - 1] as string, 'hex').toString('base64')}))
  try {
    await withRetry(() => client.send(new CompleteMultipartUploadCommand({Bucket: loc.bucket, Key: loc.key, UploadId: record.uploadId, MultipartUpload: {Parts: parts}})))
  } catch (error) {
    const name = s3ErrorName(error)
    if (name === 'InvalidPart' || name === 'NoSuchUpload' || name === 'InvalidPartOrder') {
      // The store no longer has what the record says: the next run starts a fresh upload.
      await rm(recordPath, {force: true})
      throw new AirlockError('S3_ERROR', `the store refused to assemble ${s3Url(loc)}: ${name}`, {subject: s3Url(loc), hint: 'run the same publish again: it starts a new upload', cause: error})
    }
    throw fromS3Error(error, s3Url(loc), 'completing the upload of')
  }
}

export async function putChecksumObject(client: S3Client, loc: S3Location, sha256: string): Promise<void> {
  const key = `${loc.key}${CHECKSUM_SUFFIX}`
  await withRetry(() => client.send(new PutObjectCommand({Bucket: loc.bucket, Key: key, Body: `${sha256}  ${basename(loc.key)}\n`, ContentType: 'text/plain'}))).catch((error) => {
    throw fromS3Error(error, s3Url({bucket: loc.bucket, key}), 'writing')
  })
}

const readRecord = (path: string) => readRecordFile<UploadRecord>(path, (r) => typeof r.uploadId === 'string' && Array.isArray(r.partSha256))
const writeRecord = writeRecordFile
