import {createHash} from 'node:crypto'
import {createWriteStream} from 'node:fs'
import {rm} from 'node:fs/promises'
import {get as httpsGet, type RequestOptions} from 'node:https'
import type {IncomingMessage} from 'node:http'
import {pipeline} from 'node:stream/promises'
import {Transform} from 'node:stream'

import {proxyFor, TunnelAgent} from '../registry/proxy.js'
import {AirlockError} from '../ui/errors.js'

export interface DownloadOptions {
  /** PEM of extra CAs to trust (--ca-file), on top of the system ones */
  ca?: string
  /** expected hex digest; a mismatch deletes the file */
  sha256?: string
  maxRedirects?: number
  /** what to name in errors (the spec path) */
  subject?: string
  /** HTTP basic credentials, sent only to the origin of the URL asked for (not across a redirect to another host) */
  basicAuth?: {username: string; password: string}
}

function request(url: URL, options: RequestOptions): Promise<IncomingMessage> {
  // through HTTPS_PROXY as registries are reached (a CONNECT tunnel: TLS and its checks stay end to end)
  const proxy = proxyFor(url, process.env)
  const agent = proxy ? new TunnelAgent(proxy, 60_000, {}) : undefined
  return new Promise((resolve, reject) => {
    const req = httpsGet(url, {...options, ...(agent ? {agent} : {})}, resolve)
    if (agent) req.once('close', () => agent.destroy())
    req.once('error', reject)
    req.setTimeout(60_000, () => req.destroy(new Error('no answer for 60 s')))
  })
}

/**
 * Downloads an https:// URL to `dest`, hashing on the way. Only https is accepted: a file that goes
 * into a signed bundle must not come over a channel anyone on the path can rewrite, unless its
 * sha256 is pinned in the spec.
 */
export async function downloadToFile(rawUrl: string, dest: string, options: DownloadOptions = {}): Promise<{sha256: string; size: number}> {
  const subject = options.subject ?? rawUrl
  let url = new URL(rawUrl)
  for (let hop = 0; ; hop++) {
    if (url.protocol !== 'https:') {
      throw new AirlockError('INPUT_INVALID', `${rawUrl} redirects to ${url.protocol} which is not https`, {subject})
    }
    let res: IncomingMessage
    try {
      const auth = options.basicAuth && url.origin === new URL(rawUrl).origin ? `${options.basicAuth.username}:${options.basicAuth.password}` : undefined
      res = await request(url, {...(options.ca ? {ca: options.ca} : {}), ...(auth ? {auth} : {})})
    } catch (error) {
      const msg = (error as Error).message
      const tls = /certificate|self.signed|CERT_|unable to verify/i.test(msg)
      throw new AirlockError('REMOTE_UNREACHABLE', `cannot download ${url.href}: ${msg}`, {
        subject,
        hint: tls ? 'the server certificate is not trusted: pass --ca-file with its CA' : 'check the URL and the network',
        cause: error,
      })
    }
    const status = res.statusCode ?? 0
    if (status >= 300 && status < 400 && res.headers.location) {
      res.resume()
      if (hop >= (options.maxRedirects ?? 5)) throw new AirlockError('REMOTE_ERROR', `too many redirects from ${rawUrl}`, {subject})
      url = new URL(res.headers.location, url)
      continue
    }
    if (status !== 200) {
      res.resume()
      const hint = status === 404 ? 'check the URL in the spec' : status === 401 || status === 403 ? 'the server wants credentials: log in to it (an auths entry for its host in the registry credentials file), or give them as https://USER:PASSWORD@HOST/...' : 'try again later'
      throw new AirlockError(status === 401 || status === 403 ? 'REGISTRY_AUTH' : 'REMOTE_ERROR', `${url.href} answered HTTP ${status}`, {subject, hint})
    }
    const hash = createHash('sha256')
    let size = 0
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk)
        size += chunk.length
        cb(null, chunk)
      },
    })
    try {
      await pipeline(res, tap, createWriteStream(dest, {mode: 0o600}))
    } catch (error) {
      await rm(dest, {force: true})
      throw new AirlockError('REMOTE_ERROR', `download of ${url.href} failed: ${(error as Error).message}`, {subject, cause: error})
    }
    const sha256 = hash.digest('hex')
    const expected = options.sha256?.replace(/^sha256:/, '')
    if (expected && expected !== sha256) {
      await rm(dest, {force: true})
      throw new AirlockError('DIGEST_MISMATCH', `${rawUrl} has sha256:${sha256}, the spec expects sha256:${expected}`, {subject, hint: 'the file at that URL changed; check it and update sha256 in the spec'})
    }
    return {sha256, size}
  }
}
