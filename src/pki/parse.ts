import {X509Certificate, constants, createPublicKey, verify, type KeyObject} from 'node:crypto'

import {AirlockError} from '../ui/errors.js'
import {bitStringBytes, bytesOf, children, fromDer, isContext, isUniversal, oidOf, sequenceElements, timeOf, toDer, TYPE, type Asn1} from './asn1.js'
import {decodeName, type NameAttribute} from './name.js'
import {EKU_NAMES, KEY_USAGE_BITS, OID, SIGNATURE_ALGORITHMS} from './oids.js'
import {ipToString, type SubjectAltNames} from './san.js'

/*
 * Reading certificates and requests. Parsing keeps the exact signed bytes so that a signature is
 * checked over what was received, never over a re-encoding.
 */
export interface ParsedExtensions {
  san?: SubjectAltNames & {critical: boolean}
  keyUsage?: {usages: string[]; critical: boolean}
  extKeyUsage?: {usages: string[]; critical: boolean}
  basicConstraints?: {ca: boolean; pathLen?: number; critical: boolean}
  subjectKeyId?: string
  authorityKeyId?: string
  /** the dNSName subtrees (openssl applies them to a leaf's CN-as-host too; pkijs does not) */
  nameConstraints?: {critical: boolean; permittedDns: string[]; excludedDns: string[]}
  /** every extension present, for the strict checks openssl -x509_strict makes (criticality, presence) */
  present: {id: string; critical: boolean}[]
  /** critical extensions airlock does not understand: a relying party that does not either must reject the certificate */
  unknownCritical: string[]
}

export interface SignatureAlgorithm {
  oid: string
  name: string
  hash?: string
  /** RSASSA-PSS: the salt length its parameters name (RFC 4055: 20 when absent) */
  pssSaltLength?: number
}

const HASHES: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.4': 'sha224',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
}

/**
 * The algorithm and the hash it signs with. RSASSA-PSS names its hash in its parameters, and when
 * they are absent RFC 4055 makes it SHA-1: PSS is only as strong as the hash inside it.
 */
function signatureAlgorithmOf(node: Asn1 | undefined): SignatureAlgorithm {
  const [idNode, params] = children(node)
  const id = oidOf(idNode) ?? '?'
  const known = SIGNATURE_ALGORITHMS[id]
  if (id === OID.rsassaPss) {
    const hashField = children(params).find((n) => isContext(n, 0))
    const hashOid = hashField ? oidOf(children(children(hashField)[0])[0]) : '1.3.14.3.2.26'
    const hash = HASHES[hashOid ?? ''] ?? hashOid ?? '?'
    const saltField = children(params).find((n) => isContext(n, 2))
    const salt = bytesOf(children(saltField)[0])
    return {oid: id, name: `rsassaPss (${hash.toUpperCase()})`, hash, pssSaltLength: salt.length > 0 && salt.length <= 4 ? salt.readUIntBE(0, salt.length) : 20}
  }
  return {oid: id, name: known?.name ?? id, ...(known?.hash ? {hash: known.hash} : {})}
}

/**
 * The extensions openssl accepts as critical (X509_supported_extension): any other critical one,
 * even an authority or subject key identifier (RFC 5280 says they must not be critical), makes
 * openssl, Node and Python refuse the certificate. Name constraints and the policy extensions are
 * evaluated by the path validator (pkijs), the rest here.
 */
const CRITICAL_OK = new Set<string>([
  OID.subjectAltName, OID.keyUsage, OID.extKeyUsage, OID.basicConstraints, OID.nameConstraints, OID.certificatePolicies, OID.policyConstraints, OID.policyMappings, OID.inhibitAnyPolicy,
  '2.5.29.31', // cRLDistributionPoints
  '2.16.840.1.113730.1.1', // Netscape cert type
  '1.3.6.1.5.5.7.1.7', // RFC 3779 IP address blocks
  '1.3.6.1.5.5.7.1.8', // RFC 3779 AS identifiers
  '1.3.6.1.5.5.7.1.14', // proxyCertInfo
  '1.3.6.1.5.5.7.48.1.5', // OCSP no-check
])

/** Names for the critical extensions people mark by mistake, for messages. */
export const EXTENSION_NAMES: Record<string, string> = {
  [OID.subjectKeyIdentifier]: 'subjectKeyIdentifier',
  [OID.authorityKeyIdentifier]: 'authorityKeyIdentifier',
  '2.5.29.18': 'issuerAltName',
  '1.3.6.1.5.5.7.1.1': 'authorityInfoAccess',
}

export function parseExtensions(list: Asn1[]): ParsedExtensions {
  const out: ParsedExtensions = {unknownCritical: [], present: []}
  for (const ext of list) {
    const parts = children(ext)
    const id = oidOf(parts[0]) ?? '?'
    const critical = isUniversal(parts[1], TYPE.BOOLEAN) ? bytesOf(parts[1])[0] !== 0 : false
    const valueNode = parts[parts.length - 1]
    out.present.push({id, critical})
    if (critical && !CRITICAL_OK.has(id)) out.unknownCritical.push(id)
    let value: Asn1
    try {
      value = fromDer(bytesOf(valueNode), `extension ${id}`)
    } catch {
      // a critical extension that cannot be read is one nobody can honour
      if (critical && CRITICAL_OK.has(id)) out.unknownCritical.push(id)
      continue
    }
    switch (id) {
      case OID.subjectAltName: {
        const san: SubjectAltNames & {critical: boolean} = {dns: [], ip: [], other: [], critical}
        for (const name of children(value)) {
          if (isContext(name, 2)) san.dns.push(bytesOf(name).toString('latin1').toLowerCase())
          else if (isContext(name, 7)) san.ip.push(ipToString(bytesOf(name)))
          else if (isContext(name, 1)) san.other.push(`email:${bytesOf(name).toString('latin1')}`)
          else if (isContext(name, 6)) san.other.push(`URI:${bytesOf(name).toString('latin1')}`)
          else san.other.push(`[${String(name.type)}]`)
        }
        out.san = san
        break
      }
      case OID.keyUsage: {
        const bits = bitStringBytes(value)
        out.keyUsage = {usages: KEY_USAGE_BITS.filter((_, i) => ((bits[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0), critical}
        break
      }
      case OID.extKeyUsage:
        out.extKeyUsage = {usages: children(value).map((n) => {
          const o = oidOf(n) ?? '?'
          return EKU_NAMES[o] ?? o
        }), critical}
        break
      case OID.basicConstraints: {
        const [first, second] = children(value)
        const ca = isUniversal(first, TYPE.BOOLEAN) && bytesOf(first)[0] !== 0
        const lenNode = isUniversal(first, TYPE.INTEGER) ? first : second
        out.basicConstraints = {ca, critical, ...(isUniversal(lenNode, TYPE.INTEGER) ? {pathLen: bytesOf(lenNode).readUIntBE(0, Math.min(6, bytesOf(lenNode).length))} : {})}
        break
      }
      case OID.subjectKeyIdentifier:
        out.subjectKeyId = bytesOf(value).toString('hex')
        break
      case OID.authorityKeyIdentifier: {
        const keyId = children(value).find((n) => isContext(n, 0))
        if (keyId) out.authorityKeyId = bytesOf(keyId).toString('hex')
        break
      }
      case OID.nameConstraints: {
        // NameConstraints ::= SEQUENCE { permittedSubtrees [0], excludedSubtrees [1] }, each GeneralSubtree { base GeneralName, ... }
        const dnsOf = (tag: number): string[] => children(children(value).find((n) => isContext(n, tag))).flatMap((subtree) => {
          const base = children(subtree)[0]
          return isContext(base, 2) ? [bytesOf(base).toString('latin1').toLowerCase()] : []
        })
        out.nameConstraints = {critical, permittedDns: dnsOf(0), excludedDns: dnsOf(1)}
        break
      }
    }
  }
  return out
}

export interface ParsedCertificate {
  der: Buffer
  x509: X509Certificate
  version: number
  /** hex, as openssl prints it: a negative serial (a broken encoder) starts with "-" */
  serial: string
  /** octets of the encoded INTEGER (RFC 5280 4.1.2.2: at most 20) */
  serialOctets: number
  signatureAlgorithm: SignatureAlgorithm
  issuer: NameAttribute[]
  subject: NameAttribute[]
  /** the subject Name exactly as encoded, for building a child's issuer field */
  subjectDer: Buffer
  /** the issuer Name exactly as encoded, compared with a candidate issuer's subjectDer */
  issuerDer: Buffer
  notBefore: Date
  notAfter: Date
  publicKey: KeyObject
  spki: Buffer
  extensions: ParsedExtensions
}

export function parseCertificate(der: Buffer, source: string): ParsedCertificate {
  let x509: X509Certificate
  let elements: Buffer[]
  try {
    x509 = new X509Certificate(der)
    elements = sequenceElements(der)
  } catch (error) {
    throw new AirlockError('INPUT_INVALID', `${source} is not a readable X.509 certificate`, {subject: source, hint: 'give a PEM or DER certificate', cause: error})
  }
  const tbs = children(fromDer(elements[0] ?? Buffer.alloc(0), source))
  let i = 0
  let version = 1
  if (isContext(tbs[0], 0)) {
    version = (bytesOf(children(tbs[0])[0])[0] ?? 0) + 1
    i = 1
  }
  const serialNode = tbs[i]
  const issuerNode = tbs[i + 2]
  const validity = children(tbs[i + 3])
  const subjectNode = tbs[i + 4]
  const spkiNode = tbs[i + 5]
  const extNode = tbs.slice(i + 6).find((n) => isContext(n, 3))
  const spki = toDer(spkiNode as Asn1)
  const {notBefore, notAfter} = validityOf(validity, x509, source)
  return {
    der,
    x509,
    version,
    serial: serialHex(bytesOf(serialNode)),
    serialOctets: bytesOf(serialNode).length,
    signatureAlgorithm: signatureAlgorithmOf(fromDer(elements[1] ?? Buffer.alloc(0), source)),
    issuer: decodeName(issuerNode),
    subject: decodeName(subjectNode),
    subjectDer: toDer(subjectNode as Asn1),
    issuerDer: toDer(issuerNode as Asn1),
    notBefore,
    notAfter,
    publicKey: x509.publicKey,
    spki,
    extensions: parseExtensions(children(children(extNode)[0])),
  }
}

/** The INTEGER's value in hex; two's complement, so a first byte with the top bit set is negative. */
function serialHex(bytes: Buffer): string {
  if (bytes.length === 0) return '0'
  if (((bytes[0] ?? 0) & 0x80) === 0) return bytes.toString('hex').replace(/^(00)+(?=.)/, '')
  const value = BigInt(`0x${bytes.toString('hex')}`) - (1n << BigInt(bytes.length * 8))
  const hex = (-value).toString(16)
  return `-${hex.length % 2 ? `0${hex}` : hex}`
}

/** A time no calendar holds (month 13, 25:00, letters) is a broken certificate, not a date to compare. */
function validityOf(validity: Asn1[], x509: X509Certificate, source: string): {notBefore: Date; notAfter: Date} {
  const read = (node: Asn1 | undefined, fallback: string): Date => {
    let date: Date | undefined
    try {
      date = timeOf(node) ?? new Date(fallback)
    } catch {
      date = undefined
    }
    if (!date || Number.isNaN(date.getTime())) {
      throw new AirlockError('CERT_INVALID', `${source} has a validity time that is not a real date`, {subject: source, hint: 'the certificate is malformed: have it issued again'})
    }
    return date
  }
  return {notBefore: read(validity[0], x509.validFrom), notAfter: read(validity[1], x509.validTo)}
}

export interface ParsedCsr {
  der: Buffer
  subject: NameAttribute[]
  subjectDer: Buffer
  publicKey: KeyObject
  spki: Buffer
  signatureAlgorithm: SignatureAlgorithm
  extensions: ParsedExtensions
  /** undefined when the algorithm cannot be checked here (RSASSA-PSS) */
  signatureValid: boolean | undefined
}

export function parseCsr(der: Buffer, source: string): ParsedCsr {
  let elements: Buffer[]
  let info: Asn1[]
  try {
    elements = sequenceElements(der)
    if (elements.length !== 3) throw new Error('a request has three parts')
    info = children(fromDer(elements[0] ?? Buffer.alloc(0), source))
    if (!isUniversal(info[0], TYPE.INTEGER) || !isUniversal(info[1], TYPE.SEQUENCE) || !isUniversal(info[2], TYPE.SEQUENCE)) throw new Error('not a CertificationRequestInfo')
  } catch (error) {
    throw new AirlockError('CSR_INVALID', `${source} is not a readable PKCS#10 certificate request`, {subject: source, hint: 'give a PEM or DER CSR', cause: error})
  }
  const spki = toDer(info[2] as Asn1)
  let publicKey: KeyObject
  try {
    publicKey = createPublicKey({key: spki, format: 'der', type: 'spki'})
  } catch (error) {
    throw new AirlockError('CSR_INVALID', `${source}: the public key in the request cannot be read`, {subject: source, cause: error})
  }
  const algorithm = signatureAlgorithmOf(fromDer(elements[1] ?? Buffer.alloc(0), source))
  const signature = bitStringBytes(fromDer(elements[2] ?? Buffer.alloc(0), source))
  let signatureValid: boolean | undefined
  if (algorithm.hash || algorithm.name.startsWith('ED')) {
    try {
      // a PSS signature is checked with PSS padding and the salt length its parameters name (openssl req -sigopt rsa_padding_mode:pss)
      const key = algorithm.pssSaltLength === undefined ? publicKey : {key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: algorithm.pssSaltLength}
      signatureValid = verify(algorithm.hash ?? null, elements[0] ?? Buffer.alloc(0), key, signature)
    } catch {
      signatureValid = false
    }
  }
  const extensions: Asn1[] = []
  const attributes = info.slice(3).find((n) => isContext(n, 0))
  for (const attribute of children(attributes)) {
    const [type, values] = children(attribute)
    if (oidOf(type) === OID.extensionRequest) extensions.push(...children(children(values)[0]))
  }
  return {
    der,
    subject: decodeName(info[1]),
    subjectDer: toDer(info[1] as Asn1),
    publicKey,
    spki,
    signatureAlgorithm: algorithm,
    extensions: parseExtensions(extensions),
    signatureValid,
  }
}
