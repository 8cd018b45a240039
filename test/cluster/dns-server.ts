import {createSocket, type Socket} from 'node:dgram'
import type {AddressInfo} from 'node:net'

/**
 * A DNS server on 127.0.0.1 (UDP, RFC 1035 wire format) answering A records from a table, NXDOMAIN for
 * any other name and an empty answer for other types: what the resolver of a site's clients does, so
 * `cluster verify --dns-server` is tested against a real resolver conversation.
 */
export interface DnsServer {
  address: string
  queries: string[]
  close(): Promise<void>
}

function readName(msg: Buffer, at: number): {name: string; end: number} {
  const labels: string[] = []
  let i = at
  while (i < msg.length && msg[i] !== 0) {
    const len = msg[i] as number
    labels.push(msg.subarray(i + 1, i + 1 + len).toString('latin1'))
    i += len + 1
  }
  return {name: labels.join('.').toLowerCase(), end: i + 1}
}

export async function startDnsServer(records: Record<string, string>): Promise<DnsServer> {
  const queries: string[] = []
  const socket: Socket = createSocket('udp4')
  socket.on('message', (msg, peer) => {
    if (msg.length < 12) return
    const {name, end} = readName(msg, 12)
    const type = msg.readUInt16BE(end)
    queries.push(`${name} ${type === 1 ? 'A' : type === 28 ? 'AAAA' : type}`)
    const question = msg.subarray(12, end + 4)
    const ip = records[name]
    const header = Buffer.alloc(12)
    msg.copy(header, 0, 0, 2)
    header.writeUInt16BE(ip === undefined ? 0x8183 : 0x8180, 2)
    header.writeUInt16BE(1, 4)
    const answers: Buffer[] = []
    if (ip !== undefined && type === 1) {
      const rr = Buffer.alloc(16)
      rr.writeUInt16BE(0xc00c, 0)
      rr.writeUInt16BE(1, 2)
      rr.writeUInt16BE(1, 4)
      rr.writeUInt32BE(60, 6)
      rr.writeUInt16BE(4, 10)
      ip.split('.').forEach((o, k) => rr.writeUInt8(Number(o), 12 + k))
      answers.push(rr)
    }
    header.writeUInt16BE(answers.length, 6)
    socket.send(Buffer.concat([header, question, ...answers]), peer.port, peer.address)
  })
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  const {port} = socket.address() as AddressInfo
  return {address: `127.0.0.1:${port}`, queries, close: () => new Promise((resolve) => socket.close(() => resolve()))}
}
