import {createHash} from 'node:crypto'
import type {IncomingMessage, OutgoingHttpHeaders} from 'node:http'
import {open} from 'node:fs/promises'
import type {Readable} from 'node:stream'

import {isDigest} from '../oci/digest.js'
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

interface Failure {
  status: number
  detail: string
  /** the distribution error codes of the body: BLOB_UPLOAD_INVALID, UNSUPPORTED, ... */
  codes: string[]
}

/** How a blob's bytes are sent after the POST: one PUT with the body, or PATCH chunks then an empty PUT. */
type UploadMode = 'put' | 'chunks'

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
/** HEAD not allowed or not implemented (some proxies and older registries): the answer is unknown, not an error */
const HEAD_REFUSED = new Set([405, 501])
/** Content types that say nothing about which manifest this is: the document's own mediaType or shape decides. */
const VAGUE_TYPES = new Set(['', 'application/json', 'text/plain', 'application/octet-stream'])

/** The media type of a manifest response without parameters (`; charset=utf-8`), or '' when it is a generic JSON type. */
function mediaTypeOf(res: IncomingMessage): string {
  const type = String(res.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
  return VAGUE_TYPES.has(type) ? '' : type
}

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
  /** the upload mode this registry refused once: later blobs go the other way at once */
  private refusedMode: UploadMode | undefined

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

  /**
   * One request with authentication: on a 401 it answers the challenge once and sends again. The
   * registry's credentials go only to its own host: an upload Location on another host (a storage
   * service) gets none, as a redirect to one does not.
   */
  private async send(o: SendOptions): Promise<IncomingMessage> {
    const url = this.url(o.path)
    const own = url.host === this.base.host
    for (let round = 0; ; round++) {
      const authorization = own ? await this.auth.header(o.scopes) : undefined
      const headers = {...o.headers, ...(authorization ? {authorization} : {})}
      const {res, url: reached} = await this.transport.follow(o.method, url, headers, o.body)
      const status = res.statusCode ?? 0
      if (status === 401 && own && reached.host !== url.host) {
        // redirected to another host that wants its own token: asked anonymously, then sent there directly
        const token = await this.auth.foreignToken(res, reached)
        const {res: there} = await this.transport.follow(o.method, reached, {...o.headers, authorization: `Bearer ${token}`}, o.body)
        if (there.statusCode === 401 || there.statusCode === 403) {
          drain(there)
          throw new AirlockError('REGISTRY_AUTH', `${this.registry} redirected ${o.what} to ${reached.host}, which refused an anonymous token (HTTP ${there.statusCode})`, {subject: this.registry, hint: `pull from ${reached.host} directly (name it in the spec), with credentials for it`})
        }
        throwIfRetryable(there, `${o.what} from ${reached.host}`)
        return there
      }
      if (status === 401 && round === 0 && own) {
        await this.auth.authenticate(res, o.scopes)
        continue
      }
      if (status === 401 || (status === 403 && round > 0)) {
        drain(res)
        throw await this.auth.rejected(o.scopes[0]?.repository ?? '', status, res.headers['www-authenticate'] as string | undefined)
      }
      throwIfRetryable(res, `${o.what} from ${this.registry}`)
      return res
    }
  }

  /** The status and the distribution error codes of a failed response (its body read, at most 64 KiB). */
  private async failure(res: IncomingMessage): Promise<Failure> {
    const text = await readLimited(res, 64 << 10).then((b) => b.toString('utf8')).catch(() => '')
    let detail = ''
    let codes: string[] = []
    try {
      const errors = (JSON.parse(text) as {errors?: {code?: string; message?: string}[]}).errors ?? []
      codes = errors.map((e) => e.code ?? '')
      detail = errors.map((e) => `${e.code ?? ''}${e.message ? `: ${e.message}` : ''}`).join('; ')
    } catch {
      detail = text.slice(0, 200)
    }
    return {status: res.statusCode ?? 0, detail, codes}
  }

  private async fail(res: IncomingMessage, what: string, subject: string, hint?: string): Promise<never> {
    throw this.failed(await this.failure(res), what, subject, hint)
  }

  private failed({status, detail}: Failure, what: string, subject: string, hint?: string): AirlockError {
    return new AirlockError(status === 404 ? 'REGISTRY_NOT_FOUND' : status === 403 ? 'REGISTRY_AUTH' : 'REGISTRY_ERROR', `${what}: ${this.registry} answered HTTP ${status}${detail ? ` (${detail})` : ''}`, {
      subject,
      hint: hint ?? (status === 404 ? 'check the repository, tag or digest' : status === 403 ? 'the account lacks permission on this repository' : 'check the registry logs'),
    })
  }

  /**
   * HEAD a manifest: its digest without downloading it (Docker Hub does not count HEADs). Undefined
   * when it is not there, and also when the registry cannot say (HEAD refused with 405/501, or no
   * Docker-Content-Digest): callers then GET it or push it, which is always right, only slower.
   */
  async headManifest(repository: string, reference: string): Promise<ManifestHead | undefined> {
    const what = `manifest ${repository}:${reference}`
    return this.transport.retry(what, this.registry, async () => {
      const res = await this.send({method: 'HEAD', path: `${repository}/manifests/${reference}`, scopes: [{repository, actions: 'pull'}], headers: {accept: MANIFEST_ACCEPT}, what})
      drain(res)
      if (res.statusCode === 404 || HEAD_REFUSED.has(res.statusCode ?? 0)) return undefined
      if (res.statusCode !== 200) return this.fail(res, what, `${this.registry}/${repository}:${reference}`)
      const digest = res.headers['docker-content-digest']
      if (typeof digest !== 'string' || !isDigest(digest)) return undefined
      return {digest, mediaType: mediaTypeOf(res), size: Number(res.headers['content-length'] ?? 0)}
    })
  }

  /**
   * GET a manifest by tag or digest. Its digest is always computed from the bytes: by digest they must
   * match the digest asked for; by tag the registry's Docker-Content-Digest is not trusted (ECR and some
   * proxies send one that describes another form of the document), the bytes alone say what was pulled.
   */
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
      if (reference.startsWith('sha256:') && reference !== digest) {
        throw new AirlockError('DIGEST_MISMATCH', `${subject}: the manifest has ${digest}, expected ${reference}`, {subject, hint: 'the registry or something on the way altered the manifest; do not use it'})
      }
      return {bytes, mediaType: mediaTypeOf(res), digest}
    })
  }

  /**
   * Downloads a blob into `dest`, hashing as it goes. A dropped connection resumes with a Range
   * request from the last byte written; a registry that ignores Range starts over. The digest and
   * size are checked at the end: a mismatch is never retried, it is reported.
   */
  async fetchBlob(repository: string, digest: string, size: number, dest: string, label: string, urls?: string[]): Promise<void> {
    const handle = await open(dest, 'w', 0o600)
    try {
      let have = 0
      let hash = createHash('sha256')
      await this.transport.retry(`${label}`, this.registry, async () => {
        const res = await this.openBlob(repository, digest, label, have, urls)
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
          if (urls?.length) {
            throw new AirlockError('REGISTRY_NOT_FOUND', `${label} is a non-distributable layer that neither ${this.registry}/${repository} nor its URLs (${urls.join(', ')}) served`, {subject: label, hint: 'make those URLs reachable from the build machine, or bundle an image built without foreign layers'})
          }
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

  /**
   * The response for a blob download from `have` on. A layer whose descriptor lists `urls` (a
   * non-distributable layer: Windows base layers) may be absent from the registry, as the spec allows:
   * it is then fetched from those URLs, without the registry's credentials, and hashed like any other.
   */
  private async openBlob(repository: string, digest: string, label: string, have: number, urls: string[] | undefined): Promise<IncomingMessage> {
    const range = have > 0 ? {range: `bytes=${have}-`} : {}
    const res = await this.send({method: 'GET', path: `${repository}/blobs/${digest}`, scopes: [{repository, actions: 'pull'}], headers: range, what: label})
    if (res.statusCode !== 404 || !urls?.length) return res
    drain(res)
    for (const u of urls) {
      let url: URL
      try {
        url = new URL(u)
      } catch {
        continue
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') continue
      const {res: other} = await this.transport.follow('GET', url, range)
      const status = other.statusCode ?? 0
      if (status === 200 || status === 206) return other
      throwIfRetryable(other, `${label} from ${url.host}`)
      drain(other)
    }
    return res
  }

  /** Whether the repository has the blob; a registry that refuses HEAD (405/501) is taken not to, so the blob is sent. */
  async hasBlob(repository: string, digest: string): Promise<boolean> {
    const what = `blob ${repository}@${digest}`
    return this.transport.retry(what, this.registry, async () => {
      const res = await this.send({method: 'HEAD', path: `${repository}/blobs/${digest}`, scopes: [{repository, actions: 'pull,push'}], what})
      drain(res)
      if (res.statusCode === 200) return true
      if (res.statusCode === 404 || HEAD_REFUSED.has(res.statusCode ?? 0)) return false
      return this.fail(res, what, `${this.registry}/${repository}@${digest}`)
    })
  }

  /**
   * Uploads a blob: cross-repository mount first when `from` is given (201 mounted; 202 means not
   * mounted, and the upload goes on in the session it opened), else a monolithic PUT, or PATCH chunks
   * for blobs over the chunk size. Registries differ in which of the two they take: ECR ends a chunked
   * upload at the first PATCH (201) and drops later chunks, older ones ignore a PUT body. A mode the
   * registry refuses is tried once the other way in a new session, and not tried again on this
   * registry. `read(start, end)` opens a byte range of the source. Returns how the blob got there.
   */
  async pushBlob(repository: string, digest: string, size: number, read: (start: number, end: number) => Readable, from?: string): Promise<'mounted' | 'uploaded'> {
    const subject = `${this.registry}/${repository}@${digest}`
    const what = `upload of ${subject}`
    const mountFrom = from && from !== repository ? from : undefined
    const own: Scope = {repository, actions: 'pull,push'}
    const scopes: Scope[] = [own, ...(mountFrom ? [{repository: mountFrom, actions: 'pull'}] : [])]
    const blob = {repository, digest, size, read, subject}
    return this.transport.retry(what, this.registry, async (attempt) => {
      const started = await this.startUpload(repository, digest, scopes, subject, mountFrom)
      if (started === 'mounted') return 'mounted'
      const preferred: UploadMode = size > this.chunkSize ? 'chunks' : 'put'
      const first = this.refusedMode === preferred ? otherMode(preferred) : preferred
      // a registry may fail one way with a 5xx rather than refuse it (ECR has answered an empty PUT
      // after chunks with 500): each further attempt under the retry policy takes the other way
      const mode = attempt % 2 === 1 ? first : otherMode(first)
      const refused = await this.sendBlob(mode, started, blob)
      if (!refused) return 'uploaded'
      this.refusedMode = mode
      const again = await this.startUpload(repository, digest, [own], subject)
      if (again === 'mounted') return 'mounted'
      const second = await this.sendBlob(otherMode(mode), again, blob)
      if (second) {
        const tooLarge = refused.status === 413 || second.status === 413
        throw this.failed(second, `${what} (tried as one PUT and as PATCH chunks; the first way answered HTTP ${refused.status}${refused.detail ? ` ${refused.detail}` : ''})`, subject, tooLarge ? 'a proxy in front of the registry limits request bodies: raise its limit (nginx client_max_body_size) or set AIRLOCK_UPLOAD_CHUNK_BYTES below it' : 'check the registry logs')
      }
      return 'uploaded'
    })
  }

  /** POST an upload session (a mount when `mountFrom` is given): 'mounted', or the session's URL. */
  private async startUpload(repository: string, digest: string, scopes: Scope[], subject: string, mountFrom?: string): Promise<'mounted' | URL> {
    const what = `upload of ${subject}`
    const query = mountFrom ? `?mount=${digest}&from=${encodeURIComponent(mountFrom)}` : ''
    let res: IncomingMessage
    try {
      res = await this.send({method: 'POST', path: `${repository}/blobs/uploads/${query}`, scopes, headers: {'content-length': 0}, what})
    } catch (error) {
      // some registries refuse a mount from a repository the account may not read instead of answering 202: upload it
      if (mountFrom && error instanceof AirlockError && error.code === 'REGISTRY_AUTH') return this.startUpload(repository, digest, scopes.slice(0, 1), subject)
      throw error
    }
    const status = res.statusCode ?? 0
    if (mountFrom && status === 201) {
      drain(res)
      return 'mounted'
    }
    if (status === 202 || (status >= 200 && status < 300 && res.headers.location)) {
      drain(res)
      return this.location(res, subject)
    }
    if (mountFrom && [400, 403, 404, 405].includes(status)) {
      drain(res)
      return this.startUpload(repository, digest, scopes.slice(0, 1), subject)
    }
    const noRepository = status === 404 ? `${this.registry} does not create repositories on push (ECR, and Harbor, Nexus or Artifact Registry without the project or repository): create ${repository} there first, or choose a --registry prefix it can be created under` : undefined
    return this.fail(res, what, subject, noRepository)
  }

  /**
   * Sends the bytes into an open upload session. Undefined when the blob is in; a Failure when the
   * registry refused this way of uploading (the caller then tries the other); throws on anything else.
   */
  private async sendBlob(mode: UploadMode, session: URL, b: {repository: string; digest: string; size: number; read: (start: number, end: number) => Readable; subject: string}): Promise<Failure | undefined> {
    const what = `upload of ${b.subject}`
    const scopes: Scope[] = [{repository: b.repository, actions: 'pull,push'}]
    let location = session
    if (mode === 'chunks') {
      const chunk = Math.max(1, Math.min(this.chunkSize, b.size))
      for (let offset = 0; offset < b.size; offset += chunk) {
        const end = Math.min(offset + chunk, b.size) - 1
        const last = end === b.size - 1
        // one PATCH with the whole blob is a stream upload: no Content-Range, which some registries would check as a chunk
        const range = offset === 0 && last ? {} : {'content-range': `${offset}-${end}`}
        const res = await this.send({
          method: 'PATCH',
          path: location,
          scopes,
          headers: {'content-type': 'application/octet-stream', 'content-length': end - offset + 1, ...range},
          body: () => b.read(offset, end),
          what,
        })
        const status = res.statusCode ?? 0
        if (status < 200 || status >= 300) return this.refusal(res, `chunk ${offset}-${end} of ${b.digest}`, b.subject)
        drain(res)
        // ECR answers an intermediate PATCH with 201 and keeps no later chunk; a Range that did not reach this chunk's end says the same
        const took = /(\d+)-(\d+)/.exec(String(res.headers.range ?? ''))
        if ((!last && status === 201) || (took && Number(took[2]) !== end)) {
          return {status, detail: `the chunk ${offset}-${end} was not taken (Range: ${String(res.headers.range ?? 'none')})`, codes: []}
        }
        if (res.headers.location) location = this.location(res, b.subject)
      }
    }
    const res = await this.send({
      method: 'PUT',
      path: withDigest(location, b.digest),
      scopes,
      headers: mode === 'put' ? {'content-type': 'application/octet-stream', 'content-length': b.size} : {'content-length': 0},
      ...(mode === 'put' ? {body: () => b.read(0, b.size - 1)} : {}),
      what,
    })
    const status = res.statusCode ?? 0
    if (status >= 200 && status < 300) {
      drain(res)
      return undefined
    }
    return this.refusal(res, `upload of ${b.digest}`, b.subject)
  }

  /**
   * A failed upload request: a refusal of the way it was sent (4xx other than auth, not-found and
   * too-many-requests, or 501) is returned for the caller to try the other way; an upload session
   * the registry lost (a load balancer without sticky sessions) starts over under the retry policy.
   */
  private async refusal(res: IncomingMessage, what: string, subject: string): Promise<Failure> {
    const f = await this.failure(res)
    if (f.status === 404 && f.codes.includes('BLOB_UPLOAD_UNKNOWN')) throw new RetryableError(`${what}: ${this.registry} lost the upload session (${f.detail})`)
    if ((f.status >= 400 && f.status < 500 && ![401, 403, 404].includes(f.status)) || f.status === 501) return f
    throw this.failed(f, what, subject)
  }

  /** An upload Location, relative or absolute; one on this registry's host keeps the scheme the registry is reached with. */
  private location(res: IncomingMessage, subject: string): URL {
    const loc = res.headers.location
    if (!loc) throw new AirlockError('REGISTRY_ERROR', `${this.registry} started an upload without a Location`, {subject, hint: 'the registry does not follow the distribution API for uploads; check its version'})
    const url = new URL(loc, this.base)
    // a registry behind a TLS-terminating proxy often writes http:// into Location; its host is reached over https only
    if (url.host === this.base.host && url.protocol === 'http:' && this.base.protocol === 'https:') url.protocol = 'https:'
    return url
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
      const status = res.statusCode ?? 0
      // 201 by the spec; some registries (older Quay) answer 202 or 200 for a manifest they stored
      if (status < 200 || status >= 300) {
        const f = await this.failure(res)
        const typeRefused = status === 415 || f.codes.some((c) => c === 'MANIFEST_INVALID' || c === 'UNSUPPORTED')
        throw this.failed(f, `manifest ${subject}`, subject, typeRefused && mediaType.includes('docker') ? `the registry refused a ${mediaType} manifest: some OCI-only registries (zot without docker2s2 compatibility) take only OCI media types; enable Docker media types there` : undefined)
      }
      drain(res)
      const ociSubject = res.headers['oci-subject']
      return {digest: res.headers['docker-content-digest'] as string | undefined, ...(typeof ociSubject === 'string' ? {ociSubject} : {})}
    })
  }
}

function otherMode(mode: UploadMode): UploadMode {
  return mode === 'put' ? 'chunks' : 'put'
}

/**
 * The upload URL with `digest=` added to whatever query the registry put in its Location (`_state`,
 * signatures): appended as text, so the registry's own parameters reach it byte for byte.
 */
export function withDigest(location: URL, digest: string): URL {
  const url = new URL(location)
  url.search = `${url.search ? `${url.search}&` : '?'}digest=${encodeURIComponent(digest)}`
  return url
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
