import {createHash} from 'node:crypto'

import type {InspectedObject} from './findings.js'
import {describeKey, publicKeyFingerprint} from './keys.js'
import {formatName} from './name.js'
import type {PkiObject} from './read.js'
import type {SubjectAltNames} from './san.js'

/* What each object read is, for the review's table: never key material, only what identifies it. */

export function isCaCert(cert: {extensions: {basicConstraints?: {ca: boolean}}}): boolean {
  return cert.extensions.basicConstraints?.ca === true
}

export function sanList(san: SubjectAltNames): string[] {
  return [...san.dns.map((d) => `DNS:${d}`), ...san.ip.map((ip) => `IP:${ip}`), ...san.other]
}

export function describeObject(object: PkiObject): InspectedObject {
  switch (object.kind) {
    case 'certificate': {
      const c = object.cert
      return {
        source: object.source,
        kind: 'certificate',
        subject: formatName(c.subject),
        issuer: formatName(c.issuer),
        serial: c.serial,
        notBefore: c.notBefore.toISOString(),
        notAfter: c.notAfter.toISOString(),
        ...(c.extensions.san ? {sans: sanList(c.extensions.san)} : {}),
        key: describeKey(c.publicKey).label,
        signature: c.signatureAlgorithm.name,
        ca: isCaCert(c),
        fingerprint: `sha256:${createHash('sha256').update(c.der).digest('hex')}`,
      }
    }
    case 'csr':
      return {
        source: object.source,
        kind: 'csr',
        subject: formatName(object.csr.subject),
        ...(object.csr.extensions.san ? {sans: sanList(object.csr.extensions.san)} : {}),
        key: describeKey(object.csr.publicKey).label,
        signature: object.csr.signatureAlgorithm.name,
        fingerprint: publicKeyFingerprint(object.csr.publicKey),
      }
    case 'private-key':
      return {
        source: object.source,
        kind: 'private-key',
        ...(object.key ? {key: describeKey(object.key).label, fingerprint: publicKeyFingerprint(object.key)} : {}),
        encrypted: object.encrypted,
        ...(object.mode === undefined ? {} : {mode: object.mode.toString(8).padStart(4, '0')}),
      }
    case 'public-key':
      return {source: object.source, kind: 'public-key', key: describeKey(object.key).label, fingerprint: publicKeyFingerprint(object.key)}
  }
}
