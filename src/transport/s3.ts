import {S3Client, S3ServiceException} from '@aws-sdk/client-s3'
import {Agent as HttpAgent} from 'node:http'
import {Agent as HttpsAgent} from 'node:https'

import {AirlockError} from '../ui/errors.js'
import {afterAttempts, withRetries} from '../util/retry.js'

// The SDK in use supports the Node range airlock declares (package.json engines: >=20.19; the SDK's
// own engines: >=20); its notice about releases after January 2027 concerns SDK versions airlock does
// not ship, so users are not shown it. This is the switch the SDK documents for that notice alone; a
// user who sets it to anything else still sees the notice.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

export interface S3Location {
  bucket: string
  /** the object key; for a destination ending in `/` this is the prefix (ends with `/`) */
  key: string
}

export interface S3ClientOptions {
  /** S3-compatible store (MinIO, Ceph, s3rver): path-style addressing is used with it */
  endpoint?: string
  region?: string
  /** sockets kept open: one per concurrent request */
  concurrency: number
}

/** `s3://bucket/key` (or `s3://bucket/prefix/`); the bucket name is checked the way S3 checks it. */
export function parseS3Url(url: string, flag = 'url'): S3Location {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(url)
  if (!m || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(m[1] ?? '')) {
    throw new AirlockError('USAGE', `${url} is not an s3://BUCKET/KEY address`, {subject: flag, hint: 'write it as s3://my-bucket/releases/ (a prefix) or s3://my-bucket/releases/demo.tar'})
  }
  return {bucket: m[1] as string, key: m[2] ?? ''}
}

export function s3Url(loc: S3Location): string {
  return `s3://${loc.bucket}/${loc.key}`
}

/**
 * One client for a whole transfer. Credentials come from the SDK's standard chain (environment,
 * shared config and credentials files, AWS_PROFILE, SSO, instance roles): airlock never takes them
 * on the command line.
 *
 * Checksums are computed and validated by airlock itself (a SHA-256 per part, and of the whole
 * object), so the SDK's newer default flexible checksums are set to WHEN_REQUIRED: S3-compatible
 * stores that predate them (s3rver, older MinIO and Ceph) would otherwise receive aws-chunked bodies
 * with trailing checksums they do not understand and store the framing as data.
 *
 * The SDK's own retries are off (maxAttempts 1): every request goes through withRetry, the one retry
 * policy airlock has for remote stores, so attempts are counted once and named in the error, and a
 * request body (a one-shot file stream) is made afresh for each attempt.
 */
export function createS3Client(options: S3ClientOptions): S3Client {
  const sockets = Math.max(options.concurrency, 1) + 2
  const region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? (options.endpoint ? 'us-east-1' : undefined)
  return new S3Client({
    ...(region ? {region} : {}),
    ...(options.endpoint ? {endpoint: options.endpoint, forcePathStyle: true} : {}),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
    // options rather than a handler instance, so that no transitive @smithy package is imported directly
    requestHandler: {
      httpAgent: new HttpAgent({keepAlive: true, maxSockets: sockets}),
      httpsAgent: new HttpsAgent({keepAlive: true, maxSockets: sockets}),
      connectionTimeout: 30_000,
    },
  })
}

/** The S3 error name (NoSuchKey, NoSuchUpload, AccessDenied, ...) or undefined for non-S3 errors. */
export function s3ErrorName(err: unknown): string | undefined {
  if (err instanceof S3ServiceException) return err.name
  const e = err as {name?: string; $metadata?: unknown} | undefined
  return e && e.$metadata !== undefined ? e.name : undefined
}

export function s3Status(err: unknown): number | undefined {
  return (err as {$metadata?: {httpStatusCode?: number}} | undefined)?.$metadata?.httpStatusCode
}

/** Maps what the SDK throws to an AirlockError naming the object; anything already mapped passes through. */
export function fromS3Error(err: unknown, subject: string, doing: string): unknown {
  if (err instanceof AirlockError) return err
  const e = err as NodeJS.ErrnoException & {name?: string}
  const code = e?.code ?? (e?.cause as NodeJS.ErrnoException | undefined)?.code
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ETIMEDOUT' || code === 'ECONNRESET' || code === 'EHOSTUNREACH') {
    return new AirlockError('REMOTE_UNREACHABLE', `cannot reach the S3 endpoint while ${doing} ${subject}: ${code}${afterAttempts(err)}`, {subject, hint: 'check --endpoint, the network and any proxy settings', cause: err})
  }
  if (e?.name === 'CredentialsProviderError' || /credential/i.test(e?.message ?? '')) {
    return new AirlockError('S3_ERROR', `no usable AWS credentials while ${doing} ${subject}: ${e.message}`, {subject, hint: 'set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or AWS_PROFILE for a profile in ~/.aws/config', cause: err})
  }
  if (/region is missing/i.test(e?.message ?? '')) {
    return new AirlockError('USAGE', `no AWS region for ${subject}`, {subject: '--region', hint: 'pass --region or set AWS_REGION', cause: err})
  }
  const name = s3ErrorName(err)
  if (name) {
    const status = s3Status(err)
    const hints: Record<string, string> = {
      NoSuchBucket: 'check the bucket name and --endpoint/--region',
      NoSuchKey: 'check the key; `aws s3 ls` lists what the bucket holds',
      NotFound: 'check the key; `aws s3 ls` lists what the bucket holds',
      AccessDenied: 'the credentials in use may not access this bucket; check AWS_PROFILE and the bucket policy',
      Forbidden: 'the credentials in use may not access this bucket; check AWS_PROFILE and the bucket policy',
      PreconditionFailed: 'the object changed while it was being read; fetch again',
    }
    return new AirlockError('S3_ERROR', `S3 said ${name}${status ? ` (HTTP ${status})` : ''} while ${doing} ${subject}: ${e.message}${afterAttempts(err)}`, {subject, hint: hints[name] ?? 'check the bucket, the key and the credentials in use', cause: err})
  }
  return err
}

/** Worth another attempt: the network, throttling, or a 5xx. A 4xx is an answer, not an accident. */
export function isTransient(err: unknown): boolean {
  if (err instanceof AirlockError) return false
  const status = s3Status(err)
  if (status !== undefined) return status >= 500 || status === 429 || s3ErrorName(err) === 'SlowDown' || s3ErrorName(err) === 'RequestTimeout'
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'ETIMEDOUT' || code === 'ECONNREFUSED' || (err as Error | undefined)?.name === 'TimeoutError'
}

/** Runs `fn` under the retry policy (a fresh request body each attempt) while it fails transiently. */
export async function withRetry<T>(fn: () => Promise<T>): Promise<T> {
  return withRetries(fn, {retryable: isTransient})
}
