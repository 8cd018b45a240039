import {createHash} from 'node:crypto'
import type {IncomingMessage, OutgoingHttpHeaders} from 'node:http'
import {open} from 'node:fs/promises'
import type {Readable} from 'node:stream'

import {MAX_MANIFEST_BYTES} from '../oci/manifest.js'
import {MANIFEST_ACCEPT, MT} from '../oci/media-types.js'
import {AirlockError} from '../ui/errors.js'
import {RegistryAuth, type Scope} from './auth.js'
import {apiHost} from './reference.js'
import {drain, RetryableError, throwIfRetryable, Transport, type Body} from './transport.js'

export interface FetchedManifest {
  bytes: Buffer
  mediaType: string
  digest: string
}

export interface ManifestHead {
  digest: string
  mediaType: string
  size: number
}

export interface RegistryClientOptions {
  env?: NodeJS.ProcessEnv
  /** blobs larger than this are uploaded in PATCH chunks of this size */
  chunkSize?: number
}

interface SendOptions {
  method: string
  /** absolute URL, or a path under /v2/ */
  path: string | URL
  scopes: Scope[]
  headers?: OutgoingHttpHeaders
  body?: Body
  what: string
}

const DEFAULT_CHUNK = 64 << 20

/**
 * A client for one registry (OCI distribution API). It owns the authentication state for that host;
 * every method retries what is safe to retry and maps failures to AirlockError codes naming the
 * registry and repository.
 */
export class RegistryClient {
  readonly host: string
  readonly base: URL
  readonly auth: RegistryAuth
  private readonly chunkSize: number

  constructor(
    readonly registry: string,
    readonly transport: Transport,
    options: RegistryClientOptions = {},
  ) {
    this.host = apiHost(registry)
    this.base = transport.baseUrl(this.host)
    this.auth = new RegistryAuth(registry, transport, options.env)
    this.chunkSize = options.chunkSize ?? Number(process.env.AIRLOCK_UPLOAD_CHUNK_BYTES ?? DEFAULT_CHUNK)
  }

  private url(path: string | URL): URL {
    return path instanceof URL ? path : new URL(`/v2/${path}`, this.base)
  }

  /** One request with authentication: on a 401 it answers the challenge once and sends again. */
  private async send(o: SendOptions): Promise<IncomingMessage> {
    const url = this.url(o.path)
    for (let round = 0; ; round++) {
      const authorization = await this.auth.header(o.scopes)
      const headers = {...o.headers, ...(authorization ? {authorization} : {})}
      const {res} = await this.transport.follow(o.method, url, headers, o.body)
      const status = res.statusCode ?? 0
      if (status === 401 && round === 0) {
        await this.auth.authenticate(res, o.scopes)
        continue
      }
      if (status === 401 || (status === 403 && round > 0)) {
        drain(res)
        throw await this.auth.rejected(o.scopes[0]?.repository ?? '', status)
      }
      throwIfRetryable(res, `${o.what} from ${this.registry}`)
      return res
    }
  }

  private async fail(res: IncomingMessage, what: string, subject: string): Promise<never> {
    const text = await readLimited(res, 64 << 10).then((b) => b.toString('utf8')).catch(() => '')
    let detail = ''
    try {
      const errors = (JSON.parse(text) as {errors?: {code?: string; message?: string}[]}).errors ?? []
      detail = errors.map((e) => `${e.code ?? ''}${e.message ? `: ${e.message}` : ''}`).join('; ')
    } catch {
      detail = text.slice(0, 200)
    }
    const status = res.statusCode ?? 0
    throw new AirlockError(status === 404 ? 'REGISTRY_NOT_FOUND' : status === 403 ? 'REGISTRY_AUTH' : 'REGISTRY_ERROR', `${what}: ${this.registry} answered HTTP ${status}${detail ? ` (${detail})` : ''}`, {
      subject,
      hint: status === 404 ? 'check the repository, tag or digest' : status === 403 ? 'the account lacks permission on this repository' : 'check the registry logs',
    })
  }

  /** HEAD a manifest: its digest without downloading it (Docker Hub does not count HEADs). */
  async headManifest(repository: string, reference: string): Promise<ManifestHead | undefined> {
    const what = `manifest ${repository}:${reference}`
    return this.transport.retry(what, this.registry, async () => {
      const res = await this.send({method: 'HEAD', path: `${repository}/manifests/${reference}`, scopes: [{repository, actions: 'pull'}], headers: {accept: MANIFEST_ACCEPT}, what})
      drain(res)
      if (res.statusCode === 404) return undefined
      if (res.statusCode !== 200) return this.fail(res, what, `${this.registry}/${repository}:${reference}`)
      const digest = res.headers['docker-content-digest']
      if (typeof digest !== 'string') return undefined
      return {digest, mediaType: String(res.headers['content-type'] ?? ''), size: Number(res.headers['content-length'] ?? 0)}
    })
  }

  /** GET a manifest by tag or digest; the bytes are checked against the digest asked for or announced. */
  async getManifest(repository: string, reference: string): Promise<FetchedManifest> {
    const what = `manifest ${repository}${reference.startsWith('sha256:') ? '@' : ':'}${reference}`
    const subject = `${this.registry}/${repository}${reference.startsWith('sha256:') ? '@' : ':'}${reference}`
    return this.transport.retry(what, this.registry, async () => {
      const res = await this.send({method: 'GET', path: `${repository}/manifests/${reference}`, scopes: [{repository, actions: 'pull'}], headers: {accept: MANIFEST_ACCEPT}, what})
      if (res.statusCode === 404) {
        drain(res)
        throw new AirlockError('REGISTRY_NOT_FOUND', `${subject} does not exist in ${this.registry}`, {subject, hint: 'check the tag or digest; list tags with skopeo list-tags docker://' + `${this.registry}/${repository}`})
      }
      if (res.statusCode !== 200) return this.fail(res, what, subject)
      const bytes = await readLimited(res, MAX_MANIFEST_BYTES)
      const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`
      const expected = reference.startsWith('sha256:') ? reference : (res.headers['docker-content-digest'] as string | undefined)
      if (expected && expected !== digest) {
        throw new AirlockError('DIGEST_MISMATCH', `${subject}: the manifest has ${digest}, expected ${expected}`, {subject, hint: 'the registry or something on the way altered the manifest; do not use it'})
      }
      return {bytes, mediaType: String(res.headers['content-type'] ?? ''), digest}
    })
  }

  /**
   * Downloads a blob into `dest`, hashing as it goes. A dropped connection resumes with a Range
   * request from the last byte written; a registry that ignores Range starts over. The digest and
   * size are checked at the end: a mismatch is never retried, it is reported.
   */
  async fetchBlob(repository: string, digest: string, size: number, dest: string, label: string): Promise<void> {
    const handle = await open(dest, 'w', 0o600)
    try {
      let have = 0
      let hash = createHash('sha256')
      await this.transport.retry(`${label}`, this.registry, async () => {
        const res = await this.send({
          method: 'GET',
          path: `${repository}/blobs/${digest}`,
          scopes: [{repository, actions: 'pull'}],
          headers: have > 0 ? {range: `bytes=${have}-`} : {},
          what: label,
        })
        const status = res.statusCode ?? 0
        if (status === 200 && have > 0) {
          have = 0
          hash = createHash('sha256')
          await handle.truncate(0)
        } else if (status === 206) {
          const start = Number(/bytes (\d+)-/.exec(String(res.headers['content-range'] ?? ''))?.[1] ?? -1)
          if (start !== have) {
            drain(res)
            throw new AirlockError('REGISTRY_ERROR', `${label}: asked to resume at byte ${have}, ${this.registry} answered from ${start}`, {subject: label})
          }
        } else if (status === 404) {
          drain(res)
          throw new AirlockError('REGISTRY_NOT_FOUND', `${label} is missing from ${this.registry}/${repository}`, {subject: label, hint: 'the registry lost the blob or the manifest is broken; ask its owner'})
        } else if (status !== 200) {
          return this.fail(res, label, label)
        }
        try {
          for await (const chunk of res as AsyncIterable<Buffer>) {
            if (have + chunk.length > size) {
              throw new AirlockError('SIZE_MISMATCH', `${label}: ${this.registry} sent more than the ${size} bytes the manifest gives`, {subject: label, hint: 'the registry or something on the way altered the blob'})
            }
            hash.update(chunk)
            await handle.write(chunk, 0, chunk.length, have)
            have += chunk.length
          }
        } catch (error) {
          if (error instanceof AirlockError) throw error
          throw new RetryableError(`${label}: connection dropped at byte ${have}`, undefined, {cause: error})
        }
        if (have < size) throw new RetryableError(`${label}: connection closed at byte ${have} of ${size}`)
      })
      const actual = `sha256:${hash.digest('hex')}`
      if (actual !== digest) {
        throw new AirlockError('DIGEST_MISMATCH', `${label}: downloaded bytes have ${actual}`, {subject: label, hint: 'the registry or something on the way altered the blob; the build was stopped'})
      }
    } finally {
      await handle.close()
    }
  }

  async hasBlob(repository: string, digest: string): Promise<boolean> {
    const what = `blob ${repository}@${digest}`
    return this.transport.retry(what, this.registry, async () => {
      const res = await this.send({method: 'HEAD', path: `${repository}/blobs/${digest}`, scopes: [{repository, actions: 'pull,push'}], what})
      drain(res)
      if (res.statusCode === 200) return true
      if (res.statusCode === 404) return false
      return this.fail(res, what, `${this.registry}/${repository}@${digest}`)
    })
  }

  /**
   * Uploads a blob: cross-repository mount first when `from` is given, else a monolithic PUT, or PATCH
   * chunks for blobs over the chunk size. `read(start, end)` opens a byte range of the source.
   * Returns how the blob got there.
   */
  async pushBlob(repository: string, digest: string, size: number, read: (start: number, end: number) => Readable, from?: string): Promise<'mounted' | 'uploaded'> {
    const subject = `${this.registry}/${repository}@${digest}`
    const scopes: Scope[] = [{repository, actions: 'pull,push'}, ...(from && from !== repository ? [{repository: from, actions: 'pull'}] : [])]
    return this.transport.retry(`upload of ${subject}`, this.registry, async () => {
      const query = from && from !== repository ? `?mount=${digest}&from=${encodeURIComponent(from)}` : ''
      const start = await this.send({method: 'POST', path: `${repository}/blobs/uploads/${query}`, scopes, headers: {'content-length': 0}, what: `upload of ${subject}`})
      drain(start)
      if (start.statusCode === 201) return 'mounted'
      if (start.statusCode !== 202) return this.fail(start, `upload of ${digest}`, subject)
      let location = this.location(start, subject)
      if (size > this.chunkSize) {
        for (let offset = 0; offset < size; offset += this.chunkSize) {
          const end = Math.min(offset + this.chunkSize, size) - 1
          const res = await this.send({
            method: 'PATCH',
            path: location,
            scopes,
            headers: {'content-type': 'application/octet-stream', 'content-length': end - offset + 1, 'content-range': `${offset}-${end}`},
            body: () => read(offset, end),
            what: `upload of ${subject}`,
          })
          drain(res)
          if (res.statusCode !== 202) return this.fail(res, `chunk ${offset}-${end} of ${digest}`, subject)
          location = this.location(res, subject)
        }
        location.searchParams.set('digest', digest)
        const done = await this.send({method: 'PUT', path: location, scopes, headers: {'content-length': 0}, what: `upload of ${subject}`})
        drain(done)
        if (done.statusCode !== 201) return this.fail(done, `upload of ${digest}`, subject)
        return 'uploaded'
      }
      location.searchParams.set('digest', digest)
      const res = await this.send({
        method: 'PUT',
        path: location,
        scopes,
        headers: {'content-type': 'application/octet-stream', 'content-length': size},
        body: () => read(0, size - 1),
        what: `upload of ${subject}`,
      })
      drain(res)
      if (res.statusCode !== 201) return this.fail(res, `upload of ${digest}`, subject)
      return 'uploaded'
    })
  }

  private location(res: IncomingMessage, subject: string): URL {
    const loc = res.headers.location
    if (!loc) throw new AirlockError('REGISTRY_ERROR', `${this.registry} started an upload without a Location`, {subject})
    return new URL(loc, this.base)
  }

  /**
   * The OCI 1.1 referrers API: an index of the manifests whose `subject` is `digest`. Undefined when
   * the registry does not have the API (it answers 404, 405 or another refusal for the route); the caller then falls
   * back to the referrers tag schema. The index is small and checked only for shape: every referrer
   * it names is fetched by digest and hashed on its own.
   */
  async getReferrers(repository: string, digest: string): Promise<Buffer | undefined> {
    const what = `referrers of ${repository}@${digest}`
    const subject = `${this.registry}/${repository}@${digest}`
    return this.transport.retry(what, this.registry, async () => {
      const res = await this.send({method: 'GET', path: `${repository}/referrers/${digest}`, scopes: [{repository, actions: 'pull'}], headers: {accept: MT.ociIndex}, what})
      const type = String(res.headers['content-type'] ?? '')
      const status = res.statusCode ?? 0
      // registries without the API answer the unknown route in many ways (404, 405, 400, 403, 501); none is a failure of the pull
      if ((status >= 400 && status < 500) || status === 501 || (status === 200 && !type.startsWith(MT.ociIndex))) {
        drain(res)
        return undefined
      }
      if (res.statusCode !== 200) return this.fail(res, what, subject)
      return readLimited(res, MAX_MANIFEST_BYTES)
    })
  }

  async putManifest(repository: string, reference: string, bytes: Buffer, mediaType: string): Promise<string | undefined> {
    return (await this.putManifestWithSubject(repository, reference, bytes, mediaType)).digest
  }

  /**
   * PUT a manifest and report whether the registry took note of its `subject` (the OCI-Subject
   * header of OCI 1.1): when it did not, the pusher must update the referrers tag schema itself.
   */
  async putManifestWithSubject(repository: string, reference: string, bytes: Buffer, mediaType: string): Promise<{digest?: string; ociSubject?: string}> {
    const subject = `${this.registry}/${repository}${reference.startsWith('sha256:') ? '@' : ':'}${reference}`
    return this.transport.retry(`manifest ${subject}`, this.registry, async () => {
      const res = await this.send({
        method: 'PUT',
        path: `${repository}/manifests/${reference}`,
        scopes: [{repository, actions: 'pull,push'}],
        headers: {'content-type': mediaType, 'content-length': bytes.length},
        body: bytes,
        what: `manifest ${subject}`,
      })
      if (res.statusCode !== 201 && res.statusCode !== 200) return this.fail(res, `manifest ${subject}`, subject)
      drain(res)
      const ociSubject = res.headers['oci-subject']
      return {digest: res.headers['docker-content-digest'] as string | undefined, ...(typeof ociSubject === 'string' ? {ociSubject} : {})}
    })
  }
}

async function readLimited(res: IncomingMessage, max: number): Promise<Buffer> {
  const parts: Buffer[] = []
  let n = 0
  for await (const chunk of res as AsyncIterable<Buffer>) {
    n += chunk.length
    if (n > max) {
      res.destroy()
      throw new AirlockError('MANIFEST_INVALID', `the registry sent more than ${max} bytes where a manifest was expected`, {subject: res.url ?? 'manifest'})
    }
    parts.push(chunk)
  }
  return Buffer.concat(parts)
}

/** One client per registry host for a whole build or push, so tokens and connections are shared. */
export class RegistryPool {
  private readonly clients = new Map<string, RegistryClient>()
  readonly transport: Transport

  constructor(transport: Transport, private readonly options: RegistryClientOptions = {}) {
    this.transport = transport
  }

  client(registry: string): RegistryClient {
    let c = this.clients.get(registry)
    if (!c) {
      c = new RegistryClient(registry, this.transport, this.options)
      this.clients.set(registry, c)
    }
    return c
  }

  close(): void {
    this.transport.close()
  }
}
