import {createHash} from 'node:crypto'
import {readdir, readFile, rm, stat} from 'node:fs/promises'
import {createRequire} from 'node:module'
import {join} from 'node:path'
import type {AddressInfo} from 'node:net'

import {makeTempDir, registerCleanup} from './cleanup.js'

interface KoaContext {
  method: string
  path: string
  query: Record<string, string | string[] | undefined>
  status: number
  type: string
  body: unknown
}
type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>

interface S3rverInstance {
  run(): Promise<AddressInfo>
  close(): Promise<void>
  /** Koa's middleware list (s3rver is a Koa application), composed when run() starts listening */
  middleware: Middleware[]
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance

// s3rver ships no type declarations; it is loaded as the CommonJS module it is.
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass

export interface TestS3 {
  endpoint: string
  bucket: string
  /** the folder s3rver keeps objects in (tests damage objects here) */
  directory: string
  /** credentials s3rver accepts, as the AWS SDK reads them from the environment */
  env: NodeJS.ProcessEnv
  /** the file on disk that holds `key`'s bytes */
  objectFile(key: string): Promise<string>
  /** the ids of the multipart uploads the store holds (started, neither completed nor aborted) */
  uploads(): Promise<string[]>
  /** the folder holding an upload's parts (one file per part number) */
  uploadDir(uploadId: string): string
  /** requests the added multipart calls answered, by name (ListParts, AbortMultipartUpload) */
  calls: Map<string, number>
  stop(): Promise<void>
}

const xml = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`)

/**
 * ListParts and AbortMultipartUpload, which s3rver does not have and S3, MinIO and Ceph RGW do, served
 * from s3rver's own store (an upload is a folder of part files and their MD5s) the way the S3 API
 * defines them: what a build's --resume and its abort on failure call. The rest stays s3rver's.
 */
function multipartApi(uploadsDir: string, calls: Map<string, number>): Middleware {
  const noSuchUpload = (ctx: KoaContext, id: string) => {
    ctx.status = 404
    ctx.type = 'application/xml'
    ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message><UploadId>${xml(id)}</UploadId></Error>`
  }
  return async (ctx, next) => {
    const id = typeof ctx.query.uploadId === 'string' ? ctx.query.uploadId : undefined
    const [, bucket, ...rest] = ctx.path.split('/')
    if (id === undefined || !bucket || rest.length === 0 || (ctx.method !== 'GET' && ctx.method !== 'DELETE')) return next()
    const name = ctx.method === 'GET' ? 'ListParts' : 'AbortMultipartUpload'
    calls.set(name, (calls.get(name) ?? 0) + 1)
    const folder = join(uploadsDir, id)
    if (!/^[\w-]+$/.test(id) || !(await stat(folder).catch(() => undefined))?.isDirectory()) return noSuchUpload(ctx, id)
    if (ctx.method === 'DELETE') {
      await rm(folder, {recursive: true, force: true})
      ctx.status = 204
      return
    }
    const marker = Number(ctx.query['part-number-marker'] ?? 0)
    const numbers = (await readdir(folder)).filter((f) => /^\d+$/.test(f)).map(Number).filter((n) => n > marker).sort((a, b) => a - b)
    const parts = await Promise.all(
      numbers.map(async (n) => {
        const [info, md5] = await Promise.all([stat(join(folder, String(n))), readFile(join(folder, `${n}.md5`), 'utf8').catch(() => '')])
        return `<Part><PartNumber>${n}</PartNumber><LastModified>${info.mtime.toISOString()}</LastModified><ETag>&quot;${xml(md5)}&quot;</ETag><Size>${info.size}</Size></Part>`
      }),
    )
    ctx.status = 200
    ctx.type = 'application/xml'
    ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>${xml(bucket)}</Bucket><Key>${xml(decodeURIComponent(rest.join('/')))}</Key><UploadId>${xml(id)}</UploadId><PartNumberMarker>${marker}</PartNumberMarker><NextPartNumberMarker>${numbers.at(-1) ?? marker}</NextPartNumberMarker><MaxParts>1000</MaxParts><IsTruncated>false</IsTruncated>${parts.join('')}</ListPartsResult>`
  }
}

/**
 * A real S3-compatible server (s3rver) on 127.0.0.1, a random port and a temp folder, with one bucket.
 * `multipart: true` adds ListParts and AbortMultipartUpload (see multipartApi).
 */
export async function startS3(bucket = 'airlock-test', options: {multipart?: boolean} = {}): Promise<TestS3> {
  const directory = await makeTempDir()
  const server = new S3rver({address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{name: bucket}]})
  const uploadsDir = join(directory, bucket, '._S3rver_uploads')
  const calls = new Map<string, number>()
  if (options.multipart) server.middleware.unshift(multipartApi(uploadsDir, calls))
  const address = await server.run()
  const stop = registerCleanup(`s3rver on ${address.port}`, async () => {
    await server.close()
    await rm(directory, {recursive: true, force: true})
  })
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket,
    directory,
    env: {AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null'},
    async objectFile(key: string) {
      // s3rver stores KEY as <bucket>/KEY._S3rver_object
      const path = join(directory, bucket, `${key}._S3rver_object`)
      await readdir(join(path, '..'))
      return path
    },
    async uploads() {
      return readdir(uploadsDir).catch(() => [])
    },
    uploadDir: (uploadId: string) => join(uploadsDir, uploadId),
    calls,
    stop,
  }
}

/** SHA-256 (hex) of a whole file: the object a store holds against the file built locally. */
export async function sha256Of(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex')
}
