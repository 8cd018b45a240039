import {Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders} from 'node:http'
import {Agent as HttpsAgent, request as httpsRequest} from 'node:https'
import type {Readable} from 'node:stream'

import {AirlockError} from '../ui/errors.js'
import {attemptsOf, retryPolicy, withRetries, type RetryPolicy} from '../util/retry.js'
import {proxyAuthorization, proxyFor, TunnelAgent} from './proxy.js'

/** A request body that can be produced again, so a retry or an auth round trip can resend it. */
export type Body = Buffer | (() => Readable)

export interface TransportOptions {
  /** PEM of extra CAs (--registry-ca), trusted in addition to the system ones */
  ca?: string
  /** hosts (host[:port]) that are reached over plain HTTP (--insecure-registry) */
  insecure?: string[]
  /** attempts for one request on connection errors, 429 and 5xx (default: the retry policy's) */
  attempts?: number
  /** first backoff in ms, doubled each time (default: the retry policy's) */
  backoffMs?: number
  timeoutMs?: number
  /** where HTTPS_PROXY, HTTP_PROXY and NO_PROXY are read (default: the process environment) */
  env?: NodeJS.ProcessEnv
}

const REDIRECTS = new Set([301, 302, 303, 307, 308])
const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504])
const RETRY_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED', 'EAI_AGAIN', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET', 'EHOSTUNREACH', 'ENETUNREACH'])
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/

/** A failure worth trying again: a dropped connection, a timeout, or 429/5xx. */
export class RetryableError extends Error {
  constructor(message: string, readonly retryAfterMs?: number, options?: ErrorOptions) {
    super(message, options)
  }
}

export function isRetryable(error: unknown): boolean {
  if (error instanceof RetryableError) return true
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  if (code && RETRY_CODES.has(code)) return true
  return /socket hang up|aborted|premature close|terminated/i.test((error as Error | undefined)?.message ?? '')
}

export function drain(res: IncomingMessage): void {
  res.resume()
  res.on('error', () => {})
}

/**
 * HTTP for registries over node:http(s): keep-alive agents, the --registry-ca bundle, plain HTTP only
 * for hosts named with --insecure-registry, redirects that never carry the registry's Authorization
 * to another host (blob storage), and retries under the one retry policy (src/util/retry.ts).
 */
export class Transport {
  private readonly https: HttpsAgent
  private readonly http = new HttpAgent({keepAlive: true, maxSockets: 32})
  private readonly tunnels = new Map<string, TunnelAgent>()
  readonly policy: RetryPolicy

  constructor(readonly options: TransportOptions = {}) {
    this.https = new HttpsAgent({keepAlive: true, maxSockets: 32, ...(options.ca ? {ca: options.ca} : {})})
    this.policy = retryPolicy({...(options.attempts === undefined ? {} : {attempts: options.attempts}), ...(options.backoffMs === undefined ? {} : {backoffMs: options.backoffMs})})
  }

  /** One tunnelling agent per proxy, so connections through it are kept alive like direct ones. */
  private tunnel(proxy: URL): TunnelAgent {
    let agent = this.tunnels.get(proxy.href)
    if (!agent) {
      agent = new TunnelAgent(proxy, this.options.timeoutMs ?? 120_000, {keepAlive: true, maxSockets: 32, ...(this.options.ca ? {ca: this.options.ca} : {})})
      this.tunnels.set(proxy.href, agent)
    }
    return agent
  }

  isInsecure(host: string): boolean {
    return (this.options.insecure ?? []).some((h) => h.replace(/^https?:\/\//, '').replace(/\/$/, '') === host)
  }

  baseUrl(host: string): URL {
    return new URL(`${this.isInsecure(host) ? 'http' : 'https'}://${host}/`)
  }

  /** One HTTP exchange, no redirects, no retries; the caller reads or drains the response. */
  once(method: string, url: URL, headers: OutgoingHttpHeaders, body?: Body): Promise<IncomingMessage> {
    const proxy = proxyFor(url, this.options.env ?? process.env)
    return new Promise((resolve, reject) => {
      const isHttps = url.protocol === 'https:'
      const all = {'user-agent': 'airlock', ...headers}
      let req
      if (proxy && !isHttps) {
        // plain http through a proxy: the request in absolute form, to the proxy
        req = httpRequest({host: proxy.hostname.replace(/^\[|\]$/g, ''), port: Number(proxy.port || 80), path: url.href, method, headers: {...all, host: url.host, ...proxyAuthorization(proxy)}, agent: this.http})
      } else {
        req = (isHttps ? httpsRequest : httpRequest)(url, {method, headers: all, agent: isHttps ? (proxy ? (this.tunnel(proxy) as HttpsAgent) : this.https) : (this.http as HttpAgent)})
      }
      req.setTimeout(this.options.timeoutMs ?? 120_000, () => req.destroy(Object.assign(new Error(`no answer from ${url.host} for ${(this.options.timeoutMs ?? 120_000) / 1000} s`), {code: 'ETIMEDOUT'})))
      req.once('error', reject)
      req.once('response', resolve)
      if (body === undefined) req.end()
      else if (Buffer.isBuffer(body)) req.end(body)
      else {
        const stream = body()
        stream.once('error', (error) => req.destroy(error))
        stream.pipe(req)
      }
    })
  }

  /** GET/HEAD following redirects; Authorization is dropped as soon as the origin changes. */
  async follow(method: string, url: URL, headers: OutgoingHttpHeaders, body?: Body): Promise<{res: IncomingMessage; url: URL}> {
    let current = url
    let hdrs = headers
    for (let hop = 0; hop <= 5; hop++) {
      const res = await this.once(method, current, hdrs, body)
      const location = res.headers.location
      if (!REDIRECTS.has(res.statusCode ?? 0) || !location || (method !== 'GET' && method !== 'HEAD')) return {res, url: current}
      drain(res)
      const next = new URL(location, current)
      if (next.origin !== current.origin) {
        const {authorization: _dropped, ...rest} = hdrs
        hdrs = rest
      }
      current = next
    }
    throw new AirlockError('REGISTRY_ERROR', `too many redirects from ${url.host}`, {subject: url.host})
  }

  /** Runs `attempt` under the retry policy while it fails with a retryable error; the last failure names the attempts. */
  async retry<T>(what: string, subject: string, attempt: (n: number) => Promise<T>): Promise<T> {
    try {
      return await withRetries(attempt, {
        policy: this.policy,
        retryable: (error) => !(error instanceof AirlockError) && isRetryable(error),
        retryAfterMs: (error) => (error instanceof RetryableError ? error.retryAfterMs : undefined),
      })
    } catch (error) {
      if (error instanceof AirlockError) throw error
      throw describeNetworkError(error, what, subject, attemptsOf(error))
    }
  }

  close(): void {
    this.https.destroy()
    this.http.destroy()
    for (const agent of this.tunnels.values()) agent.destroy()
  }
}

/** Retry-After in either form RFC 9110 allows: delay-seconds, or an HTTP-date (what some CDNs in front of registries send). */
export function retryAfter(headers: IncomingHttpHeaders, now = Date.now()): number | undefined {
  const v = headers['retry-after']?.trim()
  if (!v) return undefined
  if (/^\d+$/.test(v)) return Number(v) * 1000
  const at = Date.parse(v)
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined
}

/** A status worth retrying becomes a RetryableError; the body is drained so the socket is reused. */
export function throwIfRetryable(res: IncomingMessage, what: string): void {
  const status = res.statusCode ?? 0
  if (RETRY_STATUS.has(status)) {
    drain(res)
    // 429 is the registry's pull-rate limit (Docker Hub's toomanyrequests): say so, since logging in often lifts it
    throw new RetryableError(`${what}: HTTP ${status}${status === 429 ? ' (rate limited by the registry; credentials often raise the limit)' : ''}`, retryAfter(res.headers))
  }
}

function describeNetworkError(error: unknown, what: string, subject: string, attempts: number): AirlockError {
  const err = error as NodeJS.ErrnoException
  const msg = err.message ?? String(error)
  const code = err.code ?? ''
  if (TLS_CODES.test(code) || /certificate/i.test(msg)) {
    return new AirlockError('REMOTE_UNREACHABLE', `${what}: the TLS certificate of ${subject} is not trusted (${msg})`, {subject, hint: 'pass --registry-ca with the CA that issued the registry certificate', cause: error})
  }
  if (code === 'EPROTO' || /wrong version number|packet length too long/i.test(msg)) {
    return new AirlockError('REMOTE_UNREACHABLE', `${what}: ${subject} does not speak TLS`, {subject, hint: `if the registry is plain HTTP, name it with --insecure-registry ${subject}`, cause: error})
  }
  if (code === 'EPROXY') {
    return new AirlockError('REMOTE_UNREACHABLE', `${what}: ${msg}`, {subject, hint: 'check HTTPS_PROXY / HTTP_PROXY (and the proxy\'s allow list), or add the registry to NO_PROXY', cause: error})
  }
  if (code === 'ENOTFOUND') {
    return new AirlockError('REMOTE_UNREACHABLE', `${what}: cannot resolve ${subject}`, {subject, hint: 'check the registry name and DNS', cause: error})
  }
  // Never reached at all is "unreachable"; reached but dropped, 429 or 5xx until the bound is a registry error.
  const unreachable = ['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'].includes(code)
  const limited = error instanceof RetryableError && msg.includes('HTTP 429')
  return new AirlockError(unreachable ? 'REMOTE_UNREACHABLE' : 'REGISTRY_ERROR', `${what}: ${msg}${attempts > 1 ? ` (after ${attempts} attempts)` : ''}`, {
    subject,
    hint: limited
      ? 'the registry rate-limits this client: log in (credentials usually raise the limit, as on Docker Hub), use a mirror, or run again later'
      : 'check that the registry is up and reachable; airlock retries dropped connections, 429 and 5xx with backoff',
    cause: error,
  })
}
