import {isIP} from 'node:net'

import type {Finding} from './findings.js'
import {sanList} from './describe.js'
import type {KeyDescription} from './keys.js'
import {BROKEN_HASHES} from './oids.js'
import type {ParsedCertificate, SignatureAlgorithm} from './parse.js'
import type {PkiObject} from './read.js'
import {hostMatches, ipBytes, toAsciiHost, type SubjectAltNames} from './san.js'

/*
 * The review's single-object checks: each a small function over a parsed object, giving one finding.
 * What needs the whole path (chain, order, constraints) is in inspect.ts, on the path validator.
 */

export const WARN_REMAINING_DAYS = 30
export const MAX_LIFETIME_DAYS = 398
/** CA/Browser Forum Baseline Requirements 7.1: at least 64 bits of CSPRNG output in the serial. */
export const MIN_SERIAL_BITS = 64
const DAY = 86_400_000

export function checkKeyStrength(key: KeyDescription, subject: string): Finding {
  const check = 'key-strength'
  if (key.algorithm === 'RSA' || key.algorithm === 'RSA-PSS') {
    if ((key.bits ?? 0) < 2048) return {check, severity: 'fail', subject, message: `${key.label}: RSA under 2048 bits can be factored, and OpenSSL at security level 2 refuses it`, hint: 'make a new key: RSA 3072 or ECDSA P-256'}
    return {check, severity: 'ok', subject, message: key.label}
  }
  if (key.algorithm === 'EC') {
    if (['P-256', 'P-384', 'P-521'].includes(key.curve ?? '')) return {check, severity: 'ok', subject, message: key.label}
    return {check, severity: 'fail', subject, message: `${key.label}: a curve TLS clients do not accept`, hint: 'use P-256 or P-384'}
  }
  if (key.algorithm === 'ED25519' || key.algorithm === 'ED448') return {check, severity: 'ok', subject, message: `${key.label} (browsers do not accept Ed25519 server certificates yet)`}
  if (key.algorithm === 'DSA') return {check, severity: 'fail', subject, message: `${key.label}: DSA is no longer accepted for TLS`, hint: 'make a new key: RSA 3072 or ECDSA P-256'}
  return {check, severity: 'warn', subject, message: `${key.label}: an algorithm airlock cannot judge`}
}

/** RSASSA-PSS is judged by the hash inside it: PSS with SHA-256 is sound, PSS with SHA-1 is not. */
export function checkSignatureHash(alg: SignatureAlgorithm, subject: string): Finding {
  const check = 'signature-hash'
  if (alg.hash && BROKEN_HASHES.has(alg.hash)) return {check, severity: 'fail', subject, message: `signed with ${alg.name}: ${alg.hash.toUpperCase()} collisions are practical`, hint: 'have it re-signed with SHA-256 or stronger'}
  if (!alg.hash && !alg.name.startsWith('ED')) return {check, severity: 'fail', subject, message: `signature algorithm ${alg.name} is not one airlock accepts`, hint: 'have it re-signed with RSA or ECDSA and SHA-256'}
  return {check, severity: 'ok', subject, message: alg.name}
}

export function checkValidity(cert: ParsedCertificate, subject: string, now: Date): Finding {
  const check = 'validity'
  const range = `${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()}`
  if (cert.notAfter < cert.notBefore) return {check, severity: 'fail', subject, message: `notAfter is before notBefore (${range}): never valid`, hint: 'the certificate is malformed: have it issued again'}
  if (now < cert.notBefore) return {check, severity: 'fail', subject, message: `not valid yet: ${range}`, hint: 'check the clock of the machine that made it, or wait'}
  if (now > cert.notAfter) return {check, severity: 'fail', subject, message: `expired on ${cert.notAfter.toISOString()}`, hint: 'renew the certificate'}
  const left = Math.floor((cert.notAfter.getTime() - now.getTime()) / DAY)
  if (left < WARN_REMAINING_DAYS) return {check, severity: 'warn', subject, message: `expires in ${left} days (${cert.notAfter.toISOString()})`, hint: 'renew it before the platform is installed'}
  return {check, severity: 'ok', subject, message: `valid ${range} (${left} days left)`}
}

export function checkLifetime(cert: ParsedCertificate, subject: string): Finding {
  const days = (cert.notAfter.getTime() - cert.notBefore.getTime() + 1000) / DAY
  if (days > MAX_LIFETIME_DAYS) return {check: 'lifetime', severity: 'warn', subject, message: `valid for ${Math.round(days)} days: Safari and Chrome refuse publicly trusted server certificates valid for more than ${MAX_LIFETIME_DAYS}`, hint: 'issue it with --days 397 or fewer'}
  return {check: 'lifetime', severity: 'ok', subject, message: `valid for ${Math.round(days)} days`}
}

/**
 * Random serials are what made MD5 collision attacks on CAs fail; a short one is a counter. RFC 5280
 * 4.1.2.2 wants a positive serial of at most 20 octets: Go's crypto/x509 (so Kubernetes and its
 * tools) refuses a negative one since Go 1.23, while openssl, Node and Python accept it.
 */
export function checkSerial(cert: ParsedCertificate, subject: string): Finding {
  const check = 'serial'
  if (cert.serial.startsWith('-')) return {check, severity: 'fail', subject, message: `serial ${cert.serial} is negative: RFC 5280 requires a positive serial, and Go clients (Kubernetes, its tools) refuse it`, hint: 'have it issued again with a positive random serial'}
  if (/^0+$/.test(cert.serial)) return {check, severity: 'warn', subject, message: 'serial 0: RFC 5280 requires a positive serial, and it carries no randomness', hint: 'issue with random serials (openssl: -set_serial 0x$(openssl rand -hex 16))'}
  if (cert.serialOctets > 20) return {check, severity: 'warn', subject, message: `serial of ${cert.serialOctets} octets: RFC 5280 allows at most 20, and some clients refuse longer ones`, hint: 'issue with a 16-byte random serial'}
  const bits = cert.serial.replace(/^0+/, '').length * 4 - leadingZeroBits(cert.serial)
  if (bits < MIN_SERIAL_BITS) return {check, severity: 'warn', subject, message: `serial ${cert.serial} has ${Math.max(bits, 0)} bits: the CA/Browser Forum asks for at least ${MIN_SERIAL_BITS} random bits`, hint: 'issue with random serials (openssl: rand_serial or -set_serial with 16 random bytes)'}
  return {check, severity: 'ok', subject, message: `${bits}-bit serial`}
}

function leadingZeroBits(hex: string): number {
  const first = Number.parseInt(hex.replace(/^0+/, '')[0] ?? '0', 16)
  return first === 0 ? 0 : 4 - Math.floor(Math.log2(first)) - 1
}

export function checkSanPresent(san: SubjectAltNames | undefined, subject: string, severity: 'fail' | 'warn'): Finding {
  if (!san || san.dns.length + san.ip.length === 0) return {check: 'san', severity, subject, message: 'no DNS or IP subjectAltName: Node, Python and browsers ignore the CN and will refuse it', hint: 'make it again with the host names as SANs (airlock certs csr --domain D --san ...)'}
  const dotted = san.dns.filter((d) => d.endsWith('.'))
  if (dotted.length > 0) return {check: 'san', severity: 'fail', subject, message: `${dotted.join(', ')} ends with a dot: RFC 5280 forbids it, and openssl, Python and curl match it to no host`, hint: 'issue it again with the names written without the final dot'}
  const bad = san.dns.filter((d) => d.includes('*') && (!d.startsWith('*.') || d.split('.').length < 3))
  if (bad.length > 0) return {check: 'san', severity: 'fail', subject, message: `wildcard ${bad.join(', ')} covers a whole top-level zone or is malformed: clients match it to nothing, and no careful CA signs it`, hint: 'name the hosts, or use *.example.com'}
  return {check: 'san', severity: 'ok', subject, message: sanList(san).join(', ')}
}

export function checkDomain(given: string, san: SubjectAltNames | undefined, cn: string | undefined, subject: string): Finding {
  const check = 'domain'
  // clients look an internationalised name up, and match it, in its A-label (xn--) form
  const domain = isIP(given) ? given : toAsciiHost(given)
  const covered = isIP(domain)
    ? (san?.ip ?? []).some((ip) => ipBytes(ip).equals(ipBytes(domain)))
    : (san?.dns ?? []).some((d) => hostMatches(d, domain))
  if (covered) return {check, severity: 'ok', subject, message: `${domain} is covered by a subjectAltName`}
  if (cn && hostMatches(cn, domain) && !san) return {check, severity: 'warn', subject, message: `${domain} appears only as the CN; the issuer must copy it into a SAN`, hint: 'make the CSR with airlock certs csr, which writes the SAN'}
  return {check, severity: 'fail', subject, message: `${domain} is not among the names it covers (${san ? sanList(san).join(', ') : 'no SAN'})`, hint: 'issue it for the platform domain, or pass the right --domain'}
}

export function checkServerAuth(cert: ParsedCertificate, subject: string): Finding {
  const eku = cert.extensions.extKeyUsage
  if (!eku) return {check: 'eku', severity: 'warn', subject, message: 'no extendedKeyUsage: public CAs and some clients expect serverAuth', hint: 'issue it with EKU serverAuth'}
  if (eku.usages.includes('serverAuth')) return {check: 'eku', severity: 'ok', subject, message: `extendedKeyUsage ${eku.usages.join(', ')}`}
  return {check: 'eku', severity: 'fail', subject, message: `extendedKeyUsage ${eku.usages.join(', ')} lacks serverAuth: TLS clients will refuse it`, hint: 'issue it with EKU serverAuth'}
}

/** keyUsage of a server certificate: a key that may only sign certificates cannot complete a handshake. */
export function checkLeafKeyUsage(cert: ParsedCertificate, subject: string): Finding {
  const ku = cert.extensions.keyUsage
  if (!ku) return {check: 'key-usage', severity: 'ok', subject, message: 'no keyUsage: every use allowed'}
  const rsa = cert.publicKey.asymmetricKeyType === 'rsa'
  if (!ku.usages.includes('digitalSignature') && !(rsa && ku.usages.includes('keyEncipherment')) && !ku.usages.includes('keyAgreement')) {
    return {check: 'key-usage', severity: 'fail', subject, message: `keyUsage ${ku.usages.join(', ')}: a TLS server key needs digitalSignature${rsa ? ' (or keyEncipherment)' : ''}`, hint: 'issue it with keyUsage digitalSignature'}
  }
  if (ku.usages.includes('keyCertSign') && !cert.extensions.basicConstraints?.ca) return {check: 'key-usage', severity: 'fail', subject, message: 'keyUsage keyCertSign on a certificate that is not a CA (openssl -x509_strict refuses it)', hint: 'issue it without keyCertSign'}
  return {check: 'key-usage', severity: 'ok', subject, message: `keyUsage ${ku.usages.join(', ')}`}
}

export function checkCaConstraints(cert: ParsedCertificate, subject: string): Finding {
  const bc = cert.extensions.basicConstraints
  const ku = cert.extensions.keyUsage
  if (!bc?.ca) return {check: 'ca', severity: 'fail', subject, message: 'given as a CA, but basicConstraints cA is not TRUE: it cannot issue certificates', hint: 'give the certificate of the CA that issued the server certificate'}
  if (!ku) return {check: 'ca', severity: 'fail', subject, message: 'a CA without keyUsage: openssl -x509_strict refuses it (RFC 5280 4.2.1.3)', hint: 'make the CA with keyUsage critical,keyCertSign,cRLSign'}
  if (!ku.usages.includes('keyCertSign')) return {check: 'ca', severity: 'fail', subject, message: 'a CA whose keyUsage lacks keyCertSign cannot sign certificates'}
  if (!bc.critical) return {check: 'ca', severity: 'fail', subject, message: 'basicConstraints of a CA must be critical (RFC 5280 4.2.1.9; openssl -x509_strict refuses it)'}
  return {check: 'ca', severity: 'ok', subject, message: `CA${bc.pathLen === undefined ? '' : `, pathlen ${bc.pathLen}`}, keyUsage ${ku.usages.join(', ')}`}
}

export function checkCsrSignature(valid: boolean | undefined, subject: string): Finding {
  if (valid === true) return {check: 'csr-signature', severity: 'ok', subject, message: 'the request is signed by the key it names'}
  if (valid === false) return {check: 'csr-signature', severity: 'fail', subject, message: 'the request signature does not verify: it was altered, or not made with its key', hint: 'ask for a fresh CSR; never issue for this one'}
  return {check: 'csr-signature', severity: 'warn', subject, message: 'the request signature algorithm cannot be checked here'}
}

export function checkKeyMode(mode: number | undefined, subject: string): Finding {
  if (mode === undefined) return {check: 'key-mode', severity: 'info', subject, message: 'file mode unknown'}
  const octal = mode.toString(8).padStart(4, '0')
  if (mode & 0o077) return {check: 'key-mode', severity: 'warn', subject, message: `mode ${octal}: others than the owner can read the private key`, hint: `chmod 600 ${subject.replace(/#\d+$/, '')}`}
  return {check: 'key-mode', severity: 'ok', subject, message: `mode ${octal}`}
}

export function checkKeyEncrypted(object: Extract<PkiObject, {kind: 'private-key'}>): Finding {
  const subject = object.source
  if (object.error) return {check: 'key-encrypted', severity: 'fail', subject, message: `encrypted ${object.format}, ${object.error}`, hint: 'check the passphrase in the variable named by --passphrase-env'}
  if (!object.encrypted) return {check: 'key-encrypted', severity: 'warn', subject, message: `unencrypted ${object.format} private key: anyone who can read the file holds the key`, hint: 'keep it offline until install, or encrypt it (--passphrase-env)'}
  if (!object.key) return {check: 'key-encrypted', severity: 'info', subject, message: `encrypted ${object.format} private key; pass --passphrase-env to check it against the certificate`}
  return {check: 'key-encrypted', severity: 'ok', subject, message: `encrypted ${object.format} private key`}
}
