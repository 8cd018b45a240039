import {isIP} from 'node:net'

import {AirlockError} from '../ui/errors.js'

/*
 * Subject alternative names: what a certificate may be issued for, how IP addresses are written
 * (RFC 5952 for IPv6), and how a client matches a host against them (RFC 6125).
 */
export interface SubjectAltNames {
  dns: string[]
  ip: string[]
  /** email, URI and other forms, shown for review, never matched */
  other: string[]
}

const DNS_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/

/** The domain first, then each --san once; IP addresses become IP SANs, everything else must be a DNS name. */
export function collectSans(domain: string, sans: string[], subject = '--san', domainSubject = '--domain'): SubjectAltNames {
  const out: SubjectAltNames = {dns: [], ip: [], other: []}
  for (const [i, raw] of [domain, ...sans].entries()) {
    const at = i === 0 ? domainSubject : subject
    const value = raw.trim().toLowerCase()
    if (isIP(value)) {
      const normal = ipToString(ipBytes(value))
      if (!out.ip.includes(normal)) out.ip.push(normal)
      continue
    }
    const name = value.replace(/\.$/, '')
    const labels = name.split('.')
    const wildcardOk = i > 0 && labels[0] === '*' && labels.length > 2
    const valid = name.length <= 253 && labels.length >= 1 && labels.every((l, j) => (j === 0 && wildcardOk) || DNS_LABEL.test(l))
    if (!valid) throw new AirlockError('USAGE', `${at}: ${raw} is neither a DNS name nor an IP address`, {subject: at, hint: 'use a host name like wallaroo.example.com (a *.example.com wildcard is accepted as a --san) or an IPv4/IPv6 address'})
    if (!out.dns.includes(name)) out.dns.push(name)
  }
  return out
}

export function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number))
  const [head = '', tail] = ip.split('::')
  const parse = (part: string): number[] => {
    if (part === '') return []
    return part.split(':').flatMap((g) => {
      if (g.includes('.')) {
        const b = g.split('.').map(Number)
        return [((b[0] ?? 0) << 8) | (b[1] ?? 0), ((b[2] ?? 0) << 8) | (b[3] ?? 0)]
      }
      return [Number.parseInt(g, 16)]
    })
  }
  const left = parse(head)
  const right = tail === undefined ? [] : parse(tail)
  const groups = [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right]
  const out = Buffer.alloc(16)
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2))
  return out
}

export function ipToString(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join('.')
  if (bytes.length !== 16) return `invalid(${bytes.toString('hex')})`
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16))
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::').replace(/:{3,}/, '::')
}
