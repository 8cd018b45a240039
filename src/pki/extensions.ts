import type {KeyObject} from 'node:crypto'

import {bool, implicit, namedBits, octets, oid, seq, smallInteger, toDer, type Asn1} from './asn1.js'
import {KEY_USAGE_BITS, OID, type KeyUsageName} from './oids.js'
import {ipBytes, type SubjectAltNames} from './san.js'

/* X.509 v3 extensions as airlock writes them (RFC 5280 4.2), DER over node-forge's asn1. */
export function extension(id: string, critical: boolean, value: Asn1): Asn1 {
  return seq([oid(id), ...(critical ? [bool(true)] : []), octets(toDer(value))])
}

export function sanExtension(sans: SubjectAltNames): Asn1 {
  const names = [...sans.dns.map((d) => implicit(2, Buffer.from(d, 'ascii'))), ...sans.ip.map((ip) => implicit(7, ipBytes(ip)))]
  return extension(OID.subjectAltName, false, seq(names))
}

export function keyUsageExtension(usages: KeyUsageName[]): Asn1 {
  return extension(OID.keyUsage, true, namedBits(usages.map((u) => KEY_USAGE_BITS.indexOf(u))))
}

export function serverAuthExtension(): Asn1 {
  return extension(OID.extKeyUsage, false, seq([oid(OID.serverAuth)]))
}

/** A bundle signer: what `bundle verify --trust CA` and VERIFY.txt require of the signer certificate. */
export function codeSigningExtension(): Asn1 {
  return extension(OID.extKeyUsage, false, seq([oid(OID.codeSigning)]))
}

/** CA: cA TRUE, pathLen 0 (it may issue end-entity certificates only); end entity: the empty SEQUENCE (cA defaults to FALSE). */
export function basicConstraintsExtension(ca: boolean): Asn1 {
  return extension(OID.basicConstraints, true, seq(ca ? [bool(true), smallInteger(0)] : []))
}

export function subjectKeyIdExtension(keyId: Buffer): Asn1 {
  return extension(OID.subjectKeyIdentifier, false, octets(keyId))
}

export function authorityKeyIdExtension(keyId: Buffer): Asn1 {
  return extension(OID.authorityKeyIdentifier, false, seq([implicit(0, keyId)]))
}

/** What a server certificate (and its request) asks for: RSA also encrypts the key exchange in TLS 1.2 RSA suites. */
export function serverKeyUsages(key: KeyObject): KeyUsageName[] {
  return key.asymmetricKeyType === 'rsa' ? ['digitalSignature', 'keyEncipherment'] : ['digitalSignature']
}
