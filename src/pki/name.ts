import forge from 'node-forge'

import {AirlockError} from '../ui/errors.js'
import {children, oidOf, printable, seq, setOf, TYPE, ia5, oid, utf8, type Asn1} from './asn1.js'

/** Distinguished-name attributes a subject may carry, in the order they are written (country first). */
const ATTRIBUTES = [
  {short: 'C', oid: '2.5.4.6'},
  {short: 'ST', oid: '2.5.4.8'},
  {short: 'L', oid: '2.5.4.7'},
  {short: 'O', oid: '2.5.4.10'},
  {short: 'OU', oid: '2.5.4.11'},
  {short: 'CN', oid: '2.5.4.3'},
  {short: 'emailAddress', oid: '1.2.840.113549.1.9.1'},
] as const

const BY_SHORT = new Map<string, (typeof ATTRIBUTES)[number]>(ATTRIBUTES.map((a) => [a.short.toUpperCase(), a]))
const BY_OID = new Map<string, string>([...ATTRIBUTES.map((a) => [a.oid, a.short] as [string, string]), ['2.5.4.5', 'serialNumber'], ['2.5.4.9', 'street'], ['0.9.2342.19200300.100.1.25', 'DC']])

export interface NameAttribute {
  type: string
  value: string
}

/**
 * `O=Acme Inc,OU=Platform,C=US` -> attributes. A comma inside a value is written `\,`. CN is not
 * accepted here: it always comes from the domain or CA name, so it cannot disagree with the SAN.
 */
export function parseSubject(text: string | undefined, subject = '--subject'): NameAttribute[] {
  if (!text || text.trim() === '') return []
  const parts = text.split(/(?<!\\),/).map((p) => p.trim()).filter((p) => p !== '')
  return parts.map((part) => {
    const eq = part.indexOf('=')
    const key = eq > 0 ? part.slice(0, eq).trim() : ''
    const value = part.slice(eq + 1).trim().replaceAll('\\,', ',')
    const attr = BY_SHORT.get(key.toUpperCase())
    if (!attr || value === '') {
      throw new AirlockError('USAGE', `${subject}: cannot read "${part}"`, {subject, hint: 'write KEY=VALUE pairs separated by commas, KEY one of C, ST, L, O, OU, emailAddress (e.g. O=Acme Inc,OU=Platform,C=US)'})
    }
    if (attr.short === 'CN') throw new AirlockError('USAGE', `${subject}: CN is set from the domain (or --name), not from the subject`, {subject, hint: 'remove CN= from the subject'})
    if (attr.short === 'C' && !/^[A-Z]{2}$/.test(value)) throw new AirlockError('USAGE', `${subject}: C must be a two-letter country code, got ${value}`, {subject, hint: 'e.g. C=US'})
    if (value.length > 64) throw new AirlockError('USAGE', `${subject}: ${attr.short} is longer than 64 characters`, {subject})
    return {type: attr.short, value}
  })
}

/** A Name in the conventional order, one attribute per RDN; C as PrintableString, the rest UTF8String. */
export function encodeName(attributes: NameAttribute[]): Asn1 {
  const sorted = [...attributes].sort((a, b) => order(a.type) - order(b.type))
  return seq(sorted.map((a) => {
    const def = BY_SHORT.get(a.type.toUpperCase())
    if (!def) throw new AirlockError('USAGE', `unknown subject attribute ${a.type}`, {subject: a.type})
    const value = def.short === 'C' ? printable(a.value) : def.short === 'emailAddress' ? ia5(a.value) : utf8(a.value)
    return setOf([seq([oid(def.oid), value])])
  }))
}

function order(type: string): number {
  return ATTRIBUTES.findIndex((a) => a.short.toUpperCase() === type.toUpperCase())
}

/** A parsed Name as attributes, decoding the string types openssl and public CAs use. */
export function decodeName(name: Asn1 | undefined): NameAttribute[] {
  const out: NameAttribute[] = []
  for (const rdn of children(name)) {
    for (const atv of children(rdn)) {
      const [type, value] = children(atv)
      const dotted = oidOf(type) ?? '?'
      out.push({type: BY_OID.get(dotted) ?? dotted, value: decodeString(value)})
    }
  }
  return out
}

function decodeString(node: Asn1 | undefined): string {
  if (!node || typeof node.value !== 'string') return ''
  const raw = node.value
  if (node.type === TYPE.UTF8) return forge.util.decodeUtf8(raw)
  if (node.type === TYPE.BMPSTRING) {
    let s = ''
    for (let i = 0; i + 1 < raw.length; i += 2) s += String.fromCharCode((raw.charCodeAt(i) << 8) | raw.charCodeAt(i + 1))
    return s
  }
  return raw
}

export function formatName(attributes: NameAttribute[]): string {
  return attributes.map((a) => `${a.type}=${a.value.replaceAll(',', '\\,')}`).join(', ')
}

export function commonNameOf(attributes: NameAttribute[]): string | undefined {
  return attributes.find((a) => a.type === 'CN')?.value
}
