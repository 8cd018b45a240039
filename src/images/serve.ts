import {createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import {createServer as createHttpsServer} from 'node:https'
import type {AddressInfo} from 'node:net'

import type {Trust} from '../signing/trust.js'
import {openRandomAccess, type RandomAccessBundle} from '../transport/random-access.js'
import {AirlockError} from '../ui/errors.js'
import {readSmallFile} from '../util/fs.js'
import {locateBundleEntries, type LocatedBundle} from './bundle-read.js'
import {LAYOUT_DIR} from './contribute.js'
import {answer, sendError} from './distribution-api.js'
import {catalogue, type CatalogueImage} from './serve-catalogue.js'

export interface ServeOptions {
  /** a bundle file, its first part or its `.split.json` index */
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

export interface ServedImage extends CatalogueImage {
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
  /**
   * true: every blob is hashed as it is sent (--no-verify, S3, a network file system, a bundle
   * changed just before serve started); false: checked against the files pinned at verification
   */
  rehash: boolean
  images: ServedImage[]
  /** tags two images claim (same repository path from two registries): the first listed wins */
  conflicts: string[]
}

export interface ImageServer {
  result: ServeResult
  close(): Promise<void>
}

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
    // Pinned before verifying and checked after: the bytes verified are the bytes served, and a blob
    // is then checked against the pin instead of hashed again (see sendChecked)
    const pin = options.trust ? await bundle.pin?.() : undefined
    const {located, readFrom} = await locate(options, bundle, progress)
    await pin?.checkPaths(readFrom)
    const {repositories, images, conflicts} = await catalogue(options.bundle, bundle, located)
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      const started = Date.now()
      const log = (how: string) => options.log?.(`${req.method} ${req.url} ${res.statusCode} ${Date.now() - started}ms${how}`)
      res.once('finish', () => log(''))
      res.once('close', () => res.writableFinished || log(' (cut short)'))
      answer(req, res, repositories, {bundle, pin}).catch((error: unknown) => {
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
      rehash: !pin,
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

/** Offsets of the layout's entries: from the verifying pass itself, or from the same walk unhashed. */
async function locate(options: ServeOptions, bundle: RandomAccessBundle, progress: (text: string) => void): Promise<LocatedBundle> {
  if (options.trust) progress(`verifying ${options.bundle}`)
  return locateBundleEntries(bundle, options.bundle, {trust: options.trust, only: `${LAYOUT_DIR}/`})
}
