import {isIP, connect as netConnect, type Socket} from 'node:net'
import {Readable} from 'node:stream'
import {connect as tlsConnect, type ConnectionOptions} from 'node:tls'

/*
 * The HTTP exchange under the S3 client's GETs of a bundle read in place. Reading a 512 MB bundle
 * from a store on the same host cost 1.8-2.4 s of CPU through node:http (curl: 0.3 s): Node's HTTP
 * client reads each 64 KiB from the socket into a freshly allocated buffer, so every byte received
 * is a page fault, and the external memory drives the collector through a full mark-compact of the
 * whole heap every few tens of MB. Here a connection reads with the socket `onread` option: the
 * head into one buffer of its own, and a body of known length straight into the caller's range
 * buffer, so the kernel's copy is the only one and nothing is allocated per read. The same 512 MB
 * cost 0.5 s.
 *
 * Only the transfer is done here: the SDK still resolves the endpoint (path-style, region), takes
 * the credentials from its chain, signs the request and parses the answer (an error's XML included),
 * and airlock's one retry policy still decides what is tried again. Anything but a body-less GET
 * (HEAD, PUT, ...) goes to the SDK's own handler unchanged.
 */

/** The fields of the SDK's HttpRequest read here. */
export interface SdkHttpRequest {
  method: string
  protocol: string
  hostname: string
  port?: number
  path: string
  query?: Record<string, string | (string | null)[] | null | undefined>
  headers: Record<string, string>
  body?: unknown
  fragment?: string
  username?: string
  password?: string
}

export interface SdkHttpResponse {
  statusCode: number
  reason?: string
  headers: Record<string, string>
  body: Readable
}

interface SdkHandlerOptions {
  abortSignal?: {aborted: boolean; addEventListener?: (type: 'abort', fn: () => void, options?: {once: boolean}) => void}
}

/** The SDK's request handler, as far as the S3 client uses it. */
export interface SdkRequestHandler {
  handle(request: SdkHttpRequest, options?: SdkHandlerOptions): Promise<{response: SdkHttpResponse}>
  destroy?(): void
  updateHttpClientConfig?(key: never, value: never): void
  httpHandlerConfigs?(): Record<string, unknown>
}

/** bytes one socket read lands in (Node's own read size) */
const READ_BYTES = 64 * 1024
/** response headers larger than this are refused (S3 sends about 1 KiB) */
const MAX_HEAD_BYTES = 64 * 1024
/** idle connections kept per host */
const MAX_IDLE = 16
/** connections open at once when the SDK's agent names no limit */
const DEFAULT_MAX_SOCKETS = 16
/** a connection silent this long while an answer is awaited is given up (and the GET retried) */
const SILENCE_MS = 120_000

/** TLS settings of an HTTPS agent that a connection of ours takes over (trust, client certificates, versions) */
const TLS_SETTINGS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'crl', 'rejectUnauthorized', 'checkServerIdentity', 'ciphers', 'ecdhCurve', 'minVersion', 'maxVersion', 'secureOptions', 'sigalgs', 'secureContext'] as const

/** A failure of the connection (code as Node's own, so the retry policy knows it) or of the protocol (HTTP_PROTOCOL). */
function networkError(message: string, code: string): Error {
  return Object.assign(new Error(message), {code, ...(code === 'ETIMEDOUT' ? {name: 'TimeoutError'} : {})})
}

/** The SDK's query encoding (RFC 3986, keys sorted), which the signature covers. */
function queryString(query: SdkHttpRequest['query']): string {
  const escape = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
  const parts: string[] = []
  for (const key of Object.keys(query ?? {}).sort()) {
    const value = query?.[key]
    if (Array.isArray(value)) for (const v of value) parts.push(`${escape(key)}=${escape(v ?? '')}`)
    else parts.push(value || typeof value === 'string' ? `${escape(key)}=${escape(value)}` : escape(key))
  }
  return parts.join('&')
}

function requestHead(request: SdkHttpRequest, host: string): string {
  let path = request.path || '/'
  const query = queryString(request.query)
  if (query) path += `?${query}`
  const headers: Record<string, string> = {...request.headers}
  if (!Object.keys(headers).some((k) => k.toLowerCase() === 'host')) headers.host = request.port ? `${host}:${request.port}` : host
  let head = `GET ${path} HTTP/1.1\r\n`
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`
  // a CR or LF in a name, a value or the path would split the request: never sent
  if (/[\0\n\r]/.test(head.replaceAll('\r\n', ''))) throw new TypeError('a request header or path holds a line break')
  return `${head}\r\n`
}

/** A response being received: its head, then its body in whatever framing the server chose. */
class Exchange {
  private head: Buffer | undefined
  private framing: 'length' | 'chunked' | 'close' = 'length'
  private left = 0
  private chunkState: 'size' | 'data' | 'data-end' | 'trailer' = 'size'
  private line = ''
  private keepAlive = true
  body: ResponseBody | undefined
  /** some byte of the answer arrived: a failure now is not a stale keep-alive connection */
  started = false
  done = false

  constructor(
    private readonly conn: Connection,
    private readonly onHead: (response: SdkHttpResponse) => void,
    private readonly onError: (error: Error) => void,
  ) {}

  receive(bytes: Buffer): void {
    this.started = true
    if (!this.body) {
      const head = this.head ? Buffer.concat([this.head, bytes]) : Buffer.from(bytes)
      const end = head.indexOf('\r\n\r\n')
      if (end < 0) {
        if (head.length > MAX_HEAD_BYTES) return this.fail(networkError('the response headers are too large', 'HTTP_PROTOCOL'))
        this.head = head
        return
      }
      this.head = undefined
      const rest = head.subarray(end + 4)
      if (!this.parseHead(head.subarray(0, end).toString('latin1'))) {
        // an interim answer (100 Continue): the real one follows
        if (rest.length > 0) this.receive(rest)
        return
      }
      if (!this.done && (rest.length > 0 || this.framing === 'length')) this.receiveBody(rest)
      return
    }
    this.receiveBody(bytes)
  }

  /** false for a 1xx answer, which is skipped */
  private parseHead(text: string): boolean {
    const lines = text.split('\r\n')
    const status = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(lines[0] ?? '')
    if (!status) {
      this.fail(networkError(`the server answered something other than HTTP/1.1: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`, 'HTTP_PROTOCOL'))
      return true
    }
    const code = Number(status[2])
    if (code < 200) return false
    const headers: Record<string, string> = {}
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':')
      if (colon <= 0) continue
      const name = line.slice(0, colon).trim().toLowerCase()
      const value = line.slice(colon + 1).trim()
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value
    }
    this.keepAlive = status[1] === '1' && !/\bclose\b/i.test(headers.connection ?? '')
    if (/\bchunked\b/i.test(headers['transfer-encoding'] ?? '')) {
      this.framing = 'chunked'
    } else if (code === 204 || code === 304) {
      this.left = 0
    } else if (headers['content-length'] !== undefined && /^\d+$/.test(headers['content-length'])) {
      this.left = Number(headers['content-length'])
    } else {
      this.framing = 'close'
      this.keepAlive = false
    }
    this.body = new ResponseBody(this.conn, this)
    this.onHead({statusCode: code, reason: status[3], headers, body: this.body})
    return true
  }

  /** Where the next read may land straight in the body's destination (its exact remaining bytes), if anywhere. */
  inPlace(): Buffer | undefined {
    return this.framing === 'length' && this.left > 0 && !this.done ? this.body?.inPlace(this.left) : undefined
  }

  /** `n` bytes of the body were read straight into the slice inPlace() gave. */
  receivedInPlace(n: number): void {
    this.left -= n
    ;(this.body as ResponseBody).advance(n)
    if (this.left === 0) this.finish()
  }

  private receiveBody(bytes: Buffer): void {
    const body = this.body as ResponseBody
    if (this.framing === 'close') {
      if (bytes.length > 0) body.deliver(bytes)
      return
    }
    if (this.framing === 'length') {
      const take = Math.min(this.left, bytes.length)
      if (take > 0) body.deliver(bytes.subarray(0, take))
      this.left -= take
      if (this.left === 0) {
        // bytes past the declared length: the connection is out of step, never reused
        if (bytes.length > take) this.keepAlive = false
        this.finish()
      }
      return
    }
    let at = 0
    while (at < bytes.length && !this.done) {
      if (this.chunkState === 'data') {
        const take = Math.min(this.left, bytes.length - at)
        body.deliver(bytes.subarray(at, at + take))
        at += take
        this.left -= take
        if (this.left === 0) this.chunkState = 'data-end'
        continue
      }
      const nl = bytes.indexOf(10, at)
      const upTo = nl < 0 ? bytes.length : nl
      this.line += bytes.subarray(at, upTo).toString('latin1')
      at = upTo
      if (this.line.length > 4096) return this.fail(networkError('a chunk header of the response is too long', 'HTTP_PROTOCOL'))
      if (nl < 0) break
      at++
      const line = this.line.replace(/\r$/, '')
      this.line = ''
      if (this.chunkState === 'data-end') {
        if (line !== '') return this.fail(networkError('a chunk of the response is longer than it said', 'HTTP_PROTOCOL'))
        this.chunkState = 'size'
      } else if (this.chunkState === 'size') {
        const size = /^([0-9a-fA-F]+)\s*(?:;.*)?$/.exec(line)
        if (!size) return this.fail(networkError('the response has a malformed chunk size', 'HTTP_PROTOCOL'))
        this.left = Number.parseInt(size[1] as string, 16)
        this.chunkState = this.left === 0 ? 'trailer' : 'data'
      } else if (line === '') {
        if (at < bytes.length) this.keepAlive = false
        this.finish()
      }
    }
  }

  private finish(): void {
    if (this.done) return
    this.done = true
    this.conn.release(this.keepAlive)
    this.body?.end()
  }

  /** The connection closed: the end of a body framed by the close, a failure for anything else. */
  closed(error?: Error): void {
    if (this.done) return
    if (!error && this.body && this.framing === 'close') return this.finish()
    this.fail(error ?? networkError(this.body ? 'the connection closed before the response ended' : 'the connection closed before any response', 'ECONNRESET'))
  }

  fail(error: Error): void {
    if (this.done) return
    this.done = true
    this.conn.destroy()
    if (this.body) this.body.fail(error)
    else this.onError(error)
  }
}

/**
 * A response body. It is a plain Readable for whoever reads it so (the SDK reads an error's XML
 * this way); `readInto` instead has the socket read the body into the caller's buffer (only bytes
 * that came with the head, or a chunked body, are copied there). Until one of the two begins, those
 * bytes are kept and the socket paused, so nothing is lost and nothing piles up.
 */
export class ResponseBody extends Readable {
  private mode: 'waiting' | 'stream' | 'into' = 'waiting'
  private kept: Buffer[] = []
  private ended = false
  /** a failure before anyone read: reported to the first reader (an 'error' nobody listens to would end the process) */
  private failure: Error | undefined
  private into: {dst: Buffer; got: number; landed?: (n: number) => void; resolve: (n: number) => void; reject: (e: Error) => void} | undefined

  constructor(
    private readonly conn: Connection,
    private readonly exchange: Exchange,
  ) {
    super()
  }

  /**
   * Fills `dst` from its start with the body; resolves with the body's length once it has ended, or
   * as soon as it proves longer than `dst` (the count so far, more than dst.length; the connection
   * is then dropped). `landed` is told how many bytes are in `dst` as they arrive, so that a body
   * cut short still tells how much of it came. Only for a body not yet read otherwise.
   */
  readInto(dst: Buffer, landed?: (n: number) => void): Promise<number> {
    if (this.mode !== 'waiting') return Promise.reject(new Error('the response body is already being read'))
    this.mode = 'into'
    if (this.failure) return Promise.reject(this.failure)
    return new Promise<number>((resolve, reject) => {
      this.into = {dst, got: 0, landed, resolve, reject}
      for (const b of this.kept.splice(0)) {
        this.deliver(b)
        if (!this.into) return
      }
      if (this.ended) this.end()
      else this.conn.resume()
    })
  }

  /** @internal the free part of the destination, at most `max` bytes, while the body is read into one */
  inPlace(max: number): Buffer | undefined {
    if (this.mode !== 'into' || !this.into || this.into.got >= this.into.dst.length) return undefined
    return this.into.dst.subarray(this.into.got, this.into.got + Math.min(max, this.into.dst.length - this.into.got))
  }

  /** @internal `n` bytes landed in the slice inPlace() gave */
  advance(n: number): void {
    if (!this.into) return
    this.into.got += n
    this.into.landed?.(this.into.got)
  }

  /** @internal bytes of the body, valid only during this call */
  deliver(bytes: Buffer): void {
    if (this.mode === 'into' && this.into) {
      const {dst} = this.into
      if (this.into.got + bytes.length > dst.length) {
        const got = this.into.got + bytes.length
        const {resolve} = this.into
        this.into = undefined
        this.exchange.fail(networkError('the body is longer than the buffer given', 'HTTP_PROTOCOL'))
        return resolve(got)
      }
      bytes.copy(dst, this.into.got)
      this.into.got += bytes.length
      this.into.landed?.(this.into.got)
    } else if (this.mode === 'stream') {
      if (!this.push(Buffer.from(bytes))) this.conn.pause()
    } else if (this.mode === 'waiting') {
      this.kept.push(Buffer.from(bytes))
      this.conn.pause()
    }
  }

  /** @internal */
  end(): void {
    this.ended = true
    if (this.mode === 'into') {
      const into = this.into
      this.into = undefined
      into?.resolve(into.got)
    } else if (this.mode === 'stream') {
      this.push(null)
    }
  }

  /** @internal */
  fail(error: Error): void {
    if (this.mode === 'into') {
      const into = this.into
      this.into = undefined
      into?.reject(error)
    } else if (this.mode === 'stream') {
      this.destroy(error)
    } else {
      this.failure = error
    }
  }

  override _read(): void {
    if (this.mode === 'waiting') {
      this.mode = 'stream'
      if (this.failure) {
        this.destroy(this.failure)
        return
      }
      for (const b of this.kept.splice(0)) this.push(b)
      if (this.ended) {
        this.push(null)
        return
      }
    }
    if (!this.ended) this.conn.resume()
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // a body dropped unread leaves the connection mid-answer: it cannot serve another request
    if (!this.ended) this.exchange.fail(error ?? networkError('the response body was dropped', 'ECONNRESET'))
    callback(error)
  }
}

/** One keep-alive connection, reading into a buffer of its own. */
class Connection {
  readonly socket: Socket
  private exchange: Exchange | undefined
  /** it served an answer before: a failure before any byte of the next is a connection the server closed */
  reused = false
  dead = false

  constructor(
    readonly key: string,
    socket: (onread: {buffer: () => Buffer; callback: (n: number, buf: Buffer) => boolean}) => Socket,
    private readonly pool: RangeGetHandler,
  ) {
    const own = Buffer.allocUnsafe(READ_BYTES)
    this.socket = socket({
      // Node asks after each read where the next one lands: in the body's destination while a
      // body of known length is read into one (the kernel's copy is then the only one), else here
      buffer: () => this.exchange?.inPlace() ?? own,
      callback: (n, buf) => {
        if (buf !== own) this.exchange?.receivedInPlace(n)
        else if (this.exchange) this.exchange.receive(buf.subarray(0, n))
        // bytes nobody asked for (between answers): the connection is out of step
        else this.destroy()
        return true
      },
    })
    this.socket.setTimeout(SILENCE_MS)
    this.socket.on('timeout', () => this.socket.destroy(networkError(`no answer from the S3 endpoint for ${SILENCE_MS / 1000} s`, 'ETIMEDOUT')))
    // an error is followed by 'close', which hands it to the exchange in progress, if any
    let failure: Error | undefined
    this.socket.on('error', (e) => (failure ??= e))
    this.socket.on('close', () => {
      this.dead = true
      this.pool.forget(this)
      const exchange = this.exchange
      this.exchange = undefined
      exchange?.closed(failure)
    })
  }

  /** Sends a GET; resolves with the answer's head (its body follows). */
  send(head: string, options: SdkHandlerOptions): Promise<{response: SdkHttpResponse; exchange: Exchange}> {
    return new Promise((resolve, reject) => {
      const exchange: Exchange = new Exchange(this, (response) => resolve({response, exchange}), (error) => reject(Object.assign(error, {staleConnection: this.reused && !exchange.started})))
      this.exchange = exchange
      this.socket.ref()
      this.resume()
      const signal = options.abortSignal
      if (signal?.aborted) return exchange.fail(Object.assign(new Error('Request aborted'), {name: 'AbortError'}))
      signal?.addEventListener?.('abort', () => exchange.fail(Object.assign(new Error('Request aborted'), {name: 'AbortError'})), {once: true})
      this.socket.write(head)
    })
  }

  /** @internal the answer ended: back to the pool, or closed when it cannot carry another */
  release(keepAlive: boolean): void {
    this.exchange = undefined
    this.reused = true
    if (!keepAlive || this.dead) return this.destroy()
    this.socket.unref()
    this.pool.park(this)
  }

  /** Stops reading until the body's reader wants more: a slow reader is not a silent store, so the clock stops too. */
  pause(): void {
    this.socket.pause()
    this.socket.setTimeout(0)
  }

  resume(): void {
    this.socket.setTimeout(SILENCE_MS)
    this.socket.resume()
  }

  destroy(): void {
    this.dead = true
    this.socket.destroy()
    this.pool.forget(this)
  }
}

/**
 * The S3 client's request handler for reads: body-less GETs over keep-alive connections of its own
 * (plain or TLS, with the TLS options of the SDK's HTTPS agent), everything else to `fallback`.
 */
export class RangeGetHandler implements SdkRequestHandler {
  readonly metadata = {handlerProtocol: 'http/1.1'}
  private readonly idle = new Map<string, Connection[]>()
  private readonly all = new Set<Connection>()
  /** GETs waiting for a connection while as many are open as the SDK's agent allows */
  private readonly waiting: (() => void)[] = []
  private destroyed = false

  constructor(
    private readonly fallback: SdkRequestHandler,
    private readonly connectTimeoutMs = 30_000,
  ) {}

  async handle(request: SdkHttpRequest, options: SdkHandlerOptions = {}): Promise<{response: SdkHttpResponse}> {
    const secure = request.protocol === 'https:'
    if (request.method !== 'GET' || request.body != null || (!secure && request.protocol !== 'http:') || request.username != null || this.destroyed) return this.fallback.handle(request, options)
    const host = request.hostname.startsWith('[') && request.hostname.endsWith(']') ? request.hostname.slice(1, -1) : request.hostname
    const port = request.port ?? (secure ? 443 : 80)
    const head = requestHead(request, request.hostname)
    const key = `${request.protocol}//${host}:${port}`
    for (;;) {
      const {conn, parked} = await this.acquire(key, secure, host, port)
      try {
        const {response} = await conn.send(head, options)
        return {response}
      } catch (error) {
        // a kept-alive connection the server had closed meanwhile: the GET was never answered, so
        // it is sent again at once on a new connection (as browsers do), not counted as an attempt
        if ((error as {staleConnection?: boolean}).staleConnection && parked) continue
        throw error
      }
    }
  }

  /**
   * A kept-alive connection to the host, else a new one while fewer are open than the SDK's agent
   * allows (its maxSockets: ranges in flight + 2), else the next one freed, as the agent would queue.
   */
  private async acquire(key: string, secure: boolean, host: string, port: number): Promise<{conn: Connection; parked: boolean}> {
    const agent = this.fallback.httpHandlerConfigs?.()[secure ? 'httpsAgent' : 'httpAgent'] as {maxSockets?: number} | undefined
    const max = Math.max(1, agent?.maxSockets ?? DEFAULT_MAX_SOCKETS)
    for (;;) {
      if (this.destroyed) throw Object.assign(new Error('the S3 client was closed'), {name: 'AbortError'})
      const parked = this.idle.get(key)?.pop()
      if (parked) return {conn: parked, parked: true}
      if (this.all.size < max) return {conn: await this.connect(key, secure, host, port), parked: false}
      // at the limit with idle connections to another host: one of those makes room
      const other = [...this.idle.values()].find((list) => list.length > 0)?.[0]
      if (other) other.destroy()
      else await new Promise<void>((resolve) => this.waiting.push(resolve))
    }
  }

  private connect(key: string, secure: boolean, host: string, port: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const ready = secure ? 'secureConnect' : 'connect'
      const conn = new Connection(
        key,
        (onread) => {
          // (Node's types have `onread.buffer` as a buffer only; a function returning one is documented too)
          if (!secure) return netConnect({host, port, onread: onread as unknown as {buffer: Buffer; callback: (n: number, buf: Buffer) => boolean}, noDelay: true})
          // the SDK's HTTPS agent carries the TLS settings (CA, client certificates) the client was given
          const agent = (this.fallback.httpHandlerConfigs?.().httpsAgent as {options?: Record<string, unknown>} | undefined)?.options ?? {}
          const settings = Object.fromEntries(TLS_SETTINGS.filter((k) => agent[k] !== undefined).map((k) => [k, agent[k]]))
          // Node's TLS sockets take `onread` as plain ones do (its types omit it)
          const tls = {...settings, host, port, onread, ALPNProtocols: ['http/1.1'], ...(isIP(host) ? {} : {servername: host})} as ConnectionOptions
          const socket = tlsConnect(tls)
          socket.setNoDelay(true)
          return socket
        },
        this,
      )
      this.all.add(conn)
      const timer = setTimeout(() => conn.socket.destroy(networkError(`could not connect to ${host}:${port} within ${this.connectTimeoutMs / 1000} s`, 'ETIMEDOUT')), this.connectTimeoutMs)
      const failed = (error: Error) => {
        clearTimeout(timer)
        reject(error)
      }
      conn.socket.once('error', failed)
      conn.socket.once(ready, () => {
        clearTimeout(timer)
        conn.socket.off('error', failed)
        resolve(conn)
      })
    })
  }

  /** @internal */
  park(conn: Connection): void {
    const list = this.idle.get(conn.key) ?? []
    if (this.destroyed || list.length >= MAX_IDLE) return conn.destroy()
    list.push(conn)
    this.idle.set(conn.key, list)
    this.waiting.shift()?.()
  }

  /** @internal a closed connection leaves the pool */
  forget(conn: Connection): void {
    if (!this.all.delete(conn)) return
    const list = this.idle.get(conn.key)
    const at = list?.indexOf(conn) ?? -1
    if (list && at >= 0) list.splice(at, 1)
    this.waiting.shift()?.()
  }

  destroy(): void {
    this.destroyed = true
    for (const conn of [...this.all]) conn.destroy()
    this.idle.clear()
    // GETs still waiting for a connection fail (their reader is gone)
    for (const wake of this.waiting.splice(0)) wake()
    this.fallback.destroy?.()
  }

  updateHttpClientConfig(key: never, value: never): void {
    this.fallback.updateHttpClientConfig?.(key, value)
  }

  httpHandlerConfigs(): Record<string, unknown> {
    return this.fallback.httpHandlerConfigs?.() ?? {}
  }
}
