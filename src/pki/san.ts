import {isIP} from 'node:net'
import {domainToASCII} from 'node:url'

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

/**
 * Why a DNS name is one no careful CA signs, or undefined when it is fine: a wildcard stands for one
 * whole left-most label and needs two labels under it (`*.com`, `*` and `*.local` cover a whole
 * zone or nothing a client matches); every label is LDH (RFC 1123), and the last is not all digits.
 */
export function dnsNameProblem(name: string, allowWildcard: boolean): string | undefined {
  if (name.length === 0 || name.length > 253) return 'a DNS name has 1 to 253 characters'
  const labels = name.split('.')
  if (labels[0]?.includes('*')) {
    if (!allowWildcard) return 'a wildcard is accepted only as a --san'
    if (labels[0] !== '*') return 'a wildcard must be the whole left-most label (*.example.com)'
    if (labels.length < 3) return 'a wildcard needs at least two labels under it: *.example.com, never *.com or *'
  }
  const rest = labels[0] === '*' ? labels.slice(1) : labels
  if (!rest.every((l) => DNS_LABEL.test(l))) return 'each label is 1 to 63 letters, digits or hyphens, not starting or ending with a hyphen'
  if (/^\d+$/.test(rest.at(-1) ?? '')) return 'the last label of a host name is not all digits'
  return undefined
}

/**
 * The domain first, then each --san once; IP addresses become IP SANs, everything else must be a DNS
 * name. `DNS:` and `IP:` prefixes, as openssl writes SANs, are accepted.
 */
export function collectSans(domain: string, sans: string[], subject = '--san', domainSubject = '--domain', wildcardDomain = false): SubjectAltNames {
  const out: SubjectAltNames = {dns: [], ip: [], other: []}
  for (const [i, raw] of [domain, ...sans].entries()) {
    const at = i === 0 ? domainSubject : subject
    const value = raw.trim().toLowerCase().replace(/^(dns|ip( address)?):/, '')
    if (isIP(value)) {
      const normal = ipToString(ipBytes(value))
      if (!out.ip.includes(normal)) out.ip.push(normal)
      continue
    }
    const name = toAsciiHost(value.replace(/\.$/, ''))
    const problem = dnsNameProblem(name, i > 0 || wildcardDomain)
    if (problem) throw new AirlockError('USAGE', `${at}: ${raw} is neither a host name a CA may certify nor an IP address: ${problem}`, {subject: at, hint: 'use a host name like wallaroo.example.com (a *.example.com wildcard is accepted as a --san) or an IPv4/IPv6 address'})
    if (!out.dns.includes(name)) out.dns.push(name)
  }
  return out
}

/** An internationalised host name (bücher.example) in the A-label form certificates carry (xn--bcher-kva.example); ASCII stays as it is. */
export function toAsciiHost(name: string): string {
  const lower = name.toLowerCase()
  if (/^[\x00-\x7f]*$/.test(lower)) return lower
  return domainToASCII(lower) || lower
}

/**
 * RFC 6125 6.4: a wildcard stands for exactly one whole left-most label, under at least two labels.
 * The host may end with a dot (an absolute name); a certificate name that does never matches, as in
 * openssl's X509_check_host and so Python (Node and curl forgive it).
 */
export function hostMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase()
  const h = host.toLowerCase().replace(/\.$/, '')
  if (p === h) return !p.includes('*')
  if (!p.startsWith('*.') || p.split('.').length < 3 || p.slice(2).includes('*')) return false
  const dot = h.indexOf('.')
  return dot > 0 && h.slice(dot + 1) === p.slice(2)
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

/** IPv4 dotted; IPv6 in RFC 5952 form: lower case, no leading zeros, the longest run of two or more zero groups as `::`. */
export function ipToString(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join('.')
  if (bytes.length !== 16) return `invalid(${bytes.toString('hex')})`
  // RFC 5952 5: an IPv4-mapped address keeps its IPv4 part dotted
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return `::ffff:${[...bytes.subarray(12)].join('.')}`
  const groups: number[] = []
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i))
  let best = {start: -1, length: 0}
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > best.length) best = {start: i, length: j - i}
    i = j
  }
  const hex = (g: number[]): string => g.map((n) => n.toString(16)).join(':')
  if (best.length < 2) return hex(groups)
  return `${hex(groups.slice(0, best.start))}::${hex(groups.slice(best.start + best.length))}`
}
