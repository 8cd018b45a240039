import {GetObjectCommand, HeadObjectCommand, type S3Client} from '@aws-sdk/client-s3'
import {open, rm, stat, type FileHandle} from 'node:fs/promises'
import type {Readable} from 'node:stream'
import pLimit from 'p-limit'

import {HashPool} from '../bundle/hash-pool.js'
import {verifyBundle, type VerifyResult} from '../bundle/verify.js'
import type {Trust} from '../signing/trust.js'
import {AirlockError, fromFsError} from '../ui/errors.js'
import {pathExists, renameDurably} from '../util/fs.js'
import {CHECKSUM_SUFFIX, SHA256_METADATA} from './publish.js'
import {readRecordFile, writeRecordFile} from './record.js'
import {createS3Client, fromS3Error, parseS3Url, s3ErrorName, s3Status, s3Url, withRetry, type S3Location} from './s3.js'

export interface FetchOptions {
  url: string
  out: string
  endpoint?: string
  region?: string
  /** bytes per ranged GET */
  partSize: number
  concurrency: number
  /** also verify the bundle's signature and every digest before it takes its final name */
  trust?: Trust
  force?: boolean
}

export interface FetchResult {
  url: string
  out: string
  size: number
  sha256: string
  /** where the expected SHA-256 came from */
  sha256From: 'metadata' | 'checksum-object' | 'both'
  /** bytes an earlier, interrupted run had already written */
  resumedBytes: number
  verified?: VerifyResult
}

export type FetchProgress = (phase: 'downloading' | 'verifying', done: number, total: number) => void

/** Beside OUT.partial: which ranges are complete, so a re-run asks only for the rest. */
interface ProgressRecord {
  version: 1
  url: string
  etag: string
  size: number
  sha256: string
  partSize: number
  done: number[]
}

export function partialPaths(out: string): {partial: string; record: string} {
  return {partial: `${out}.partial`, record: `${out}.partial.json`}
}

/**
 * Where a download that matched the published SHA-256 but was signed by a key the given --trust does
 * not accept is kept, with its record: a rerun with the right key verifies it again instead of
 * downloading it again. Trust is decided by the key, not by the store, so the bytes are not lost.
 */
export function untrustedPaths(out: string): {file: string; record: string} {
  return {file: `${out}.untrusted`, record: `${out}.untrusted.json`}
}

/** Refusals about who signed, not about the bytes: the download itself was complete and exact. */
const TRUST_CODES = new Set(['SIGNER_UNTRUSTED', 'SIGNATURE_INVALID', 'CERT_INVALID'])

/**
 * Downloads an object with parallel ranged GETs into OUT.partial, each range written at its offset.
 * The SHA-256 is computed in order as the completed prefix grows, overlapping the download; the file
 * takes its final name only when it equals the published value. An interruption leaves OUT.partial
 * and its progress record, and the same command continues from them; a mismatch removes both.
 */
export async function fetchBundle(options: FetchOptions, onProgress: FetchProgress = () => {}): Promise<FetchResult> {
  const loc = parseS3Url(options.url, 'url')
  if (loc.key === '' || loc.key.endsWith('/')) {
    throw new AirlockError('USAGE', `${options.url} names a prefix, not an object`, {subject: 'url', hint: 'give the bundle\'s full key, e.g. s3://bucket/releases/demo.tar'})
  }
  const url = s3Url(loc)
  if (!options.force && (await pathExists(options.out))) {
    throw new AirlockError('FILE_EXISTS', `${options.out} already exists`, {subject: options.out, hint: 'remove it, choose another --out, or pass --force'})
  }
  const client = createS3Client({endpoint: options.endpoint, region: options.region, concurrency: options.concurrency})
  const {partial, record: recordPath} = partialPaths(options.out)
  try {
    const head = await withRetry(() => client.send(new HeadObjectCommand({Bucket: loc.bucket, Key: loc.key}))).catch((error) => {
      throw fromS3Error(error, url, 'looking up')
    })
    const size = head.ContentLength ?? 0
    const etag = head.ETag ?? ''
    const {sha256, from} = await publishedSha256(client, loc, head.Metadata?.[SHA256_METADATA])

    const ranges = Math.max(1, Math.ceil(size / options.partSize))
    const fresh: ProgressRecord = {version: 1, url, etag, size, sha256, partSize: options.partSize, done: []}
    let record = await readRecord(recordPath)
    let resumable = record !== undefined && record.url === url && record.etag === etag && record.size === size && record.sha256 === sha256 && record.partSize === options.partSize && (await sizeOf(partial)) === size
    const kept = untrustedPaths(options.out)
    const keptRecord = resumable ? undefined : await readRecord(kept.record)
    if (keptRecord && keptRecord.url === url && keptRecord.etag === etag && keptRecord.size === size && keptRecord.sha256 === sha256 && (await sizeOf(kept.file)) === size) {
      // an earlier run downloaded every byte and stopped at the signer: hash and verify it again, no download
      await renameDurably(kept.file, partial)
      await rm(kept.record, {force: true})
      record = {...fresh, done: Array.from({length: ranges}, (_, i) => i)}
      resumable = true
    }
    if (!resumable) record = fresh
    const state = record as ProgressRecord
    const done = new Set(state.done.filter((i) => Number.isInteger(i) && i >= 0 && i < ranges))
    const resumedBytes = [...done].reduce((sum, i) => sum + rangeLength(i, size, options.partSize), 0)

    let handle: FileHandle
    try {
      handle = await open(partial, resumable ? 'r+' : 'w+')
      if (!resumable) await handle.truncate(size)
    } catch (error) {
      throw fromFsError(error, partial)
    }
    let actual: string
    try {
      state.done = [...done]
      await writeRecord(recordPath, state)
      const hasher = new PrefixHasher(partial, size, options.partSize, ranges)
      let written = resumedBytes
      onProgress('downloading', written, size)
      let saving = Promise.resolve()
      const limit = pLimit(options.concurrency)
      const todo = Array.from({length: ranges}, (_, i) => i).filter((i) => !done.has(i))
      hasher.advance(done)
      try {
        await Promise.all(
          todo.map((i) =>
            limit(async () => {
              await downloadRange(client, loc, etag, handle, i, size, options.partSize, partial)
              done.add(i)
              written += rangeLength(i, size, options.partSize)
              onProgress('downloading', written, size)
              hasher.advance(done)
              // recorded only after the bytes are written, so the record never claims a range that is not on disk
              state.done = [...done]
              saving = saving.then(() => writeRecord(recordPath, state))
              await saving
            }),
          ),
        )
      } catch (error) {
        limit.clearQueue()
        await hasher.abandon()
        throw error
      }
      actual = await hasher.finish()
    } finally {
      await handle.close()
    }

    if (actual !== sha256) {
      await rm(partial, {force: true})
      await rm(recordPath, {force: true})
      throw new AirlockError('DIGEST_MISMATCH', `${url} has sha256:${actual}, published as sha256:${sha256}`, {
        subject: url,
        hint: 'the object in the bucket was changed or damaged after it was published; publish it again from the original bundle',
      })
    }
    let verified: VerifyResult | undefined
    if (options.trust) {
      onProgress('verifying', 0, size)
      try {
        verified = {...(await verifyBundle(partial, options.trust)), bundle: options.out}
      } catch (error) {
        if (error instanceof AirlockError && TRUST_CODES.has(error.code)) {
          const kept = untrustedPaths(options.out)
          await renameDurably(partial, kept.file)
          await writeRecord(kept.record, {...state, done: Array.from({length: ranges}, (_, i) => i)})
          await rm(recordPath, {force: true})
          throw new AirlockError(error.code, `${error.message}; the download matches the published sha256:${sha256} and is kept as ${kept.file}`, {
            subject: error.subject,
            hint: `run the same fetch again with the signer's key or CA as --trust: it verifies ${kept.file} again without downloading it; or delete ${kept.file} and ${kept.record}`,
            cause: error,
          })
        }
        await rm(partial, {force: true})
        await rm(recordPath, {force: true})
        throw error
      }
    }
    await renameDurably(partial, options.out)
    await rm(recordPath, {force: true})
    return {url, out: options.out, size, sha256, sha256From: from, resumedBytes, ...(verified ? {verified} : {})}
  } finally {
    client.destroy()
  }
}

function rangeLength(i: number, size: number, partSize: number): number {
  return Math.max(0, Math.min(partSize, size - i * partSize))
}

/**
 * The published SHA-256: the object's metadata, and the `KEY.sha256` object beside it. When both are
 * there they must agree; when neither is, there is nothing to check against and the fetch refuses.
 */
async function publishedSha256(client: S3Client, loc: S3Location, fromMetadata: string | undefined): Promise<{sha256: string; from: FetchResult['sha256From']}> {
  const checksumKey = `${loc.key}${CHECKSUM_SUFFIX}`
  let fromObject: string | undefined
  try {
    const out = await withRetry(() => client.send(new GetObjectCommand({Bucket: loc.bucket, Key: checksumKey})))
    const text = (await out.Body?.transformToString('utf8')) ?? ''
    fromObject = /^([0-9a-f]{64})\b/i.exec(text.trim())?.[1]?.toLowerCase()
    if (!fromObject) throw new AirlockError('INPUT_INVALID', `${s3Url({bucket: loc.bucket, key: checksumKey})} does not start with a SHA-256`, {subject: s3Url({bucket: loc.bucket, key: checksumKey}), hint: 'publish the bundle again with airlock bundle publish'})
  } catch (error) {
    if (!(s3ErrorName(error) === 'NoSuchKey' || s3Status(error) === 404)) throw fromS3Error(error, s3Url({bucket: loc.bucket, key: checksumKey}), 'reading')
  }
  const meta = fromMetadata && /^[0-9a-f]{64}$/i.test(fromMetadata) ? fromMetadata.toLowerCase() : undefined
  if (meta && fromObject && meta !== fromObject) {
    throw new AirlockError('DIGEST_MISMATCH', `${s3Url(loc)} metadata says sha256:${meta}, ${checksumKey} says sha256:${fromObject}`, {subject: s3Url(loc), hint: 'one of them was replaced after publishing; publish the bundle again'})
  }
  const sha256 = meta ?? fromObject
  if (!sha256) {
    throw new AirlockError('INPUT_INVALID', `${s3Url(loc)} has no published SHA-256 (no x-amz-meta-sha256, no ${checksumKey})`, {subject: s3Url(loc), hint: 'publish bundles with airlock bundle publish, which records both'})
  }
  return {sha256, from: meta && fromObject ? 'both' : meta ? 'metadata' : 'checksum-object'}
}

async function downloadRange(client: S3Client, loc: S3Location, etag: string, handle: FileHandle, i: number, size: number, partSize: number, partial: string): Promise<void> {
  const start = i * partSize
  const length = rangeLength(i, size, partSize)
  if (length === 0) return
  try {
    await withRetry(async () => {
      // If-Match: a bundle replaced mid-download must not be stitched together from two versions.
      const out = await client.send(new GetObjectCommand({Bucket: loc.bucket, Key: loc.key, Range: `bytes=${start}-${start + length - 1}`, ...(etag ? {IfMatch: etag} : {})}))
      let pos = start
      for await (const data of out.Body as Readable) {
        const chunk = data as Buffer
        if (pos + chunk.length > start + length) throw new AirlockError('SIZE_MISMATCH', `the store sent more than the ${length} bytes asked for at ${start}`, {subject: s3Url(loc)})
        await writeFully(handle, chunk, pos, partial)
        pos += chunk.length
      }
      if (pos !== start + length) throw Object.assign(new Error(`range at ${start} ended after ${pos - start} of ${length} bytes`), {code: 'ECONNRESET'})
    })
  } catch (error) {
    throw fromS3Error(error, s3Url(loc), 'downloading')
  }
}

async function writeFully(handle: FileHandle, chunk: Buffer, position: number, path: string): Promise<void> {
  try {
    for (let off = 0; off < chunk.length; ) {
      const {bytesWritten} = await handle.write(chunk, off, chunk.length - off, position + off)
      off += bytesWritten
    }
  } catch (error) {
    throw fromFsError(error, path)
  }
}

/**
 * Hashes OUT.partial from the start as far as the ranges are complete, reading back what was just
 * written (still in the page cache) on a worker thread, so this thread keeps receiving and writing
 * and the digest is ready soon after the last byte lands instead of costing a second pass at the end.
 */
class PrefixHasher {
  private next = 0
  private readonly pool = new HashPool()
  private readonly job: ReturnType<HashPool['fileRangeJob']>

  constructor(
    private readonly path: string,
    private readonly size: number,
    private readonly partSize: number,
    private readonly ranges: number,
  ) {
    this.job = this.pool.fileRangeJob(path, size)
  }

  advance(done: ReadonlySet<number>): void {
    let upTo = this.next
    while (upTo < this.ranges && done.has(upTo)) upTo++
    if (upTo === this.next) return
    this.job.addRange(this.next * this.partSize, Math.min(upTo * this.partSize, this.size))
    this.next = upTo
  }

  async finish(): Promise<string> {
    try {
      if (this.next < this.ranges) throw new Error('internal: not every range was hashed')
      return await this.job.digest()
    } catch (error) {
      if ((error as {code?: string}).code === 'TRUNCATED') throw new AirlockError('TRUNCATED', `${this.path} ended early: ${(error as Error).message}`, {subject: this.path})
      throw error
    } finally {
      await this.pool.close()
    }
  }

  async abandon(): Promise<void> {
    await this.pool.close()
  }
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size
  } catch {
    return undefined
  }
}

const readRecord = (path: string) => readRecordFile<ProgressRecord>(path, (r) => Array.isArray(r.done))
const writeRecord = writeRecordFile
