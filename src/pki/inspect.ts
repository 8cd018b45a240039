import {createHash, type KeyObject} from 'node:crypto'
import {isIP} from 'node:net'

import {AirlockError} from '../ui/errors.js'
import {describeKey, publicKeyFingerprint, type KeyDescription} from './keys.js'
import {commonNameOf, formatName} from './name.js'
import {BROKEN_HASHES} from './oids.js'
import {readPkiFile, type PkiObject} from './read.js'
import type {ParsedCertificate, SignatureAlgorithm} from './parse.js'
import {ipBytes, type SubjectAltNames} from './san.js'

/*
 * A review a security team can act on: every object read, every check made (passes included, so the
 * review shows what was looked at), each with a severity. Checks are small named functions over
 * parsed objects; nothing here trusts a file because of where it came from.
 */

export type Severity = 'ok' | 'info' | 'warn' | 'fail'
export type Verdict = 'pass' | 'warn' | 'fail'

export interface Finding {
  check: string
  severity: Severity
  /** the file (and #block) the finding is about */
  subject: string
  message: string
  hint?: string
}

export interface InspectedObject {
  source: string
  kind: PkiObject['kind']
  subject?: string
  issuer?: string
  serial?: string
  notBefore?: string
  notAfter?: string
  sans?: string[]
  key?: string
  signature?: string
  ca?: boolean
  /** certificates: SHA-256 of the DER; keys and CSRs: SHA-256 of the public key (SPKI) */
  fingerprint?: string
  encrypted?: boolean
  /** key files: permission bits, octal */
  mode?: string
}

export interface InspectReport {
  verdict: Verdict
  objects: InspectedObject[]
  findings: Finding[]
  counts: Record<Severity, number>
}

export interface InspectOptions {
  /** the host name the certificate or CSR must cover */
  domain?: string
  /** trust anchors the certificates must chain to */
  anchors?: ParsedCertificate[]
  anchorSource?: string
  now?: Date
}

export const WARN_REMAINING_DAYS = 30
export const MAX_LIFETIME_DAYS = 398
const DAY = 86_400_000

export async function inspectFiles(files: string[], options: Omit<InspectOptions, 'anchors'> & {ca?: string; passphrase?: string}): Promise<InspectReport> {
  if (files.length === 0) throw new AirlockError('USAGE', 'name at least one file to inspect', {subject: 'FILE', hint: 'e.g. airlock certs inspect site.crt site.key --domain wallaroo.example.com'})
  const objects: PkiObject[] = []
  for (const file of files) objects.push(...(await readPkiFile(file, options.passphrase)))
  let anchors: ParsedCertificate[] | undefined
  if (options.ca) {
    anchors = (await readPkiFile(options.ca)).flatMap((o) => (o.kind === 'certificate' ? [o.cert] : []))
    if (anchors.length === 0) throw new AirlockError('CERT_INVALID', `${options.ca} holds no certificate`, {subject: options.ca, hint: 'give the CA certificate (PEM or DER) with --ca'})
  }
  return inspectObjects(objects, {...options, anchors, anchorSource: options.ca})
}

export function inspectObjects(objects: PkiObject[], options: InspectOptions = {}): InspectReport {
  const now = options.now ?? new Date()
  const findings: Finding[] = []
  const add = (f: Finding): void => {
    findings.push(f)
  }
  const certs = objects.flatMap((o) => (o.kind === 'certificate' ? [{source: o.source, cert: o.cert}] : []))
  for (const object of objects) {
    switch (object.kind) {
      case 'certificate': {
        const {cert, source} = object
        add(checkKeyStrength(describeKey(cert.publicKey), source))
        add(checkSignatureHash(cert.signatureAlgorithm, source))
        add(checkValidity(cert, source, now))
        for (const f of cert.extensions.unknownCritical) add({check: 'critical-extension', severity: 'warn', subject: source, message: `unknown critical extension ${f}: clients that do not know it must reject the certificate`})
        if (isCa(cert)) {
          add(checkCaConstraints(cert, source))
        } else {
          add(checkLifetime(cert, source))
          add(checkSanPresent(cert.extensions.san, source, 'fail'))
          if (options.domain) add(checkDomain(options.domain, cert.extensions.san, undefined, source))
          add(checkServerAuth(cert, source))
        }
        break
      }
      case 'csr': {
        const {csr, source} = object
        add(checkCsrSignature(csr.signatureValid, source))
        add(checkKeyStrength(describeKey(csr.publicKey), source))
        add(checkSignatureHash(csr.signatureAlgorithm, source))
        add(checkSanPresent(csr.extensions.san, source, 'warn'))
        if (options.domain) add(checkDomain(options.domain, csr.extensions.san, commonNameOf(csr.subject), source))
        break
      }
      case 'private-key': {
        if (object.key) add(checkKeyStrength(describeKey(object.key), object.source))
        add(checkKeyMode(object.mode, object.source))
        add(checkKeyEncrypted(object))
        if (object.key) {
          const match = checkKeyMatch(object.key, object.source, objects)
          if (match) add(match)
        }
        break
      }
      case 'public-key':
        add(checkKeyStrength(describeKey(object.key), object.source))
        break
    }
  }
  findings.push(...checkChains(certs, options))
  const counts: Record<Severity, number> = {ok: 0, info: 0, warn: 0, fail: 0}
  for (const f of findings) counts[f.severity]++
  return {verdict: counts.fail > 0 ? 'fail' : counts.warn > 0 ? 'warn' : 'pass', objects: objects.map(describeObject), findings, counts}
}

// ---------------------------------------------------------------- the checks

export function isCa(cert: ParsedCertificate): boolean {
  return cert.extensions.basicConstraints?.ca === true
}

function checkKeyStrength(key: KeyDescription, subject: string): Finding {
  const check = 'key-strength'
  if (key.algorithm === 'RSA' || key.algorithm === 'RSA-PSS') {
    const bits = key.bits ?? 0
    if (bits < 2048) return {check, severity: 'fail', subject, message: `${key.label}: RSA under 2048 bits can be factored`, hint: 'make a new key: RSA 3072 or ECDSA P-256'}
    return {check, severity: 'ok', subject, message: key.label}
  }
  if (key.algorithm === 'EC') {
    if (['P-256', 'P-384', 'P-521'].includes(key.curve ?? '')) return {check, severity: 'ok', subject, message: key.label}
    return {check, severity: 'warn', subject, message: `${key.label}: a curve TLS clients may not accept`, hint: 'use P-256 or P-384'}
  }
  if (key.algorithm === 'ED25519' || key.algorithm === 'ED448') return {check, severity: 'ok', subject, message: key.label}
  if (key.algorithm === 'DSA') return {check, severity: 'fail', subject, message: `${key.label}: DSA is no longer accepted for TLS`, hint: 'make a new key: RSA 3072 or ECDSA P-256'}
  return {check, severity: 'warn', subject, message: `${key.label}: an algorithm airlock cannot judge`}
}

function checkSignatureHash(alg: SignatureAlgorithm, subject: string): Finding {
  const check = 'signature-hash'
  if (alg.hash && BROKEN_HASHES.has(alg.hash)) return {check, severity: 'fail', subject, message: `signed with ${alg.name}: ${alg.hash.toUpperCase()} collisions are practical`, hint: 'have it re-signed with SHA-256 or stronger'}
  if (!alg.hash && !alg.name.startsWith('ED')) return {check, severity: 'warn', subject, message: `signature algorithm ${alg.name}: its hash was not checked here`}
  return {check, severity: 'ok', subject, message: alg.name}
}

function checkValidity(cert: ParsedCertificate, subject: string, now: Date): Finding {
  const check = 'validity'
  const range = `${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()}`
  if (now < cert.notBefore) return {check, severity: 'fail', subject, message: `not valid yet: ${range}`, hint: 'check the clock of the machine that made it, or wait'}
  if (now > cert.notAfter) return {check, severity: 'fail', subject, message: `expired on ${cert.notAfter.toISOString()}`, hint: 'renew the certificate'}
  const left = Math.floor((cert.notAfter.getTime() - now.getTime()) / DAY)
  if (left < WARN_REMAINING_DAYS) return {check, severity: 'warn', subject, message: `expires in ${left} days (${cert.notAfter.toISOString()})`, hint: 'renew it before the platform is installed'}
  return {check, severity: 'ok', subject, message: `valid ${range} (${left} days left)`}
}

function checkLifetime(cert: ParsedCertificate, subject: string): Finding {
  const days = (cert.notAfter.getTime() - cert.notBefore.getTime() + 1000) / DAY
  if (days > MAX_LIFETIME_DAYS) return {check: 'lifetime', severity: 'warn', subject, message: `valid for ${Math.round(days)} days: browsers reject server certificates valid for more than ${MAX_LIFETIME_DAYS}`, hint: 'issue it with --days 397 or fewer'}
  return {check: 'lifetime', severity: 'ok', subject, message: `valid for ${Math.round(days)} days`}
}

function checkSanPresent(san: SubjectAltNames | undefined, subject: string, severity: 'fail' | 'warn'): Finding {
  if (!san || san.dns.length + san.ip.length === 0) return {check: 'san', severity, subject, message: 'no DNS or IP subjectAltName: clients ignore the CN and will refuse it', hint: 'make it again with the host names as SANs (airlock certs csr --domain D --san ...)'}
  return {check: 'san', severity: 'ok', subject, message: sanList(san).join(', ')}
}

/** RFC 6125: a wildcard stands for exactly one whole left-most label. */
export function hostMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase().replace(/\.$/, '')
  const h = host.toLowerCase().replace(/\.$/, '')
  if (p === h) return true
  if (!p.startsWith('*.')) return false
  const dot = h.indexOf('.')
  return dot > 0 && h.slice(dot + 1) === p.slice(2)
}

function checkDomain(domain: string, san: SubjectAltNames | undefined, cn: string | undefined, subject: string): Finding {
  const check = 'domain'
  const covered = isIP(domain)
    ? (san?.ip ?? []).some((ip) => ipBytes(ip).equals(ipBytes(domain)))
    : (san?.dns ?? []).some((d) => hostMatches(d, domain))
  if (covered) return {check, severity: 'ok', subject, message: `${domain} is covered by a subjectAltName`}
  if (cn && hostMatches(cn, domain) && !san) return {check, severity: 'warn', subject, message: `${domain} appears only as the CN; the issuer must copy it into a SAN`, hint: 'make the CSR with airlock certs csr, which writes the SAN'}
  return {check, severity: 'fail', subject, message: `${domain} is not among the names it covers (${san ? sanList(san).join(', ') : 'no SAN'})`, hint: 'issue it for the platform domain, or pass the right --domain'}
}

function checkServerAuth(cert: ParsedCertificate, subject: string): Finding {
  const eku = cert.extensions.extKeyUsage
  if (!eku) return {check: 'eku', severity: 'warn', subject, message: 'no extendedKeyUsage: public CAs and some clients expect serverAuth', hint: 'issue it with EKU serverAuth'}
  if (eku.usages.includes('serverAuth') || eku.usages.includes('anyExtendedKeyUsage')) return {check: 'eku', severity: 'ok', subject, message: `extendedKeyUsage ${eku.usages.join(', ')}`}
  return {check: 'eku', severity: 'fail', subject, message: `extendedKeyUsage ${eku.usages.join(', ')} lacks serverAuth: TLS clients will refuse it`, hint: 'issue it with EKU serverAuth'}
}

function checkCaConstraints(cert: ParsedCertificate, subject: string): Finding {
  const bc = cert.extensions.basicConstraints
  const ku = cert.extensions.keyUsage
  if (ku && !ku.usages.includes('keyCertSign')) return {check: 'ca', severity: 'fail', subject, message: 'a CA whose keyUsage lacks keyCertSign cannot sign certificates'}
  if (!bc?.critical) return {check: 'ca', severity: 'warn', subject, message: 'basicConstraints of a CA should be critical (RFC 5280 4.2.1.9)'}
  return {check: 'ca', severity: 'ok', subject, message: `CA${bc.pathLen === undefined ? '' : `, pathlen ${bc.pathLen}`}${ku ? `, keyUsage ${ku.usages.join(', ')}` : ''}`}
}

function checkCsrSignature(valid: boolean | undefined, subject: string): Finding {
  if (valid === true) return {check: 'csr-signature', severity: 'ok', subject, message: 'the request is signed by the key it names'}
  if (valid === false) return {check: 'csr-signature', severity: 'fail', subject, message: 'the request signature does not verify: it was altered, or not made with its key', hint: 'ask for a fresh CSR; never issue for this one'}
  return {check: 'csr-signature', severity: 'warn', subject, message: 'the request signature algorithm cannot be checked here'}
}

function checkKeyMode(mode: number | undefined, subject: string): Finding {
  if (mode === undefined) return {check: 'key-mode', severity: 'info', subject, message: 'file mode unknown'}
  const octal = mode.toString(8).padStart(4, '0')
  if (mode & 0o077) return {check: 'key-mode', severity: 'warn', subject, message: `mode ${octal}: others than the owner can read the private key`, hint: `chmod 600 ${subject.replace(/#\d+$/, '')}`}
  return {check: 'key-mode', severity: 'ok', subject, message: `mode ${octal}`}
}

function checkKeyEncrypted(object: Extract<PkiObject, {kind: 'private-key'}>): Finding {
  const subject = object.source
  if (object.error) return {check: 'key-encrypted', severity: 'fail', subject, message: `encrypted ${object.format}, ${object.error}`, hint: 'check the passphrase in the variable named by --passphrase-env'}
  if (!object.encrypted) return {check: 'key-encrypted', severity: 'warn', subject, message: `unencrypted ${object.format} private key: anyone who can read the file holds the key`, hint: 'keep it offline until install, or encrypt it (--passphrase-env)'}
  if (!object.key) return {check: 'key-encrypted', severity: 'info', subject, message: `encrypted ${object.format} private key; pass --passphrase-env to check it against the certificate`}
  return {check: 'key-encrypted', severity: 'ok', subject, message: `encrypted ${object.format} private key`}
}

/** A key must belong to at least one of the server certificates or requests it was given with. */
function checkKeyMatch(key: KeyObject, subject: string, objects: PkiObject[]): Finding | undefined {
  const fingerprint = publicKeyFingerprint(key)
  const candidates = objects.flatMap((o) => {
    if (o.kind === 'certificate') return [{source: o.source, fingerprint: publicKeyFingerprint(o.cert.publicKey)}]
    if (o.kind === 'csr') return [{source: o.source, fingerprint: publicKeyFingerprint(o.csr.publicKey)}]
    return []
  })
  if (candidates.length === 0) return undefined
  const matched = candidates.filter((c) => c.fingerprint === fingerprint)
  if (matched.length > 0) return {check: 'key-match', severity: 'ok', subject, message: `matches ${matched.map((m) => m.source).join(', ')}`}
  return {check: 'key-match', severity: 'fail', subject, message: `matches none of ${candidates.map((c) => c.source).join(', ')}`, hint: 'the certificate was issued for another key: find the key made with its CSR, or issue again'}
}

function issuedBy(child: ParsedCertificate, parent: ParsedCertificate): boolean {
  try {
    return child.x509.checkIssued(parent.x509) && child.x509.verify(parent.publicKey)
  } catch {
    return false
  }
}

function selfSigned(cert: ParsedCertificate): boolean {
  return issuedBy(cert, cert)
}

/**
 * Chains are built from everything given (any order) up to --ca, checking each signature on the way.
 * Without --ca, each certificate's issuer, when it was given too, must have signed it.
 */
function checkChains(certs: {source: string; cert: ParsedCertificate}[], options: InspectOptions): Finding[] {
  const out: Finding[] = []
  const now = options.now ?? new Date()
  for (const {source, cert} of certs) {
    if (options.anchors) {
      if (isCa(cert) && options.anchors.some((a) => a.der.equals(cert.der))) continue
      const path = buildPath(cert, certs.map((c) => c.cert), options.anchors)
      if (path.ok) {
        const expired = path.chain.find((c) => now > c.notAfter || now < c.notBefore)
        if (expired) out.push({check: 'chain', severity: 'fail', subject: source, message: `chains to ${options.anchorSource ?? 'the CA'}, but ${formatName(expired.subject)} in the chain is not valid now`, hint: 'renew that certificate'})
        else out.push({check: 'chain', severity: 'ok', subject: source, message: `chains to ${formatName(path.anchor.subject)} (${options.anchorSource ?? 'CA'}) (a chain of ${path.chain.length} certificate${path.chain.length === 1 ? '' : 's'})`})
      } else {
        out.push({check: 'chain', severity: 'fail', subject: source, message: `does not chain to ${options.anchorSource ?? 'the CA'}: ${path.reason}`, hint: 'give the intermediate certificates too, or check that this CA issued it'})
      }
      continue
    }
    if (selfSigned(cert)) {
      out.push({check: 'chain', severity: isCa(cert) ? 'info' : 'warn', subject: source, message: isCa(cert) ? 'self-signed root: trusted only where it is installed' : 'self-signed end-entity certificate: clients must pin it', hint: isCa(cert) ? undefined : 'issue it from a CA (airlock certs issue) and distribute the CA certificate'})
      continue
    }
    const parent = certs.find((c) => c.cert !== cert && cert.x509.checkIssued(c.cert.x509))
    if (parent) {
      out.push(issuedBy(cert, parent.cert)
        ? {check: 'chain', severity: 'ok', subject: source, message: `signed by ${formatName(parent.cert.subject)} (${parent.source})`}
        : {check: 'chain', severity: 'fail', subject: source, message: `names ${parent.source} as issuer, but that certificate's key did not sign it`, hint: 'the certificate was altered or the chain is wrong'})
    } else {
      out.push({check: 'chain', severity: 'info', subject: source, message: `issued by ${formatName(cert.issuer)}; pass --ca to check the chain`})
    }
  }
  return out
}

function buildPath(leaf: ParsedCertificate, pool: ParsedCertificate[], anchors: ParsedCertificate[]): {ok: true; chain: ParsedCertificate[]; anchor: ParsedCertificate} | {ok: false; reason: string} {
  const chain: ParsedCertificate[] = [leaf]
  let current = leaf
  for (let depth = 0; depth < 8; depth++) {
    const anchor = anchors.find((a) => issuedBy(current, a))
    if (anchor) return {ok: true, chain: anchor.der.equals(current.der) ? chain : [...chain, anchor], anchor}
    const next = pool.find((p) => !chain.includes(p) && isCa(p) && issuedBy(current, p))
    if (!next) {
      const named = [...pool, ...anchors].some((p) => current.x509.checkIssued(p.x509))
      return {ok: false, reason: named ? `the signature of ${formatName(current.subject)} does not verify with its issuer's key` : `no issuer found for ${formatName(current.subject)} (issuer ${formatName(current.issuer)})`}
    }
    chain.push(next)
    current = next
  }
  return {ok: false, reason: 'the chain is longer than 8 certificates'}
}

function sanList(san: SubjectAltNames): string[] {
  return [...san.dns.map((d) => `DNS:${d}`), ...san.ip.map((ip) => `IP:${ip}`), ...san.other]
}

function describeObject(object: PkiObject): InspectedObject {
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
        ca: isCa(c),
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
