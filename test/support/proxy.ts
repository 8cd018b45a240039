import {createServer, request as httpRequest} from 'node:http'
import {connect, type Socket} from 'node:net'

import {registerCleanup} from './cleanup.js'

/**
 * An HTTP proxy as corporate egress runs one: CONNECT tunnels and absolute-form requests, for the
 * hosts it knows (names that only it resolves, to 127.0.0.1), refusing others. Records what it saw.
 */
export async function startProxy(names: string[]): Promise<{url: string; seen: string[]}> {
  const seen: string[] = []
  const sockets = new Set<Socket>()
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`)
    const target = new URL(req.url ?? '')
    if (!names.includes(target.hostname)) return void res.writeHead(403).end()
    const up = httpRequest({host: '127.0.0.1', port: Number(target.port), path: `${target.pathname}${target.search}`, method: req.method, headers: req.headers}, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers)
      ur.pipe(res)
    })
    up.on('error', () => res.destroy())
    req.pipe(up)
  })
  server.on('connect', (req, socket: Socket, head: Buffer) => {
    seen.push(`CONNECT ${req.url}`)
    sockets.add(socket)
    const [host, port] = (req.url ?? '').split(':')
    if (!names.includes(host ?? '')) return void socket.end('HTTP/1.1 403 Forbidden\r\n\r\n')
    const up = connect(Number(port), '127.0.0.1', () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      up.write(head)
      up.pipe(socket)
      socket.pipe(up)
    })
    sockets.add(up)
    up.on('error', () => socket.destroy())
    socket.on('error', () => up.destroy())
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  registerCleanup('test proxy', () => new Promise<void>((r) => {
    for (const s of sockets) s.destroy()
    server.closeAllConnections()
    server.close(() => r())
  }))
  return {url: `http://127.0.0.1:${(server.address() as {port: number}).port}`, seen}
}
