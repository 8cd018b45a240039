import {randomBytes, type KeyObject} from 'node:crypto'

import {bitString, explicit, fromDer, implicitConstructed, oid, seq, setOf, smallInteger, time, toDer, unsignedInteger, type Asn1} from './asn1.js'
import {keyUsageExtension, sanExtension, serverAuthExtension, serverKeyUsages} from './extensions.js'
import {signatureAlgorithm, signDer, spkiDer} from './keys.js'
import {OID} from './oids.js'
import type {SubjectAltNames} from './san.js'

/*
 * X.509 v3 certificates and PKCS#10 requests, assembled as DER by hand (RFC 5280, RFC 2986) over
 * node-forge's asn1 and signed by Node's crypto: forge's own X.509 code knows RSA only.
 */
export function toPem(type: 'CERTIFICATE' | 'CERTIFICATE REQUEST', der: Buffer): string {
  const body = der.toString('base64').replace(/.{1,64}/g, '$&\n')
  return `-----BEGIN ${type}-----\n${body}-----END ${type}-----\n`
}

/** PKCS#10: subject, public key, and the SANs (with the usages asked for) as an extensionRequest. */
export function buildCsr(options: {key: KeyObject; subject: Asn1; sans: SubjectAltNames}): Buffer {
  const extensions = [sanExtension(options.sans), keyUsageExtension(serverKeyUsages(options.key)), serverAuthExtension()]
  const info = seq([
    smallInteger(0),
    options.subject,
    fromDer(spkiDer(options.key), 'public key'),
    implicitConstructed(0, [seq([oid(OID.extensionRequest), setOf([seq(extensions)])])]),
  ])
  const infoDer = toDer(info)
  return toDer(seq([fromDer(infoDer, 'request'), signatureAlgorithm(options.key), bitString(signDer(infoDer, options.key))]))
}

/** 128 random bits as a positive INTEGER (CA/Browser Forum asks for at least 64). */
export function randomSerial(): Buffer {
  for (;;) {
    const bytes = randomBytes(16)
    if (bytes.some((b) => b !== 0)) return bytes
  }
}

export interface CertificateTemplate {
  subject: Asn1
  issuer: Asn1
  /** DER SubjectPublicKeyInfo of the certified key */
  publicKey: Buffer
  notBefore: Date
  notAfter: Date
  extensions: Asn1[]
  signer: KeyObject
  serial?: Buffer
}

export function buildCertificate(t: CertificateTemplate): Buffer {
  const tbs = seq([
    explicit(0, smallInteger(2)),
    unsignedInteger(t.serial ?? randomSerial()),
    signatureAlgorithm(t.signer),
    t.issuer,
    seq([time(t.notBefore), time(t.notAfter)]),
    t.subject,
    fromDer(t.publicKey, 'public key'),
    explicit(3, seq(t.extensions)),
  ])
  const tbsDer = toDer(tbs)
  return toDer(seq([fromDer(tbsDer, 'certificate'), signatureAlgorithm(t.signer), bitString(signDer(tbsDer, t.signer))]))
}

