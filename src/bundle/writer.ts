import {createHash, type KeyObject} from 'node:crypto'
import {createWriteStream} from 'node:fs'
import type {Writable} from 'node:stream'
import {finished} from 'node:stream/promises'
import {createGzip} from 'node:zlib'

import {signDetached} from '../signing/sign.js'
import {AirlockError, fromFsError} from '../ui/errors.js'
import {cleanupOnInterrupt, withPartialFile} from '../util/partial.js'
import {isS3Url} from '../transport/s3-input.js'
import type {S3SinkResult} from '../transport/s3-sink.js'
import type {EntrySource} from './entry.js'
import {sharedHashPool} from './hash-pool.js'
import {SIG, SIGNER, SUMS, renderSums} from './format.js'
import {TarWriter} from './tar-writer.js'

export interface BundleSigner {
  key: KeyObject
  /** signer.pem: the certificate chain, or the public key */
  pem: string
}

export interface WriteBundleOptions {
  out: string
  root: string
  /** everything but the three head entries, in the order to write them */
  entries: EntrySource[]
  signer: BundleSigner
  mtime: Date
  gzip?: boolean
  onBytes?: (written: number, total: number) => void
  /** how to upload when `out` is s3://BUCKET/KEY */
  s3?: S3OutOptions
}

/** `bundle build --out s3://`: where and how the multipart upload goes */
export interface S3OutOptions {
  endpoint?: string
  region?: string
  partSize: number
  concurrency: number
  force?: boolean
  /** keep the upload on failure, and continue the one recorded there (bundle build --resume) */
  resume?: {recordPath: string}
  onNote?: (text: string) => void
}

const DEFAULT_S3_OUT: S3OutOptions = {partSize: 8 * 1024 * 1024, concurrency: 4}

export interface WrittenBundle {
  out: string
  /** bytes of entry content (not counting tar headers) */
  contentBytes: number
  entries: number
  /** the uploaded object, for a build into S3 */
  s3?: S3SinkResult
}

/**
 * Streams the bundle into OUT.partial: SHA256SUMS, its signature and the signer first, then every
 * entry, each hashed as it is copied. Renamed to OUT only after the last byte is flushed. For
 * `s3://BUCKET/KEY` the same bytes go into a multipart upload instead (no local copy), which is
 * completed only after the last byte and aborted on any failure or interrupt.
 */
export async function writeBundle(options: WriteBundleOptions): Promise<WrittenBundle> {
  const {root, entries} = options
  const seen = new Set<string>()
  for (const e of entries) {
    if (seen.has(e.path)) throw new AirlockError('SPEC_INVALID', `two entries of the bundle would be named ${e.path}`, {subject: e.path, hint: 'give each file a distinct "as" name'})
    seen.add(e.path)
  }
  const sums = Buffer.from(renderSums([...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))))
  const signature = signDetached(sums, options.signer.key)
  const total = entries.reduce((n, e) => n + e.size, 0)

  const streamInto = async (target: Writable): Promise<number> => {
    const sink = options.gzip ? createGzip({level: 6}) : target
    if (options.gzip) sink.pipe(target)
    const tar = new TarWriter(sink)
    const failed = new Promise<never>((_, reject) => {
      target.once('error', reject)
      sink.once('error', reject)
    })
    failed.catch(() => {})
    const mtime = options.mtime
    let written = 0
    const work = (async () => {
      for (const [name, data] of [[SUMS, sums], [SIG, signature], [SIGNER, Buffer.from(options.signer.pem)]] as const) {
        await tar.header({path: `${root}/${name}`, size: data.length, mode: 0o644, mtime})
        await tar.write(data)
        await tar.pad(data.length)
      }
      for (const entry of entries) {
        await tar.header({path: `${root}/${entry.path}`, size: entry.size, mode: entry.mode ?? (entry.role === 'executable' ? 0o755 : 0o644), mtime})
        // re-hashed on a worker while this thread copies: a byte changed since planning aborts the build
        const hash = sharedHashPool().begin(entry.size)
        let n = 0
        for await (const chunk of await entry.open()) {
          n += chunk.length
          if (n > entry.size) break
          await hash.update(chunk)
          await tar.write(chunk)
          written += chunk.length
          options.onBytes?.(written, total)
        }
        const digest = await hash.digest()
        if (n !== entry.size) {
          throw new AirlockError('SIZE_MISMATCH', `${entry.label ?? entry.path} gave ${n} bytes, expected ${entry.size}`, {subject: entry.label ?? entry.path, hint: 'the source changed during the build, or the registry sent a wrong size; build again'})
        }
        if (digest !== entry.sha256) {
          throw new AirlockError('DIGEST_MISMATCH', `${entry.label ?? entry.path} has sha256:${digest}, expected sha256:${entry.sha256}`, {subject: entry.label ?? entry.path, hint: 'the source changed during the build or was corrupted in transit; build again'})
        }
        await tar.pad(entry.size)
      }
      await tar.end()
      sink.end()
      await finished(target)
    })()
    try {
      await Promise.race([work, failed])
    } catch (error) {
      sink.destroy()
      target.destroy()
      throw error
    }
    return written
  }

  if (isS3Url(options.out)) {
    // the AWS SDK is loaded only for a build into S3; the tar overhead is a small fraction of the content
    const {S3MultipartSink} = await import('../transport/s3-sink.js')
    const s3 = options.s3 ?? DEFAULT_S3_OUT
    // every byte of the tar follows from these (each entry is checked against its listed digest as it streams)
    const identity = () => createHash('sha256').update(sums).update(signature).update(options.signer.pem).update(`\0${root}\0${options.mtime.toISOString()}\0${options.gzip ? `gzip ${process.versions.zlib}` : 'tar'}`).digest('hex')
    const resume = s3.resume ? {recordPath: s3.resume.recordPath, identity: identity(), created: options.mtime.toISOString()} : undefined
    const upload = await S3MultipartSink.start(options.out, {...s3, resume, expectedSize: total + total / 64 + (entries.length + 8) * 2048})
    const unregister = cleanupOnInterrupt(() => upload.abort())
    try {
      const written = await streamInto(upload)
      return {out: options.out, contentBytes: written, entries: entries.length + 3, s3: upload.uploaded()}
    } catch (error) {
      await upload.abort()
      throw error
    } finally {
      unregister()
      upload.close()
    }
  }

  return withPartialFile(options.out, async (partial) => {
    const file = createWriteStream(partial, {flags: 'wx', mode: 0o644, highWaterMark: 1 << 20, flush: true})
    try {
      const written = await streamInto(file)
      return {out: options.out, contentBytes: written, entries: entries.length + 3}
    } catch (error) {
      // a full disk or a read-only folder is the user's to fix: say which file and what to do
      throw fromFsError(error, options.out, 'bundle')
    }
  })
}
