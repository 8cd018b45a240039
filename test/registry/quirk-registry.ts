/*
 * A small OCI distribution registry on 127.0.0.1, written for the interop tests: it follows the
 * spec where real registries agree (uploads with POST/PATCH/PUT, cross-repository mount, manifests
 * checked against their Content-Type and their blobs, Range on blobs, basic or bearer auth with a
 * token service of its own) and lets a test bend any answer the way a real registry does (ECR, Quay,
 * Docker Hub, proxies) through `hook`. Every request is logged. Stopped by the test's cleanup.
 */
import {createHash, randomBytes} from 'node:crypto'
import {createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse} from 'node:http'
import {createServer as createHttpsServer} from 'node:https'

import {registerCleanup} from '../support/cleanup.js'

export interface Logged {
  method: string
  path: string
  /** the raw query, as the client sent it */
  search: string
  headers: IncomingHttpHeaders
}

export interface QuirkContext {
  req: IncomingMessage
  res: ServerResponse
  url: URL
  /** repository name, '' outside /v2/<name>/... */
  repo: string
  kind: 'manifests' | 'blobs' | 'uploads' | 'other'
  /** tag or digest, upload id, '' */
  ref: string
  body(): Promise<Buffer>
}

/** Answers a request its own way and returns true, or returns false for the registry's normal answer. */
export type Hook = (c: QuirkContext) => boolean | Promise<boolean>

export interface BearerAuth {
  kind: 'bearer'
  /** push is granted to this user (Basic on the token service) or to the identity token */
  user?: string
  password?: string
  identityToken?: string
  /** `token` (distribution) or `access_token` (OAuth2 style) */
  tokenField?: 'token' | 'access_token'
  /** appended to the realm, as Harbor and GitLab name extra parameters in it */
  realmQuery?: string
  /** a token stops working after this many requests (a token expiring during a long build) */
  tokenUses?: number
}

export interface QuirkOptions {
  auth?: {kind: 'basic'; user: string; password: string} | BearerAuth
  hook?: Hook
  /** upload Locations as absolute URLs (Harbor, GitLab behind their external URL) instead of paths */
  absoluteLocation?: boolean
  /** answer a cross-repository mount with 202 and a fresh session, as a registry that will not mount */
  refuseMount?: boolean
  /** the status of a stored manifest PUT (older Quay answers 202) */
  manifestPutStatus?: number
  /** address to listen on: 127.0.0.1, or ::1 for an IPv6 registry */
  listen?: string
  /** serve HTTPS with this certificate and key (PEM) */
  tls?: {cert: string; key: string}
  /** write upload Locations as http:// URLs even over TLS, as a registry behind a TLS-terminating proxy does */
  plainLocation?: boolean
}

export interface TokenRequest {
  method: string
  scopes: string[]
  service?: string
  /** the realm's own query parameters that arrived */
  account?: string
  user?: string
  grant?: string
}

export interface QuirkRegistry {
  host: string
  origin: string
  log: Logged[]
  tokenRequests: TokenRequest[]
  /** every blob stored, by digest */
  blobs: Map<string, Buffer>
  hook: Hook | undefined
  /** stores a blob in a repository; returns its digest */
  putBlob(repo: string, data: Buffer): string
  /** stores a manifest under a tag (and its digest); returns the digest */
  putManifest(repo: string, tag: string | undefined, bytes: Buffer, type: string): string
  manifest(repo: string, ref: string): {bytes: Buffer; type: string} | undefined
  hasBlob(repo: string, digest: string): boolean
  stop(): Promise<void>
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = []
    req.on('data', (c: Buffer) => parts.push(c))
    req.once('end', () => resolve(Buffer.concat(parts)))
    req.once('error', reject)
  })
}

function error(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({errors: [{code, message}]})
  res.writeHead(status, {'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers}).end(res.req.method === 'HEAD' ? undefined : body)
}

export async function startQuirkRegistry(options: QuirkOptions = {}): Promise<QuirkRegistry> {
  const log: Logged[] = []
  const tokenRequests: TokenRequest[] = []
  const blobs = new Map<string, Buffer>()
  const links = new Map<string, Set<string>>() // repo -> digests of its blobs
  const manifests = new Map<string, {bytes: Buffer; type: string}>() // `${repo}@${ref}`
  const uploads = new Map<string, {repo: string; parts: Buffer[]; state: string}>()
  const tokens = new Map<string, {scopes: string[]; pushAllowed: boolean; uses: number}>()
  let origin = ''

  const link = (repo: string, digest: string) => {
    let set = links.get(repo)
    if (!set) links.set(repo, (set = new Set()))
    set.add(digest)
  }
  const has = (repo: string, digest: string) => links.get(repo)?.has(digest) ?? false
  const storeManifest = (repo: string, tag: string | undefined, bytes: Buffer, type: string) => {
    const digest = sha256(bytes)
    manifests.set(`${repo}@${digest}`, {bytes, type})
    if (tag) manifests.set(`${repo}@${tag}`, {bytes, type})
    return digest
  }

  const auth = options.auth
  const challenge = (scope?: string, extra = '') =>
    auth?.kind === 'basic' ? 'Basic realm="quirk"' : `Bearer realm="${origin}/token${auth?.kind === 'bearer' ? (auth.realmQuery ?? '') : ''}",service="quirk"${scope ? `,scope="${scope}"` : ''}${extra}`

  /** Whether the request may go on; answers 401 itself when it may not. */
  const authorized = (req: IncomingMessage, res: ServerResponse, repo: string): boolean => {
    if (!auth) return true
    const push = !['GET', 'HEAD'].includes(req.method ?? '')
    const scope = repo ? `repository:${repo}:${push ? 'pull,push' : 'pull'}` : undefined
    const header = req.headers.authorization ?? ''
    if (auth.kind === 'basic') {
      if (header === `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`) return true
      error(res, 401, 'UNAUTHORIZED', 'authentication required', {'www-authenticate': challenge()})
      return false
    }
    const token = header.startsWith('Bearer ') ? tokens.get(header.slice(7)) : undefined
    if (!token) {
      error(res, 401, 'UNAUTHORIZED', 'authentication required', {'www-authenticate': challenge(scope)})
      return false
    }
    if (auth.tokenUses !== undefined && token.uses-- <= 0) {
      error(res, 401, 'UNAUTHORIZED', 'token expired', {'www-authenticate': challenge(scope, ',error="invalid_token"')})
      return false
    }
    const granted = !repo || token.scopes.some((s) => s.startsWith(`repository:${repo}:`) && (!push || (token.pushAllowed && s.includes('push'))))
    if (!granted) error(res, 401, 'DENIED', 'insufficient scope', {'www-authenticate': challenge(scope, ',error="insufficient_scope"')})
    return granted
  }

  const tokenService = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    if (auth?.kind !== 'bearer') return error(res, 404, 'NOT_FOUND', 'no token service')
    let scopes = url.searchParams.getAll('scope')
    let service = url.searchParams.get('service') ?? undefined
    let user: string | undefined
    let grant: string | undefined
    let pushAllowed = false
    if (req.method === 'POST') {
      const form = new URLSearchParams((await readBody(req)).toString())
      grant = form.get('grant_type') ?? undefined
      scopes = (form.get('scope') ?? '').split(' ').filter(Boolean)
      service = form.get('service') ?? undefined
      if (grant !== 'refresh_token' || !auth.identityToken || form.get('refresh_token') !== auth.identityToken) return error(res, 401, 'UNAUTHORIZED', 'bad refresh token')
      pushAllowed = true
    } else if (req.headers.authorization?.startsWith('Basic ')) {
      const [u, p] = Buffer.from(req.headers.authorization.slice(6), 'base64').toString().split(':')
      user = u
      if (u !== auth.user || p !== auth.password) {
        tokenRequests.push({method: 'GET', scopes, user})
        return error(res, 401, 'UNAUTHORIZED', 'bad credentials')
      }
      pushAllowed = true
    }
    const account = url.searchParams.get('account') ?? undefined
    tokenRequests.push({method: req.method ?? '', scopes, ...(service ? {service} : {}), ...(account ? {account} : {}), ...(user ? {user} : {}), ...(grant ? {grant} : {})})
    const value = randomBytes(12).toString('hex')
    tokens.set(value, {scopes, pushAllowed, uses: auth.tokenUses ?? Infinity})
    const body = JSON.stringify({[auth.tokenField ?? 'token']: value, expires_in: 300})
    res.writeHead(200, {'content-type': 'application/json'}).end(body)
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x')
    log.push({method: req.method ?? '', path: url.pathname, search: (req.url ?? '').includes('?') ? (req.url ?? '').slice((req.url ?? '').indexOf('?')) : '', headers: req.headers})
    if (url.pathname === '/token') return tokenService(req, res, url)
    const m = /^\/v2\/(.+?)\/(manifests|blobs\/uploads|blobs)\/?([^/]*)$/.exec(url.pathname)
    const repo = m?.[1] ?? ''
    const kind = (m ? (m[2] === 'blobs/uploads' ? 'uploads' : m[2]) : 'other') as QuirkContext['kind']
    const ref = m?.[3] ?? ''
    let body: Promise<Buffer> | undefined
    const ctx: QuirkContext = {req, res, url, repo, kind, ref, body: () => (body ??= readBody(req))}
    if (!authorized(req, res, repo)) return
    if (await (registry.hook?.(ctx) ?? false)) return
    if (url.pathname === '/v2/' || url.pathname === '/v2') return res.writeHead(200, {'content-type': 'application/json'}).end('{}')
    if (!m) return error(res, 404, 'NAME_UNKNOWN', `no route ${url.pathname}`)

    if (kind === 'manifests') {
      if (req.method === 'PUT') {
        const bytes = await ctx.body()
        const type = String(req.headers['content-type'] ?? '')
        let doc: {mediaType?: string; manifests?: {digest: string}[]; config?: {digest: string}; layers?: {digest: string}[]}
        try {
          doc = JSON.parse(bytes.toString()) as typeof doc
        } catch {
          return error(res, 400, 'MANIFEST_INVALID', 'not JSON')
        }
        // as GAR, Quay and distribution do: the Content-Type must be the document's own mediaType
        if (doc.mediaType && doc.mediaType !== type) return error(res, 400, 'MANIFEST_INVALID', `Content-Type ${type} is not the manifest's ${doc.mediaType}`)
        for (const d of doc.manifests ?? []) if (!manifests.has(`${repo}@${d.digest}`)) return error(res, 400, 'MANIFEST_BLOB_UNKNOWN', `child ${d.digest} not pushed`)
        for (const d of [...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])]) if (!has(repo, d.digest)) return error(res, 400, 'MANIFEST_BLOB_UNKNOWN', `blob ${d.digest} not pushed`)
        const digest = sha256(bytes)
        if (ref.startsWith('sha256:') && ref !== digest) return error(res, 400, 'DIGEST_INVALID', 'digest does not match')
        storeManifest(repo, ref.startsWith('sha256:') ? undefined : ref, bytes, type)
        return res.writeHead(options.manifestPutStatus ?? 201, {location: `/v2/${repo}/manifests/${digest}`, 'docker-content-digest': digest, 'content-length': 0}).end()
      }
      const found = manifests.get(`${repo}@${ref}`)
      if (!found) return error(res, 404, 'MANIFEST_UNKNOWN', `${repo}:${ref}`)
      res.writeHead(200, {'content-type': found.type, 'content-length': found.bytes.length, 'docker-content-digest': sha256(found.bytes)})
      return res.end(req.method === 'HEAD' ? undefined : found.bytes)
    }

    if (kind === 'blobs') {
      const data = has(repo, ref) ? blobs.get(ref) : undefined
      if (!data) return error(res, 404, 'BLOB_UNKNOWN', ref)
      const range = /^bytes=(\d+)-$/.exec(String(req.headers.range ?? ''))
      const start = range ? Number(range[1]) : 0
      const headers = {'content-type': 'application/octet-stream', 'content-length': data.length - start, 'docker-content-digest': ref}
      if (range) res.writeHead(206, {...headers, 'content-range': `bytes ${start}-${data.length - 1}/${data.length}`})
      else res.writeHead(200, headers)
      return res.end(req.method === 'HEAD' ? undefined : data.subarray(start))
    }

    // uploads
    const at = options.plainLocation ? origin.replace(/^https:/, 'http:') : options.absoluteLocation ? origin : ''
    if (req.method === 'POST') {
      const mount = url.searchParams.get('mount')
      const from = url.searchParams.get('from')
      if (mount && from && has(from, mount) && !options.refuseMount) {
        link(repo, mount)
        return res.writeHead(201, {location: `/v2/${repo}/blobs/${mount}`, 'docker-content-digest': mount, 'content-length': 0}).end()
      }
      const id = randomBytes(8).toString('hex')
      // a state value that must come back byte for byte, escapes included
      const state = `${id}~a%20b%3D`
      uploads.set(id, {repo, parts: [], state})
      return res.writeHead(202, {location: `${at}/v2/${repo}/blobs/uploads/${id}?_state=${state}`, range: '0-0', 'docker-upload-uuid': id, 'content-length': 0}).end()
    }
    const upload = uploads.get(ref)
    if (!upload || upload.repo !== repo) return error(res, 404, 'BLOB_UPLOAD_UNKNOWN', ref)
    if (!(req.url ?? '').includes(`_state=${upload.state}`)) return error(res, 400, 'BLOB_UPLOAD_INVALID', 'the _state parameter was altered')
    const chunk = await ctx.body()
    upload.parts.push(chunk)
    const size = upload.parts.reduce((n, p) => n + p.length, 0)
    if (req.method === 'PATCH') {
      return res.writeHead(202, {location: `${at}/v2/${repo}/blobs/uploads/${ref}?_state=${upload.state}`, range: `0-${Math.max(0, size - 1)}`, 'docker-upload-uuid': ref, 'content-length': 0}).end()
    }
    if (req.method === 'PUT') {
      const digest = url.searchParams.get('digest') ?? ''
      const data = Buffer.concat(upload.parts)
      if (sha256(data) !== digest) return error(res, 400, 'DIGEST_INVALID', `got ${sha256(data)}, told ${digest}`)
      uploads.delete(ref)
      blobs.set(digest, data)
      link(repo, digest)
      return res.writeHead(201, {location: `/v2/${repo}/blobs/${digest}`, 'docker-content-digest': digest, 'content-length': 0}).end()
    }
    return error(res, 405, 'UNSUPPORTED', `${req.method} on an upload`)
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) error(res, 500, 'UNKNOWN', String(e))
      else res.destroy()
    })
  }
  const server = options.tls ? createHttpsServer(options.tls, listener) : createServer(listener)
  const address = options.listen ?? '127.0.0.1'
  await new Promise<void>((r) => server.listen(0, address, r))
  const port = (server.address() as {port: number}).port
  const hostname = address.includes(':') ? `[${address}]` : address
  origin = `${options.tls ? 'https' : 'http'}://${hostname}:${port}`
  const stop = registerCleanup(`quirk registry ${origin}`, () => new Promise<void>((r) => {
    server.closeAllConnections()
    server.close(() => r())
  }))
  const registry: QuirkRegistry = {
    host: `${hostname}:${port}`,
    origin,
    log,
    tokenRequests,
    blobs,
    hook: options.hook,
    putBlob(repo, data) {
      const digest = sha256(data)
      blobs.set(digest, data)
      link(repo, digest)
      return digest
    },
    putManifest: storeManifest,
    manifest: (repo, ref) => manifests.get(`${repo}@${ref}`),
    hasBlob: has,
    stop,
  }
  return registry
}
