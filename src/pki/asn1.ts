import forge from 'node-forge'

import {AirlockError} from '../ui/errors.js'

/*
 * DER building blocks over node-forge's asn1 module. forge's own X.509 and PKCS#10 code knows RSA only,
 * so airlock assembles TBSCertificate and CertificationRequestInfo from these pieces for every key type
 * and lets Node's crypto (OpenSSL) sign them.
 */

const {asn1} = forge
export type Asn1 = forge.asn1.Asn1

const U = asn1.Class.UNIVERSAL
const CTX = asn1.Class.CONTEXT_SPECIFIC
const T = asn1.Type

const bin = (buf: Buffer): string => buf.toString('binary')

export const seq = (items: Asn1[]): Asn1 => asn1.create(U, T.SEQUENCE, true, items)
export const setOf = (items: Asn1[]): Asn1 => asn1.create(U, T.SET, true, items)
export const oid = (dotted: string): Asn1 => asn1.create(U, T.OID, false, asn1.oidToDer(dotted).getBytes())
export const nullValue = (): Asn1 => asn1.create(U, T.NULL, false, '')
export const bool = (value: boolean): Asn1 => asn1.create(U, T.BOOLEAN, false, value ? '\xff' : '\x00')
export const smallInteger = (n: number): Asn1 => asn1.create(U, T.INTEGER, false, asn1.integerToDer(n).getBytes())
export const octets = (data: Buffer): Asn1 => asn1.create(U, T.OCTETSTRING, false, bin(data))
export const utf8 = (text: string): Asn1 => asn1.create(U, T.UTF8, false, forge.util.encodeUtf8(text))
export const printable = (text: string): Asn1 => asn1.create(U, T.PRINTABLESTRING, false, text)
export const ia5 = (text: string): Asn1 => asn1.create(U, T.IA5STRING, false, text)
export const explicit = (tag: number, inner: Asn1): Asn1 => asn1.create(CTX, tag, true, [inner])
/** [tag] IMPLICIT of a primitive: the bytes are the content. */
export const implicit = (tag: number, content: Buffer): Asn1 => asn1.create(CTX, tag, false, bin(content))
export const implicitConstructed = (tag: number, items: Asn1[]): Asn1 => asn1.create(CTX, tag, true, items)

/** A DER INTEGER from unsigned big-endian bytes: minimal, and positive (a 0x00 lead when the top bit is set). */
export function unsignedInteger(bytes: Buffer): Asn1 {
  let start = 0
  while (start < bytes.length - 1 && bytes[start] === 0) start++
  let content = bytes.subarray(start)
  if ((content[0] ?? 0) & 0x80) content = Buffer.concat([Buffer.from([0]), content])
  return asn1.create(U, T.INTEGER, false, bin(content))
}

/** A BIT STRING holding whole bytes (signatures, public keys). */
export const bitString = (data: Buffer): Asn1 => asn1.create(U, T.BITSTRING, false, `\x00${bin(data)}`)

/** A named-bit BIT STRING (keyUsage) in DER: trailing zero bits dropped and counted as unused. */
export function namedBits(bits: number[]): Asn1 {
  const highest = Math.max(...bits)
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1)
  for (const bit of bits) bytes[bit >> 3] = (bytes[bit >> 3] ?? 0) | (0x80 >> (bit & 7))
  const unused = 7 - (highest & 7)
  return asn1.create(U, T.BITSTRING, false, String.fromCharCode(unused) + bin(bytes))
}

/** UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5); always whole seconds, Zulu. */
export function time(date: Date): Asn1 {
  const iso = date.toISOString() // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`
  const year = date.getUTCFullYear()
  return year < 2050 ? asn1.create(U, T.UTCTIME, false, digits.slice(2)) : asn1.create(U, T.GENERALIZEDTIME, false, digits)
}

export function toDer(node: Asn1): Buffer {
  return Buffer.from(asn1.toDer(node).getBytes(), 'binary')
}

/** Parses DER strictly; BIT STRINGs stay opaque bytes, so re-encoding gives back the input. */
export function fromDer(der: Buffer, subject: string): Asn1 {
  try {
    const options = {strict: true, parseAllBytes: true, decodeBitStrings: false}
    return asn1.fromDer(forge.util.createBuffer(bin(der)), options as unknown as boolean)
  } catch (error) {
    throw new AirlockError('INPUT_INVALID', `${subject} is not valid DER: ${(error as Error).message}`, {subject, hint: 'give a PEM or DER certificate, CSR or key', cause: error})
  }
}

export const isUniversal = (node: Asn1 | undefined, type: number): boolean => node !== undefined && node.tagClass === U && node.type === type
export const isContext = (node: Asn1 | undefined, tag: number): boolean => node !== undefined && node.tagClass === CTX && node.type === tag

export function children(node: Asn1 | undefined): Asn1[] {
  return node && Array.isArray(node.value) ? (node.value as Asn1[]) : []
}

export function bytesOf(node: Asn1 | undefined): Buffer {
  return node && typeof node.value === 'string' ? Buffer.from(node.value, 'binary') : Buffer.alloc(0)
}

export function oidOf(node: Asn1 | undefined): string | undefined {
  return node && isUniversal(node, T.OID) ? asn1.derToOid(node.value as string) : undefined
}

/** BIT STRING content without its unused-bits byte. */
export function bitStringBytes(node: Asn1 | undefined): Buffer {
  return bytesOf(node).subarray(1)
}

export function timeOf(node: Asn1 | undefined): Date | undefined {
  if (node && isUniversal(node, T.UTCTIME)) return asn1.utcTimeToDate(node.value as string)
  if (node && isUniversal(node, T.GENERALIZEDTIME)) return asn1.generalizedTimeToDate(node.value as string)
  return undefined
}

export const TYPE = T

/**
 * The exact bytes of each element of a top-level SEQUENCE. A signature covers the bytes as received;
 * re-encoding a parsed structure could "repair" a tampered one and make a bad signature look good.
 */
export function sequenceElements(der: Buffer): Buffer[] {
  const outer = readHeader(der, 0)
  if (der[0] !== 0x30 || outer.end !== der.length) throw new Error('not a single DER SEQUENCE')
  const out: Buffer[] = []
  let offset = outer.contentStart
  while (offset < outer.end) {
    const element = readHeader(der, offset)
    if (element.end > outer.end) throw new Error('element runs past the SEQUENCE')
    out.push(der.subarray(offset, element.end))
    offset = element.end
  }
  return out
}

function readHeader(der: Buffer, offset: number): {contentStart: number; end: number} {
  if (offset + 2 > der.length) throw new Error('truncated DER')
  const first = der[offset + 1] ?? 0
  if (first < 0x80) return {contentStart: offset + 2, end: offset + 2 + first}
  const count = first & 0x7f
  if (count === 0 || count > 4 || offset + 2 + count > der.length) throw new Error('bad DER length')
  let length = 0
  for (let i = 0; i < count; i++) length = length * 256 + (der[offset + 2 + i] ?? 0)
  return {contentStart: offset + 2 + count, end: offset + 2 + count + length}
}
