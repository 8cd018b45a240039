import {createHash} from 'node:crypto'
import type {IncomingMessage, ServerResponse} from 'node:http'
import {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'

import {isDigest} from '../oci/digest.js'
import type {BundlePin, RandomAccessBundle} from '../transport/random-access.js'
import {AirlockError} from '../ui/errors.js'
import type {Located} from './bundle-read.js'
import {hexOf, type Repository} from './serve-catalogue.js'

/** The read-only OCI distribution API over a catalogue: /v2/, _catalog, tags/list, manifests, blobs. */

const API_VERSION = {'docker-distribution-api-version': 'registry/2.0'}


function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | number> = {}): void {
  const data = Buffer.from(JSON.stringify(body))
  res.writeHead(status, {...API_VERSION, 'content-type': 'application/json', 'content-length': data.length, ...headers})
  res.end(res.req.method === 'HEAD' ? undefined : data)
}

/** The OCI distribution error body: {"errors": [{code, message, detail}]}. */
export function sendError(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, {errors: [{code, message, detail: {}}]}, headers)
}

/**
 * `?n=&last=` pagination as the distribution spec describes it, over a sorted list: the entries
 * after `last`, at most `n` of them, and a `Link` to the next page only when entries remain after
 * this one. `n=0` is an empty page with no `Link` (a link to the same page would loop a client
 * forever); an `n` that is not a whole number is refused with 400.
 */
export function paginate(list: string[], url: URL, res: ServerResponse): string[] | undefined {
  const last = url.searchParams.get('last')
  let items = last === null ? list : list.filter((x) => x > last)
  const nText = url.searchParams.get('n')
  if (nText === null || nText === '') return items
  if (!/^\d{1,9}$/.test(nText)) {
    sendError(res, 400, 'PAGINATION_NUMBER_INVALID', `n=${nText} is not a whole number`)
    return undefined
  }
  const n = Number(nText)
  if (n === 0) return []
  if (items.length > n) {
    items = items.slice(0, n)
    const next = new URLSearchParams({n: String(n), last: items.at(-1) as string})
    res.setHeader('link', `<${url.pathname}?${next.toString()}>; rel="next"`)
  }
  return items
}

/** The bundle blobs are read from; `pin` when it was verified and its files pinned (see sendChecked). */
export interface BlobSource {
  bundle: RandomAccessBundle
  pin?: BundlePin
}

export async function answer(req: IncomingMessage, res: ServerResponse, repositories: Map<string, Repository>, source: BlobSource): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendError(res, 405, 'UNSUPPORTED', 'this registry is read-only: it serves a bundle', {allow: 'GET, HEAD'})
    return
  }
  const url = new URL(req.url ?? '/', 'http://x')
  const path = url.pathname
  if (path === '/v2/' || path === '/v2') return sendJson(res, 200, {})
  if (path === '/v2/_catalog') {
    const page = paginate([...repositories.keys()].sort(), url, res)
    return page && sendJson(res, 200, {repositories: page})
  }
  const m = /^\/v2\/(.+)\/(tags)\/list$/.exec(path) ?? /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(path)
  if (!m) return sendError(res, 404, 'NAME_UNKNOWN', `no endpoint at ${path}`)
  const [, name, kind, reference = ''] = m as unknown as [string, string, string, string | undefined]
  const repo = repositories.get(name)
  if (!repo) return sendError(res, 404, 'NAME_UNKNOWN', `repository ${name} is not in this bundle`)
  if (kind === 'tags') {
    const page = paginate([...repo.tags.keys()].sort(), url, res)
    return page && sendJson(res, 200, {name, tags: page})
  }
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
  return sendBytes(req, res, reference, at.size, (start, length) => Readable.from(source.bundle.read(at.offset + start, length)), () => sendChecked(res, source, at, reference))
}

/** A piece of a blob to send; `release` hands its buffer back once the socket is done with it. */
interface Chunk {
  bytes: Buffer
  release(): void
}

/**
 * Blob buffers reused from one send to the next: a fresh 1 MiB buffer per chunk costs an allocation,
 * page faults on untouched memory and garbage collection of external memory, which was a large share
 * of the server's CPU, and on two cores that CPU is taken from the client pulling. A buffer comes
 * back only from its socket write's callback, so none is ever refilled while the socket still holds
 * it; one whose write never completes (a client gone) is left to the garbage collector.
 */
const SEND_CHUNK = 1 << 20
const SPARE_MAX = 16
const spare: Buffer[] = []

async function* chunksOf(bundle: RandomAccessBundle, offset: number, length: number): AsyncGenerator<Chunk> {
  const readInto = bundle.readInto?.bind(bundle)
  if (!readInto) {
    // S3: one ranged GET streams the blob, each chunk a buffer of its own
    for await (const bytes of bundle.read(offset, length)) yield {bytes, release: () => {}}
    return
  }
  for (let pos = offset; pos < offset + length; ) {
    const buf = spare.pop() ?? Buffer.allocUnsafeSlow(SEND_CHUNK)
    const bytes = buf.subarray(0, Math.min(SEND_CHUNK, offset + length - pos))
    try {
      await readInto(bytes, pos)
    } catch (error) {
      spare.push(buf)
      throw error
    }
    pos += bytes.length
    yield {bytes, release: () => spare.length < SPARE_MAX && spare.push(buf)}
  }
}

/**
 * A whole blob straight from the tar to the socket: each chunk is written as the next one is being
 * read, with no stream in between (most pulls are whole blobs, and many are small: a small blob
 * leaves in one write with its headers). The last chunk is held back until the blob is known to be
 * what was verified: a blob changed on disk since ends in a dropped connection, never in bytes a
 * client would accept.
 *
 * Known how: when the bundle was verified at start and its files pinned (`source.pin`), by checking
 * the pin before the first chunk is read and after the last: the files are the very ones verified
 * (same device and inode, size, mtime and ctime of the open handles), so the bytes read between are
 * the bytes verified, and hashing them again, the larger part of this server's CPU, would find
 * nothing new. Otherwise (--no-verify, S3, a file a pin cannot vouch for), by hashing the blob on the
 * way. Either way the same bytes are read and sent.
 */
async function sendChecked(res: ServerResponse, source: BlobSource, at: Located, digest: string): Promise<void> {
  const {bundle, pin} = source
  const hash = pin ? undefined : createHash('sha256')
  await pin?.check(at.offset, at.size)
  const chunks = chunksOf(bundle, at.offset, at.size)
  let held: Chunk | undefined
  const send = (c: Chunk, last: boolean) => {
    const done = (error?: Error | null) => error || c.release()
    return last ? (res.end(c.bytes, done), true) : res.write(c.bytes, done)
  }
  try {
    const next = () => {
      const read = chunks.next()
      read.catch(() => {}) // a read that fails after the client hung up is nobody's to report
      return read
    }
    let ahead = next()
    for (;;) {
      const r = await ahead
      if (r.done) break
      ahead = next()
      hash?.update(r.value.bytes)
      if (held && !send(held, false)) await drained(res)
      held = r.value
    }
  } finally {
    await chunks.return(undefined)
  }
  await pin?.check(at.offset, at.size)
  if (hash && hash.digest('hex') !== hexOf(digest)) throw new AirlockError('DIGEST_MISMATCH', `blob ${digest} in the bundle no longer matches its digest`, {subject: digest, hint: 'the bundle file changed while it was served; stop and run bundle verify'})
  if (held) send(held, true)
  else res.end()
}

/** Resolves when the socket takes more, rejects when the client has gone (so nothing waits forever). */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      res.off('drain', done)
      res.off('close', gone)
      resolve()
    }
    const gone = () => {
      res.off('drain', done)
      res.off('close', gone)
      reject(Object.assign(new Error('the client hung up'), {code: 'ERR_STREAM_PREMATURE_CLOSE'}))
    }
    if (res.destroyed || res.writableEnded) return gone()
    res.once('drain', done)
    res.once('close', gone)
  })
}

/** 200 with the whole blob, or 206 for one `Range: bytes=` range; other range forms get the whole. */
async function sendBytes(req: IncomingMessage, res: ServerResponse, digest: string, size: number, open: (start: number, length: number) => Readable, whole?: () => Promise<void>): Promise<void> {
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
    if (whole && start === 0 && length === size) await whole()
    else await pipeline(open(start, length), res)
  } catch (error) {
    // a client that hangs up mid-blob is normal; anything else has already cut the response short
    if ((error as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') res.destroy()
  }
}
