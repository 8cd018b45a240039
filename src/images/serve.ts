import {createHash} from 'node:crypto'
import {createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import {createServer as createHttpsServer} from 'node:https'
import type {AddressInfo} from 'node:net'
import {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'

import {verifyBundle, type EntrySink} from '../bundle/verify.js'
import {blobPath, isDigest} from '../oci/digest.js'
import {parseManifest, type Descriptor} from '../oci/manifest.js'
import {REF_NAME} from '../oci/media-types.js'
import {isReferrerDescriptor} from '../referrers/model.js'
import {parseReference} from '../registry/reference.js'
import type {Trust} from '../signing/trust.js'
import {openRandomAccess, type RandomAccessBundle} from '../transport/random-access.js'
import {AirlockError} from '../ui/errors.js'
import {readSmallFile} from '../util/fs.js'
import {walkTarHeaders, type Located} from './bundle-read.js'
import {LAYOUT_DIR} from './contribute.js'

export interface ServeOptions {
  /** a bundle file, its first part or its `.parts` index */
  bundle: string
  /** HOST:PORT; port 0 picks a free one */
  listen: string
  tls?: {cert: string; key: string}
  /** verify the bundle against this signer before serving; undefined only with --no-verify */
  trust?: Trust
  /** one line per request (--verbose) */
  log?: (line: string) => void
  progress?: (text: string) => void
}

export interface ServedImage {
  /** the full source reference (the layout's ref.name) */
  source: string
  /** the repository it is served under: the source's path without its registry */
  repository: string
  tag?: string
  digest: string
  /** what to pull: ADDRESS/repository[:tag]@digest */
  reference: string
}

export interface ServeResult {
  bundle: string
  /** host:port actually listened on */
  address: string
  url: string
  tls: boolean
  verified: boolean
  images: ServedImage[]
  /** tags two images claim (same repository path from two registries): the first listed wins */
  conflicts: string[]
}

export interface ImageServer {
  result: ServeResult
  close(): Promise<void>
}

/** A manifest or index, kept in memory (small, digest-checked at start). */
interface Document {
  mediaType: string
  bytes: Buffer
}

interface Repository {
  tags: Map<string, string>
  manifests: Map<string, Document>
  blobs: Map<string, Located>
}

const API_VERSION = {'docker-distribution-api-version': 'registry/2.0'}
const HEX_DIGEST = (d: string) => d.slice('sha256:'.length)

/** `HOST:PORT` or `[IPv6]:PORT`, checked before anything listens. */
export function parseListen(text: string): {host: string; port: number} {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text)
  const port = Number(m?.[2])
  if (!m || port > 65_535) throw new AirlockError('USAGE', `--listen ${text} is not HOST:PORT`, {subject: '--listen', hint: 'e.g. 127.0.0.1:5000, 0.0.0.0:5000 for every interface, or [::1]:5000'})
  return {host: (m[1] as string).replace(/^\[|\]$/g, ''), port}
}

/**
 * A read-only OCI distribution endpoint over a bundle, straight from the tar: manifests from memory
 * (read and digest-checked at start), blobs streamed from their offsets in the file or its parts.
 * Names are the source references' repository paths, the same names `images push` gives without a
 * prefix, so `quay.io/org/app:1` is served as `org/app:1`. Nothing is unpacked and nothing written.
 */
export async function serveBundleImages(options: ServeOptions): Promise<ImageServer> {
  const listen = parseListen(options.listen)
  const progress = options.progress ?? (() => {})
  const tls = options.tls ? await readTls(options.tls) : undefined
  const bundle = await openRandomAccess(options.bundle)
  let server: Server | undefined
  try {
    const located = await locate(options, bundle, progress)
    const {repositories, images, conflicts} = await catalogue(options.bundle, bundle, located)
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      const started = Date.now()
      const log = (how: string) => options.log?.(`${req.method} ${req.url} ${res.statusCode} ${Date.now() - started}ms${how}`)
      res.once('finish', () => log(''))
      res.once('close', () => res.writableFinished || log(' (cut short)'))
      answer(req, res, repositories, bundle).catch((error: unknown) => {
        if (!res.headersSent) sendError(res, 500, 'UNKNOWN', (error as Error).message)
        else res.destroy(error as Error)
      })
    }
    server = tls ? createHttpsServer({cert: tls.cert, key: tls.key}, handler) : createHttpServer(handler)
    await listenOn(server, listen, options.listen)
    const addr = server.address() as AddressInfo
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
    const address = `${host}:${addr.port}`
    const result: ServeResult = {
      bundle: options.bundle,
      address,
      url: `${tls ? 'https' : 'http'}://${address}`,
      tls: Boolean(tls),
      verified: Boolean(options.trust),
      images: images.map((i) => ({...i, reference: `${address}/${i.repository}${i.tag ? `:${i.tag}` : ''}@${i.digest}`})),
      conflicts,
    }
    const running = server
    return {
      result,
      async close() {
        await new Promise<void>((resolve) => {
          running.close(() => resolve())
          running.closeAllConnections()
        })
        await bundle.close()
      },
    }
  } catch (error) {
    server?.close()
    await bundle.close()
    throw error
  }
}

async function readTls(tls: {cert: string; key: string}): Promise<{cert: Buffer; key: Buffer}> {
  const cert = await readSmallFile(tls.cert, {what: 'TLS certificate', maxBytes: 1 << 20})
  const key = await readSmallFile(tls.key, {what: 'TLS private key', maxBytes: 1 << 20})
  try {
    // fails here, with the flag named, rather than on the first handshake
    const {createSecureContext} = await import('node:tls')
    createSecureContext({cert, key})
  } catch (error) {
    throw new AirlockError('INPUT_INVALID', `--tls-cert ${tls.cert} and --tls-key ${tls.key} are not a PEM certificate and its private key: ${(error as Error).message}`, {subject: '--tls-key', hint: 'give the server certificate (chain) and the unencrypted key that belongs to it', cause: error})
  }
  return {cert, key}
}

function listenOn(server: Server, listen: {host: string; port: number}, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'EADDRINUSE' ? 'the port is in use' : error.code === 'EACCES' ? 'permission denied (ports below 1024 need privileges)' : error.code === 'EADDRNOTAVAIL' ? 'no interface has that address' : error.message
      reject(new AirlockError('USAGE', `cannot listen on ${text}: ${why}`, {subject: '--listen', hint: 'choose another HOST:PORT', cause: error}))
    })
    server.listen(listen.port, listen.host, () => resolve())
  })
}

/** Offsets of the layout's entries: from the verifying pass itself, or from the tar headers alone. */
async function locate(options: ServeOptions, bundle: RandomAccessBundle, progress: (text: string) => void): Promise<Map<string, Located>> {
  if (!options.trust) return walkTarHeaders(bundle.size, (pos, length) => bundle.readBuffer(pos, length), options.bundle)
  progress(`verifying ${options.bundle}`)
  const located = new Map<string, Located>()
  const sink: EntrySink = {
    async open(rel, entry) {
      if (rel.startsWith(`${LAYOUT_DIR}/`)) located.set(rel, {size: entry.size, offset: entry.dataOffset})
      return undefined
    },
  }
  await verifyBundle(options.bundle, options.trust, sink)
  return located
}

/** Every image of the layout as repositories of tags, manifests and blobs. */
async function catalogue(input: string, bundle: RandomAccessBundle, located: Map<string, Located>): Promise<{repositories: Map<string, Repository>; images: Omit<ServedImage, 'reference'>[]; conflicts: string[]}> {
  const repositories = new Map<string, Repository>()
  const images: Omit<ServedImage, 'reference'>[] = []
  const conflicts: string[] = []
  const indexAt = located.get(`${LAYOUT_DIR}/index.json`)
  if (!indexAt) return {repositories, images, conflicts} // a bundle without images serves an empty catalog
  const readDoc = async (d: Descriptor, what: string): Promise<Document> => {
    const at = located.get(`${LAYOUT_DIR}/${blobPath(d.digest, what)}`)
    if (!at) throw new AirlockError('ENTRY_MISSING', `${input} has no ${LAYOUT_DIR}/${blobPath(d.digest)} (${what})`, {subject: `${LAYOUT_DIR}/${blobPath(d.digest)}`, hint: 'the bundle is incomplete; copy it again'})
    const bytes = await readSmall(bundle, at, what)
    if (createHash('sha256').update(bytes).digest('hex') !== HEX_DIGEST(d.digest)) {
      throw new AirlockError('DIGEST_MISMATCH', `${what}: ${LAYOUT_DIR}/${blobPath(d.digest)} does not match its digest`, {subject: `${LAYOUT_DIR}/${blobPath(d.digest)}`, hint: 'the bundle was changed after signing; run bundle verify'})
    }
    return {mediaType: d.mediaType, bytes}
  }
  const index = parseManifest(await readSmall(bundle, indexAt, `${LAYOUT_DIR}/index.json`), undefined, `${LAYOUT_DIR}/index.json`)
  if (index.kind !== 'index') throw new AirlockError('MANIFEST_INVALID', `${LAYOUT_DIR}/index.json is not an index`, {subject: `${LAYOUT_DIR}/index.json`})
  for (const top of index.manifests.filter((d) => !isReferrerDescriptor(d))) {
    const source = top.annotations?.[REF_NAME]
    if (!source) throw new AirlockError('MANIFEST_INVALID', `${LAYOUT_DIR}/index.json: image ${top.digest} has no ${REF_NAME}`, {subject: `${LAYOUT_DIR}/index.json`})
    const ref = parseReference(source, `${LAYOUT_DIR}/index.json ${REF_NAME}`)
    let repo = repositories.get(ref.repository)
    if (!repo) repositories.set(ref.repository, (repo = {tags: new Map(), manifests: new Map(), blobs: new Map()}))
    const topDoc = await readDoc(top, source)
    repo.manifests.set(top.digest, topDoc)
    const parsed = parseManifest(topDoc.bytes, top.mediaType, `${source} ${top.digest}`)
    const children = parsed.kind === 'index' ? parsed.manifests : []
    const leaves = parsed.kind === 'manifest' ? [parsed] : []
    for (const d of children) {
      const child = await readDoc(d, `${source} ${d.digest}`)
      repo.manifests.set(d.digest, child)
      const m = parseManifest(child.bytes, d.mediaType, `${source} ${d.digest}`)
      if (m.kind === 'manifest') leaves.push(m)
    }
    for (const m of leaves) {
      for (const b of [m.config, ...m.layers]) {
        // a differential bundle leaves some layers out: those answer 404 like any unknown blob
        const at = located.get(`${LAYOUT_DIR}/${blobPath(b.digest)}`)
        if (at) repo.blobs.set(b.digest, at)
      }
    }
    if (ref.tag) {
      const taken = repo.tags.get(ref.tag)
      if (taken && taken !== top.digest) conflicts.push(`${ref.repository}:${ref.tag} (${source} ${top.digest} is served by digest only)`)
      else repo.tags.set(ref.tag, top.digest)
    }
    images.push({source, repository: ref.repository, ...(ref.tag ? {tag: ref.tag} : {}), digest: top.digest})
  }
  return {repositories, images, conflicts}
}

async function readSmall(bundle: RandomAccessBundle, at: Located, what: string): Promise<Buffer> {
  if (at.size > 4 << 20) throw new AirlockError('MANIFEST_INVALID', `${what}: an entry of ${at.size} bytes where a manifest was expected`, {subject: what})
  return bundle.readBuffer(at.offset, at.size)
}

// ---- the distribution API ----

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | number> = {}): void {
  const data = Buffer.from(JSON.stringify(body))
  res.writeHead(status, {...API_VERSION, 'content-type': 'application/json', 'content-length': data.length, ...headers})
  res.end(res.req.method === 'HEAD' ? undefined : data)
}

/** The OCI distribution error body: {"errors": [{code, message, detail}]}. */
function sendError(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, {errors: [{code, message, detail: {}}]}, headers)
}

/** `?n=&last=` pagination as the distribution spec describes it, over a sorted list. */
function paginate(list: string[], url: URL, res: ServerResponse): string[] {
  const last = url.searchParams.get('last')
  let items = last ? list.filter((x) => x > last) : list
  const n = Number(url.searchParams.get('n') ?? Number.NaN)
  if (Number.isInteger(n) && n >= 0 && items.length > n) {
    items = items.slice(0, n)
    const next = new URL(url.pathname, 'http://x')
    next.searchParams.set('n', String(n))
    if (items.length > 0) next.searchParams.set('last', items.at(-1) as string)
    res.setHeader('link', `<${next.pathname}${next.search}>; rel="next"`)
  }
  return items
}

async function answer(req: IncomingMessage, res: ServerResponse, repositories: Map<string, Repository>, bundle: RandomAccessBundle): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendError(res, 405, 'UNSUPPORTED', 'this registry is read-only: it serves a bundle', {allow: 'GET, HEAD'})
    return
  }
  const url = new URL(req.url ?? '/', 'http://x')
  const path = url.pathname
  if (path === '/v2/' || path === '/v2') return sendJson(res, 200, {})
  if (path === '/v2/_catalog') return sendJson(res, 200, {repositories: paginate([...repositories.keys()].sort(), url, res)})
  const m = /^\/v2\/(.+)\/(tags)\/list$/.exec(path) ?? /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(path)
  if (!m) return sendError(res, 404, 'NAME_UNKNOWN', `no endpoint at ${path}`)
  const [, name, kind, reference = ''] = m as unknown as [string, string, string, string | undefined]
  const repo = repositories.get(name)
  if (!repo) return sendError(res, 404, 'NAME_UNKNOWN', `repository ${name} is not in this bundle`)
  if (kind === 'tags') return sendJson(res, 200, {name, tags: paginate([...repo.tags.keys()].sort(), url, res)})
  if (kind === 'manifests') {
    const digest = isDigest(reference) ? reference : repo.tags.get(reference)
    const doc = digest ? repo.manifests.get(digest) : undefined
    if (!digest || !doc) return sendError(res, 404, 'MANIFEST_UNKNOWN', `manifest ${name}${isDigest(reference) ? '@' : ':'}${reference} is not in this bundle`)
    res.writeHead(200, {...API_VERSION, 'content-type': doc.mediaType, 'content-length': doc.bytes.length, 'docker-content-digest': digest, etag: `"${digest}"`})
    res.end(req.method === 'HEAD' ? undefined : doc.bytes)
    return
  }
  if (!isDigest(reference)) return sendError(res, 400, 'DIGEST_INVALID', `${reference} is not a sha256 digest`)
  const doc = repo.manifests.get(reference)
  if (doc) return sendBytes(req, res, reference, doc.bytes.length, (start, length) => Readable.from([doc.bytes.subarray(start, start + length)]))
  const at = repo.blobs.get(reference)
  if (!at) return sendError(res, 404, 'BLOB_UNKNOWN', `blob ${name}@${reference} is not in this bundle`)
  return sendBytes(req, res, reference, at.size, (start, length) => Readable.from(start === 0 && length === at.size ? checked(bundle, at, reference) : bundle.read(at.offset + start, length)))
}

/**
 * A whole blob streamed from the tar, hashed on the way. The last chunk is held back until the
 * digest is known: a blob changed on disk since the bundle was verified ends in a dropped
 * connection, never in bytes a client would accept.
 */
async function* checked(bundle: RandomAccessBundle, at: Located, digest: string): AsyncGenerator<Buffer> {
  const hash = createHash('sha256')
  let held: Buffer | undefined
  for await (const chunk of bundle.read(at.offset, at.size)) {
    hash.update(chunk)
    if (held) yield held
    held = chunk
  }
  if (hash.digest('hex') !== HEX_DIGEST(digest)) throw new AirlockError('DIGEST_MISMATCH', `blob ${digest} in the bundle no longer matches its digest`, {subject: digest, hint: 'the bundle file changed while it was served; stop and run bundle verify'})
  if (held) yield held
}

/** 200 with the whole blob, or 206 for one `Range: bytes=` range; other range forms get the whole. */
async function sendBytes(req: IncomingMessage, res: ServerResponse, digest: string, size: number, open: (start: number, length: number) => Readable): Promise<void> {
  const base = {...API_VERSION, 'content-type': 'application/octet-stream', 'docker-content-digest': digest, etag: `"${digest}"`, 'accept-ranges': 'bytes'}
  let start = 0
  let end = size - 1
  let status = 200
  const range = req.headers.range
  const m = range ? /^bytes=(\d*)-(\d*)$/.exec(range.trim()) : null
  if (m && (m[1] !== '' || m[2] !== '')) {
    if (m[1] === '') {
      start = Math.max(0, size - Number(m[2]))
    } else {
      start = Number(m[1])
      if (m[2] !== '') end = Math.min(Number(m[2]), size - 1)
    }
    if (start > end || start >= size) {
      res.writeHead(416, {...base, 'content-range': `bytes */${size}`, 'content-length': 0})
      res.end()
      return
    }
    status = 206
  }
  const length = size === 0 ? 0 : end - start + 1
  res.writeHead(status, {...base, 'content-length': length, ...(status === 206 ? {'content-range': `bytes ${start}-${end}/${size}`} : {})})
  if (req.method === 'HEAD' || length === 0) {
    res.end()
    return
  }
  try {
    await pipeline(open(start, length), res)
  } catch (error) {
    // a client that hangs up mid-blob is normal; anything else has already cut the response short
    if ((error as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') res.destroy()
  }
}
