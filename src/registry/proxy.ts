import {request as httpRequest, type RequestOptions} from 'node:http'
import {Agent as HttpsAgent, type AgentOptions} from 'node:https'
import {BlockList, isIP} from 'node:net'
import type {Duplex} from 'node:stream'
import {connect as tlsConnect, type ConnectionOptions} from 'node:tls'

import {AirlockError} from '../ui/errors.js'

/*
 * Registries reached through an HTTP proxy, as build machines behind a corporate egress reach them:
 * HTTPS_PROXY / HTTP_PROXY / NO_PROXY (either case) read as curl and Go read them. https goes through
 * a CONNECT tunnel (TLS is end to end, the proxy sees only the host), plain http in absolute form.
 * Loopback never goes through a proxy (Go's rule), nor hosts NO_PROXY names.
 */

function loopback(host: string): boolean {
  if (host === 'localhost' || host.endsWith('.localhost')) return true
  if (isIP(host) === 4) return host.startsWith('127.')
  return isIP(host) === 6 && (host === '::1' || host === '0:0:0:0:0:0:0:1')
}

/** `host`, `.domain`, `*.domain`, `host:port`, `[v6]:port`, an IP or a CIDR block. */
function bypassed(host: string, port: string, noProxy: string): boolean {
  for (const raw of noProxy.split(/[\s,]+/).filter(Boolean)) {
    if (raw === '*') return true
    let entry = raw.toLowerCase()
    let entryPort: string | undefined
    const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry)
    if (v6) {
      entry = v6[1] as string
      entryPort = v6[2]
    } else if (/^[^:]+:\d+$/.test(entry)) {
      ;[entry, entryPort] = entry.split(':') as [string, string]
    }
    if (entryPort && entryPort !== port) continue
    if (entry.includes('/') && isIP(host)) {
      const [net, bits] = entry.split('/') as [string, string]
      const type = isIP(net) === 6 ? 'ipv6' : 'ipv4'
      if (isIP(net) && isIP(host) === isIP(net)) {
        const list = new BlockList()
        list.addSubnet(net, Number(bits), type)
        if (list.check(host, type)) return true
      }
      continue
    }
    const domain = entry.replace(/^\*?\./, '')
    if (host === domain || host.endsWith(`.${domain}`)) return true
  }
  return false
}

/** The proxy a request to `url` goes through, or undefined to go direct. */
export function proxyFor(url: URL, env: NodeJS.ProcessEnv): URL | undefined {
  const name = url.protocol === 'https:' ? 'HTTPS_PROXY' : 'HTTP_PROXY'
  const raw = env[name] ?? env[name.toLowerCase()]
  if (!raw) return undefined
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase()
  const port = url.port || (url.protocol === 'https:' ? '443' : '80')
  if (loopback(host) || bypassed(host, port, env.NO_PROXY ?? env.no_proxy ?? '')) return undefined
  let proxy: URL
  try {
    proxy = new URL(raw.includes('://') ? raw : `http://${raw}`)
  } catch (error) {
    throw new AirlockError('USAGE', `${name}=${raw} is not a proxy URL`, {subject: name, hint: 'write http://HOST:PORT (with user:password@ if the proxy asks for it), or unset it', cause: error})
  }
  if (proxy.protocol !== 'http:') {
    throw new AirlockError('USAGE', `${name}=${raw}: airlock reaches registries through http:// proxies only`, {subject: name, hint: 'name the proxy as http://HOST:PORT (the tunnel to the registry is still TLS), or unset it'})
  }
  return proxy
}

/** Proxy-Authorization for a proxy URL with user:password in it. */
export function proxyAuthorization(proxy: URL): Record<string, string> {
  if (!proxy.username) return {}
  const user = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`
  return {'proxy-authorization': `Basic ${Buffer.from(user).toString('base64')}`}
}

/**
 * An https agent whose connections are CONNECT tunnels through `proxy`: keep-alive and the CA bundle
 * work as on a direct agent, the TLS handshake (and the certificate check) is with the registry.
 */
export class TunnelAgent extends HttpsAgent {
  constructor(
    private readonly proxy: URL,
    private readonly timeoutMs: number,
    options: AgentOptions,
  ) {
    super(options)
  }

  override createConnection(requestOptions: RequestOptions, callback?: (error: Error | null, stream: Duplex) => void): undefined {
    const options = requestOptions as ConnectionOptions & {host?: string; port?: number}
    const done = callback ?? (() => {})
    const host = (options.host ?? 'localhost').replace(/^\[|\]$/g, '')
    const target = `${host.includes(':') ? `[${host}]` : host}:${options.port ?? 443}`
    const req = httpRequest({host: this.proxy.hostname.replace(/^\[|\]$/g, ''), port: Number(this.proxy.port || 80), method: 'CONNECT', path: target, headers: {host: target, ...proxyAuthorization(this.proxy)}})
    req.setTimeout(this.timeoutMs, () => req.destroy(Object.assign(new Error(`the proxy ${this.proxy.host} did not open a tunnel to ${target} within ${this.timeoutMs / 1000} s`), {code: 'ETIMEDOUT'})))
    req.once('connect', (res, socket) => {
      req.setTimeout(0)
      if (res.statusCode !== 200) {
        socket.destroy()
        done(Object.assign(new Error(`the proxy ${this.proxy.host} refused a tunnel to ${target} (HTTP ${res.statusCode})`), {code: 'EPROXY'}), socket)
        return
      }
      done(null, tlsConnect({...options, host, socket, servername: options.servername || (isIP(host) ? undefined : host)}))
    })
    req.once('error', (error) => done(error, req.socket as Duplex))
    req.end()
    return undefined
  }
}
