import {createPublicKey, type KeyObject} from 'node:crypto'
import {join} from 'node:path'
import {mkdir} from 'node:fs/promises'

import {loadPrivateKey} from '../signing/keys.js'
import {AirlockError} from '../ui/errors.js'
import {pathExists, writeFileAtomic, writeSecretFile} from '../util/fs.js'
import {fromDer, toDer} from './asn1.js'
import {DEFAULT_TLS_KEY_TYPE, describeKey, generateTlsKey, keyIdentifier, privateKeyPem, publicKeyFingerprint, spkiDer, type TlsKeyType} from './keys.js'
import {commonNameOf, encodeName, formatName, parseSubject, type NameAttribute} from './name.js'
import {readPkiFile} from './read.js'
import {buildCertificate, buildCsr, toPem} from './assemble.js'
import {authorityKeyIdExtension, basicConstraintsExtension, codeSigningExtension, keyUsageExtension, sanExtension, serverAuthExtension, serverKeyUsages, subjectKeyIdExtension} from './extensions.js'
import {parseCertificate, parseCsr, type ParsedCertificate, type ParsedCsr} from './parse.js'
import {collectSans, type SubjectAltNames} from './san.js'
import {signs, validatePath} from './path-validation.js'

/** Certificates start a little in the past so that a client whose clock runs slow still accepts them. */
export const BACKDATE_SECONDS = 5 * 60
export const DEFAULT_SERVER_DAYS = 397
export const DEFAULT_CA_DAYS = 3650

/** notBefore a few minutes back; notAfter so that the whole validity, both ends inclusive, is exactly `days`. */
export function validityWindow(now: Date, days: number): {notBefore: Date; notAfter: Date} {
  const start = Math.floor(now.getTime() / 1000) - BACKDATE_SECONDS
  return {notBefore: new Date(start * 1000), notAfter: new Date((start + days * 86_400 - 1) * 1000)}
}

/**
 * A file name from a domain or a name: `*.example.com` becomes `_wildcard.example.com`. Only letters,
 * digits, `.`, `_` and `-` survive, and a leading dot becomes `_`, so a name such as `..` or `../x`
 * read from a CSR can never leave the output folder.
 */
export function fileBaseFor(domain: string): string {
  const base = domain.replace(/^\*\./, '_wildcard.').replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\./, '_')
  return base === '' ? '_' : base
}

// ---------------------------------------------------------------- CSR

export interface CsrRequest {
  domain: string
  sans?: string[]
  keyType?: TlsKeyType
  subject?: string
  /** what errors name: flags by default, spec paths from the bundle build */
  labels?: {domain: string; sans: string; subject: string}
}

export interface MadeCsr {
  key: KeyObject
  csrPem: string
  csrDer: Buffer
  sans: SubjectAltNames
  subject: string
  keyType: TlsKeyType
}

export async function makeCsr(request: CsrRequest): Promise<MadeCsr> {
  const sans = collectSans(request.domain, request.sans ?? [], request.labels?.sans, request.labels?.domain)
  const attributes: NameAttribute[] = [...parseSubject(request.subject, request.labels?.subject), {type: 'CN', value: request.domain.toLowerCase()}]
  const keyType = request.keyType ?? DEFAULT_TLS_KEY_TYPE
  const key = await generateTlsKey(keyType)
  const der = buildCsr({key, subject: encodeName(attributes), sans})
  return {key, csrPem: toPem('CERTIFICATE REQUEST', der), csrDer: der, sans, subject: formatName(attributes), keyType}
}

export interface WriteOptions {
  outDir: string
  force?: boolean
  /** encrypts the written private key */
  passphrase?: string
}

export interface CsrResult {
  domain: string
  subject: string
  sans: SubjectAltNames
  keyType: TlsKeyType
  /** path of the private key (never its content) */
  key: string
  keyEncrypted: boolean
  csr: string
  publicKeyFingerprint: string
}

export async function createCsr(request: CsrRequest & WriteOptions): Promise<CsrResult> {
  const base = join(request.outDir, fileBaseFor(request.domain))
  const keyPath = `${base}.key`
  const csrPath = `${base}.csr`
  await refuseExisting([keyPath, csrPath], request.force)
  const made = await makeCsr(request)
  await mkdir(request.outDir, {recursive: true})
  await writeSecretFile(keyPath, privateKeyPem(made.key, request.passphrase), {force: request.force})
  await writeFileAtomic(csrPath, made.csrPem, {force: request.force})
  return {domain: request.domain.toLowerCase(), subject: made.subject, sans: made.sans, keyType: made.keyType, key: keyPath, keyEncrypted: Boolean(request.passphrase), csr: csrPath, publicKeyFingerprint: publicKeyFingerprint(made.key)}
}

/** Checked before any key is made, so a refusal leaves nothing half-written. */
async function refuseExisting(paths: string[], force?: boolean): Promise<void> {
  if (force) return
  for (const path of paths) {
    if (await pathExists(path)) throw new AirlockError('FILE_EXISTS', `${path} already exists`, {subject: path, hint: 'remove it, choose another --out, or pass --force'})
  }
}

// ---------------------------------------------------------------- CA

export interface CaRequest {
  name: string
  days?: number
  keyType?: TlsKeyType
  subject?: string
  now?: Date
}

export interface MadeCa {
  key: KeyObject
  certPem: string
  cert: ParsedCertificate
}

/** A private root that may sign end-entity certificates only (pathLen 0). */
export async function makeCa(request: CaRequest): Promise<MadeCa> {
  if (request.name.trim() === '') throw new AirlockError('USAGE', '--name must not be empty', {subject: '--name', hint: 'e.g. --name "Acme Platform CA"'})
  const key = await generateTlsKey(request.keyType ?? DEFAULT_TLS_KEY_TYPE)
  const attributes = [...parseSubject(request.subject), {type: 'CN', value: request.name.trim()}]
  const name = encodeName(attributes)
  const spki = spkiDer(key)
  const keyId = keyIdentifier(spki)
  const der = buildCertificate({
    subject: name,
    issuer: name,
    publicKey: spki,
    ...validityWindow(request.now ?? new Date(), request.days ?? DEFAULT_CA_DAYS),
    extensions: [basicConstraintsExtension(true), keyUsageExtension(['keyCertSign', 'cRLSign']), subjectKeyIdExtension(keyId), authorityKeyIdExtension(keyId)],
    signer: key,
  })
  return {key, certPem: toPem('CERTIFICATE', der), cert: parseCertificate(der, 'new CA certificate')}
}

export interface CaResult {
  name: string
  subject: string
  cert: string
  key: string
  keyEncrypted: boolean
  keyType: TlsKeyType
  notBefore: string
  notAfter: string
  serial: string
  publicKeyFingerprint: string
}

export async function createCa(request: CaRequest & WriteOptions): Promise<CaResult> {
  const certPath = join(request.outDir, 'ca.crt')
  const keyPath = join(request.outDir, 'ca.key')
  await refuseExisting([certPath, keyPath], request.force)
  const made = await makeCa(request)
  await mkdir(request.outDir, {recursive: true})
  await writeSecretFile(keyPath, privateKeyPem(made.key, request.passphrase), {force: request.force})
  await writeFileAtomic(certPath, made.certPem, {force: request.force})
  return {
    name: request.name.trim(),
    subject: formatName(made.cert.subject),
    cert: certPath,
    key: keyPath,
    keyEncrypted: Boolean(request.passphrase),
    keyType: request.keyType ?? DEFAULT_TLS_KEY_TYPE,
    notBefore: made.cert.notBefore.toISOString(),
    notAfter: made.cert.notAfter.toISOString(),
    serial: made.cert.serial,
    publicKeyFingerprint: publicKeyFingerprint(made.key),
  }
}

// ---------------------------------------------------------------- issuing

export interface Issuer {
  cert: ParsedCertificate
  /** the certificates above an intermediate CA, as its file lists them (up to the root) */
  above?: ParsedCertificate[]
  key: KeyObject
  /** where the CA came from, for error subjects */
  source: string
}

/** A CA certificate and its key, checked to belong together and to be fit to issue now. */
export async function loadIssuer(certPath: string, keyPath: string, passphrase?: string, now = new Date(), passphraseFlag = '--ca-passphrase-env'): Promise<Issuer> {
  const objects = await readPkiFile(certPath)
  const first = objects.find((o) => o.kind === 'certificate')
  if (!first || first.kind !== 'certificate') throw new AirlockError('CERT_INVALID', `${certPath} holds no certificate`, {subject: certPath, hint: 'give the CA certificate (PEM or DER), e.g. ca.crt from `airlock certs ca`'})
  const cert = first.cert
  const key = await loadPrivateKey(keyPath, passphrase, passphraseFlag)
  if (publicKeyFingerprint(key) !== publicKeyFingerprint(cert.publicKey)) {
    throw new AirlockError('KEY_INVALID', `${keyPath} is not the key of the CA certificate ${certPath}`, {subject: keyPath, hint: 'pass the ca.key written together with this ca.crt'})
  }
  if (!cert.extensions.basicConstraints?.ca) throw new AirlockError('CERT_INVALID', `${certPath} is not a CA certificate (basicConstraints cA is not TRUE)`, {subject: certPath, hint: 'make a CA with `airlock certs ca`'})
  if (cert.extensions.keyUsage && !cert.extensions.keyUsage.usages.includes('keyCertSign')) throw new AirlockError('CERT_INVALID', `${certPath} may not sign certificates (keyUsage lacks keyCertSign)`, {subject: certPath})
  if (now < cert.notBefore || now > cert.notAfter) throw new AirlockError('CERT_INVALID', `the CA certificate ${certPath} is not valid now (${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()})`, {subject: certPath, hint: 'make a new CA, or renew this one'})
  const above = objects.flatMap((o) => (o.kind === 'certificate' && o.cert !== cert ? [o.cert] : []))
  return {cert, above, key, source: certPath}
}

/** What a server sends after its certificate: the issuing CA and every intermediate above it, not the root. */
export function intermediatesOf(issuer: Issuer): ParsedCertificate[] {
  return [issuer.cert, ...(issuer.above ?? [])].filter((c) => !c.subjectDer.equals(c.issuerDer))
}

/** server: EKU serverAuth and SANs (the default); signer: keyUsage digitalSignature and EKU codeSigning, for signing bundles. */
export type CertificateProfile = 'server' | 'signer'
export const CERTIFICATE_PROFILES: CertificateProfile[] = ['server', 'signer']

/** CA/Browser Forum Baseline Requirements 6.3.2; Safari and Chrome refuse server certificates valid longer. */
export const MAX_DAYS = 398

export interface IssueRequest {
  days?: number
  now?: Date
  profile?: CertificateProfile
  /** more than 398 days: only when the user asked for it by name */
  allowLongValidity?: boolean
  /** what the days came from, for the error */
  daysLabel?: string
}

function checkDays(request: IssueRequest): void {
  const days = request.days ?? DEFAULT_SERVER_DAYS
  if (days > MAX_DAYS && !request.allowLongValidity) {
    const at = request.daysLabel ?? '--days'
    throw new AirlockError('USAGE', `${at} ${days} is over ${MAX_DAYS} days: Safari and Chrome refuse server certificates valid longer (CA/Browser Forum Baseline Requirements 6.3.2), and a long-lived key that leaks stays usable for years`, {
      subject: at,
      hint: `issue for ${DEFAULT_SERVER_DAYS} days or fewer and renew, or pass --allow-long-validity if only clients you control will see it`,
    })
  }
}

export interface IssuedCertificate {
  certPem: string
  fullchainPem: string
  cert: ParsedCertificate
  sans: SubjectAltNames
  domain: string
  /** true when the CA expires before `days` and the certificate was cut to the CA's end */
  clampedToCa: boolean
}

/**
 * Certifies the key and names of a verified CSR. The subject's CN alone never names the server: the
 * SANs come from the request, and a request without any gets its CN as the one DNS SAN. Every name
 * is held to the rules `certs csr` applies: a CSR asking for `*`, `*.com` or a malformed name is refused.
 * A signer certificate names no host: it certifies the key under the request's subject.
 */
export function issueFromCsr(issuer: Issuer, csr: ParsedCsr, source: string, request: IssueRequest = {}): IssuedCertificate {
  if (csr.signatureValid !== true) {
    throw new AirlockError('CSR_INVALID', `the signature of ${source} does not verify: it was altered or not made with its key`, {subject: source, hint: 'ask for a fresh CSR; never issue for a request whose signature fails'})
  }
  describeKeyOrRefuse(csr.publicKey, source)
  const cn = commonNameOf(csr.subject)
  if (request.profile === 'signer') {
    if (!cn) throw new AirlockError('CSR_INVALID', `${source} has no CN: a signer certificate names who signs`, {subject: source, hint: 'make the request with a subject such as /CN=Acme release signing'})
    return issueFor(issuer, {subjectDer: csr.subjectDer, publicKey: csr.publicKey, spki: csr.spki, sans: {dns: [], ip: [], other: []}, domain: cn}, request)
  }
  const fromCsr = csr.extensions.san
  if (fromCsr && fromCsr.other.length > 0) {
    // dropping them silently would issue a certificate other than the one asked for
    throw new AirlockError('CSR_INVALID', `${source} asks for names a server certificate does not carry: ${fromCsr.other.join(', ')}`, {subject: source, hint: 'ask for a request with DNS and IP names only (airlock certs csr --domain D --san ...)'})
  }
  const asked = fromCsr && fromCsr.dns.length + fromCsr.ip.length > 0 ? [...fromCsr.dns, ...fromCsr.ip] : cn ? [cn] : []
  const [first, ...rest] = asked
  if (first === undefined) {
    throw new AirlockError('CSR_INVALID', `${source} names no host: no subjectAltName and no CN`, {subject: source, hint: 'make the CSR with `airlock certs csr --domain D`'})
  }
  let sans: SubjectAltNames
  try {
    sans = collectSans(first, rest, `${source} subjectAltName`, `${source} subjectAltName`, true)
  } catch (error) {
    throw new AirlockError('CSR_INVALID', `${source} asks for a name no careful CA signs: ${(error as Error).message}`, {subject: source, hint: 'ask for a request that names the platform hosts only (airlock certs csr --domain D --san ...)', cause: error})
  }
  const domain = cn && (sans.dns.includes(cn.toLowerCase()) || sans.ip.includes(cn)) ? cn.toLowerCase() : (sans.dns[0] ?? sans.ip[0] ?? first)
  return issueFor(issuer, {subjectDer: csr.subjectDer, publicKey: csr.publicKey, spki: csr.spki, sans, domain}, request)
}

/** A signer certificate for a public key (airlock keys generate writes KEY.pub): CN is the signer's name. */
export function issueForPublicKey(issuer: Issuer, target: {publicKey: KeyObject; name: string; subject?: string}, request: IssueRequest): IssuedCertificate {
  const name = target.name.trim()
  if (name === '') throw new AirlockError('USAGE', '--name must not be empty', {subject: '--name', hint: 'e.g. --name "Acme release signing"'})
  describeKeyOrRefuse(target.publicKey, '--public-key')
  const spki = spkiDer(target.publicKey)
  const subjectDer = toDer(encodeName([...parseSubject(target.subject), {type: 'CN', value: name}]))
  return issueFor(issuer, {subjectDer, publicKey: target.publicKey, spki, sans: {dns: [], ip: [], other: []}, domain: name}, {...request, profile: 'signer'})
}

function describeKeyOrRefuse(key: KeyObject, source: string): void {
  const d = describeKey(key)
  const ok = (d.algorithm === 'RSA' && (d.bits ?? 0) >= 2048) || (d.algorithm === 'EC' && ['P-256', 'P-384', 'P-521'].includes(d.curve ?? ''))
  if (!ok) throw new AirlockError('KEY_INVALID', `${source} asks to certify a ${d.label} key, which airlock does not issue for`, {subject: source, hint: 'use RSA of 2048 bits or more, or ECDSA P-256/P-384'})
}

function issueFor(issuer: Issuer, target: {subjectDer: Buffer; publicKey: KeyObject; spki: Buffer; sans: SubjectAltNames; domain: string}, request: IssueRequest): IssuedCertificate {
  checkDays(request)
  const days = request.days ?? DEFAULT_SERVER_DAYS
  const window = validityWindow(request.now ?? new Date(), days)
  const clampedToCa = window.notAfter > issuer.cert.notAfter
  if (clampedToCa) window.notAfter = issuer.cert.notAfter
  const caKeyId = issuer.cert.extensions.subjectKeyId ? Buffer.from(issuer.cert.extensions.subjectKeyId, 'hex') : keyIdentifier(issuer.cert.spki)
  const der = buildCertificate({
    subject: fromDer(target.subjectDer, 'subject'),
    issuer: fromDer(issuer.cert.subjectDer, 'issuer'),
    publicKey: target.spki,
    ...window,
    extensions: [
      basicConstraintsExtension(false),
      ...(request.profile === 'signer'
        ? [keyUsageExtension(['digitalSignature']), codeSigningExtension()]
        : [keyUsageExtension(serverKeyUsages(target.publicKey)), serverAuthExtension(), sanExtension(target.sans)]),
      subjectKeyIdExtension(keyIdentifier(target.spki)),
      authorityKeyIdExtension(caKeyId),
    ],
    signer: issuer.key,
  })
  const certPem = toPem('CERTIFICATE', der)
  // a root CA issuing directly stays in the full chain, as before; an intermediate brings what is above it, without the root
  const sent = intermediatesOf(issuer)
  const caPem = (sent.length > 0 ? sent : [issuer.cert]).map((c) => toPem('CERTIFICATE', c.der)).join('')
  return {certPem, fullchainPem: certPem + caPem, cert: parseCertificate(der, 'new certificate'), sans: target.sans, domain: target.domain, clampedToCa}
}

/**
 * A certificate the CA's own constraints make worthless is not written: a name outside the CA's
 * nameConstraints, or a purpose its EKU does not allow, would be refused by openssl, Node and Python.
 * Judged by the one path validator, when the CA file reaches a root; otherwise nothing is known to judge by.
 */
export async function refuseWhatClientsRefuse(issued: IssuedCertificate, issuer: Issuer, purpose: 'serverAuth' | 'codeSigning'): Promise<void> {
  const known = [issuer.cert, ...(issuer.above ?? [])]
  const anchors = known.filter((c) => signs(c, c))
  if (anchors.length === 0) return
  const result = await validatePath({leaf: issued.cert, intermediates: known.filter((c) => !signs(c, c)), anchors, purpose})
  if (result.ok) return
  const fatal = result.problems.filter((p) => p.rule === 'name-constraints' || p.rule === 'purpose')
  if (fatal.length === 0) return
  throw new AirlockError('USAGE', `${issuer.source} would issue a certificate its clients refuse: ${fatal.map((p) => p.message).join('; ')}`, {
    subject: issuer.source,
    hint: fatal.some((p) => p.rule === 'name-constraints') ? 'ask only for names the CA may certify (its nameConstraints), or use a CA that permits them' : 'use a CA whose extendedKeyUsage allows this purpose',
  })
}

/** A new key and a certificate for it, without a CSR in between. */
export async function issueForDomain(issuer: Issuer, request: CsrRequest & IssueRequest): Promise<IssuedCertificate & {key: KeyObject}> {
  const made = await makeCsr(request)
  const csr = parseCsr(made.csrDer, 'new request')
  return {...issueFromCsr(issuer, csr, 'new request', request), key: made.key}
}

export interface IssueResult {
  domain: string
  subject: string
  issuer: string
  sans: SubjectAltNames
  serial: string
  notBefore: string
  notAfter: string
  cert: string
  fullchain: string
  /** only when --domain made a new key */
  key?: string
  keyEncrypted?: boolean
  clampedToCa: boolean
  publicKeyFingerprint: string
}

export interface IssueFilesRequest extends WriteOptions, IssueRequest {
  caCert: string
  caKey: string
  caPassphrase?: string
  csr?: string
  domain?: string
  sans?: string[]
  keyType?: TlsKeyType
  subject?: string
  /** profile signer: the public key to certify (KEY.pub from `airlock keys generate`) */
  publicKey?: string
  /** profile signer with --public-key: the signer's name, the CN */
  name?: string
}

export async function issueCertificate(request: IssueFilesRequest): Promise<IssueResult> {
  const signer = request.profile === 'signer'
  const sources = [request.csr, request.domain, request.publicKey].filter(Boolean).length
  if (sources !== 1 || (signer && request.domain) || (!signer && request.publicKey)) {
    throw new AirlockError('USAGE', signer ? 'with --profile signer give exactly one of --csr or --public-key' : 'give exactly one of --csr or --domain', {
      subject: signer ? (request.domain ? '--domain' : '--public-key') : request.publicKey ? '--public-key' : request.csr ? '--domain' : '--csr',
      hint: signer ? '--public-key KEY.pub --name "Acme release signing" certifies a signing key from `airlock keys generate`; --csr FILE certifies a request made with it' : '--csr FILE certifies an existing request; --domain D makes a new key and certifies it (--public-key is for --profile signer)',
    })
  }
  if (request.publicKey && !request.name) throw new AirlockError('USAGE', '--public-key needs --name, the signer\'s name for the certificate subject', {subject: '--name', hint: 'e.g. --name "Acme release signing"'})
  checkDays(request)
  const issuer = await loadIssuer(request.caCert, request.caKey, request.caPassphrase, request.now)
  let issued: IssuedCertificate
  let key: KeyObject | undefined
  if (request.publicKey) {
    const found = (await readPkiFile(request.publicKey)).find((o) => o.kind === 'public-key' || o.kind === 'private-key')
    const publicKey = found?.kind === 'public-key' ? found.key : found?.kind === 'private-key' && found.key ? createPublicKey(found.key) : undefined
    if (!publicKey) throw new AirlockError('KEY_INVALID', `${request.publicKey} holds no public key`, {subject: request.publicKey, hint: 'give KEY.pub as `airlock keys generate` wrote it'})
    issued = issueForPublicKey(issuer, {publicKey, name: request.name ?? '', subject: request.subject}, request)
  } else if (request.csr) {
    const objects = await readPkiFile(request.csr)
    const found = objects.find((o) => o.kind === 'csr')
    if (!found || found.kind !== 'csr') throw new AirlockError('CSR_INVALID', `${request.csr} holds no certificate request`, {subject: request.csr, hint: 'give a PEM or DER CSR, e.g. from `airlock certs csr`'})
    issued = issueFromCsr(issuer, found.csr, request.csr, request)
  } else {
    const made = await issueForDomain(issuer, {domain: request.domain ?? '', sans: request.sans, keyType: request.keyType, subject: request.subject, days: request.days, now: request.now, allowLongValidity: request.allowLongValidity})
    issued = made
    key = made.key
  }
  await refuseWhatClientsRefuse(issued, issuer, signer ? 'codeSigning' : 'serverAuth')
  const base = join(request.outDir, fileBaseFor(issued.domain))
  const paths = {cert: `${base}.crt`, fullchain: `${base}.fullchain.pem`, key: `${base}.key`}
  await refuseExisting(key ? [paths.cert, paths.fullchain, paths.key] : [paths.cert, paths.fullchain], request.force)
  await mkdir(request.outDir, {recursive: true})
  if (key) await writeSecretFile(paths.key, privateKeyPem(key, request.passphrase), {force: request.force})
  await writeFileAtomic(paths.cert, issued.certPem, {force: request.force})
  await writeFileAtomic(paths.fullchain, issued.fullchainPem, {force: request.force})
  return {
    domain: issued.domain,
    subject: formatName(issued.cert.subject),
    issuer: formatName(issued.cert.issuer),
    sans: issued.sans,
    serial: issued.cert.serial,
    notBefore: issued.cert.notBefore.toISOString(),
    notAfter: issued.cert.notAfter.toISOString(),
    cert: paths.cert,
    fullchain: paths.fullchain,
    ...(key ? {key: paths.key, keyEncrypted: Boolean(request.passphrase)} : {}),
    clampedToCa: issued.clampedToCa,
    publicKeyFingerprint: publicKeyFingerprint(issued.cert.publicKey),
  }
}
