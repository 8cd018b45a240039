import {AirlockError} from '../ui/errors.js'
import {
  checkCaConstraints, checkCsrSignature, checkDomain, checkKeyEncrypted, checkKeyMode, checkKeyStrength, checkLeafKeyUsage, checkLifetime,
  checkSanPresent, checkSerial, checkServerAuth, checkSignatureHash, checkValidity,
} from './checks.js'
import {describeObject, isCaCert} from './describe.js'
import type {Finding, InspectReport, Severity} from './findings.js'
import {describeKey, publicKeyFingerprint} from './keys.js'
import {commonNameOf, formatName} from './name.js'
import type {ParsedCertificate} from './parse.js'
import {criticalName, signs, validatePath} from './path-validation.js'
import {readPkiFile, type PkiObject} from './read.js'

/*
 * A review a security team can act on. It answers, for the server certificate: does this leaf, with
 * this key, for this host, chain in this order to this anchor, and would openssl, Node and Python
 * accept it. Every object read and every check made is listed (passes included), each with a
 * severity; the chain is judged by the same path validator as signer trust.
 */

export interface InspectOptions {
  /** the host name the certificate or CSR must cover */
  domain?: string
  /** trust anchors the certificates must chain to */
  anchors?: ParsedCertificate[]
  anchorSource?: string
  now?: Date
}

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

interface SourcedCert {
  source: string
  cert: ParsedCertificate
}

/**
 * The server certificate is the first one given (a chain file starts with it), unless everything
 * given is a CA that names no host: then the files are a CA bundle and reviewed as CAs.
 */
function pickLeaf(certs: SourcedCert[], domain: string | undefined): SourcedCert | undefined {
  const namesHost = (c: ParsedCertificate): boolean => !isCaCert(c) || (c.extensions.san !== undefined && c.extensions.san.dns.length + c.extensions.san.ip.length > 0)
  const first = certs.find((c) => namesHost(c.cert))
  if (first) return first
  if (domain) return certs.find((c) => !c.cert.subjectDer.equals(c.cert.issuerDer))
  return undefined
}

/**
 * The leaf, a copy of it, and a certificate for a host given in a file of its own are reviewed as
 * server certificates; what follows the leaf in its chain file, and CA certificates, as issuers.
 */
function reviewedAsServer(object: SourcedCert, leaf: SourcedCert | undefined): boolean {
  if (!leaf) return false
  if (object.cert.der.equals(leaf.cert.der)) return true
  const fileOf = (c: SourcedCert): string => c.source.replace(/#\d+$/, '')
  return !isCaCert(object.cert) && fileOf(object) !== fileOf(leaf)
}

export async function inspectObjects(objects: PkiObject[], options: InspectOptions = {}): Promise<InspectReport> {
  const now = options.now ?? new Date()
  const findings: Finding[] = []
  const add = (f: Finding): void => {
    findings.push(f)
  }
  const certs = objects.flatMap((o) => (o.kind === 'certificate' ? [{source: o.source, cert: o.cert}] : []))
  const leaf = pickLeaf(certs, options.domain)
  for (const object of objects) {
    switch (object.kind) {
      case 'certificate': {
        const {cert, source} = object
        add(checkKeyStrength(describeKey(cert.publicKey), source))
        add(checkSignatureHash(cert.signatureAlgorithm, source))
        add(checkValidity(cert, source, now))
        if (!cert.subjectDer.equals(cert.issuerDer)) add(checkSerial(cert, source))
        for (const id of cert.extensions.unknownCritical) add({check: 'critical-extension', severity: 'fail', subject: source, message: `critical extension ${criticalName(id)}: openssl, Node and Python do not process it, so they refuse the certificate`, hint: 'have it issued again without marking that extension critical'})
        if (cert.extensions.nameConstraints) add({check: 'name-constraints', severity: 'info', subject: source, message: `nameConstraints${cert.extensions.nameConstraints.critical ? ' (critical)' : ''}: evaluated in the chain check`})
        if (reviewedAsServer(object, leaf)) {
          add(checkLifetime(cert, source))
          add(checkSanPresent(cert.extensions.san, source, 'fail'))
          if (options.domain) add(checkDomain(options.domain, cert.extensions.san, undefined, source))
          add(checkServerAuth(cert, source))
          add(checkLeafKeyUsage(cert, source))
          if (isCaCert(cert)) add({check: 'ca-leaf', severity: 'warn', subject: source, message: 'the server certificate is a CA (cA TRUE): Firefox refuses a CA certificate used as a server certificate', hint: 'issue the server certificate with basicConstraints CA:FALSE'})
        } else {
          add(checkCaConstraints(cert, source))
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
          const match = checkKeyMatch(object.key, object.source, leaf, objects)
          if (match) add(match)
        }
        break
      }
      case 'public-key':
        add(checkKeyStrength(describeKey(object.key), object.source))
        break
    }
  }
  const anchors = options.anchors ?? []
  for (const [i, anchor] of anchors.entries()) {
    const at = `${options.anchorSource ?? 'CA'}${anchors.length > 1 ? `#${i + 1}` : ''}`
    // a self-signed server certificate given as its own anchor is pinned, not a CA that issues (openssl, Node and Python accept it so)
    if (leaf && anchor.der.equals(leaf.cert.der)) add({check: 'ca', severity: 'ok', subject: at, message: 'the server certificate itself, trusted as pinned: not judged as an issuing CA'})
    // of a CA bundle (the system's, say) only the roots that issued something given are judged
    else if (!leaf || certs.some((c) => signs(anchor, c.cert))) add(checkCaConstraints(anchor, at))
  }
  if (leaf) {
    findings.push(checkOrder(certs, leaf))
    findings.push(...(await checkChain(leaf, certs, options, now)))
  }
  const counts: Record<Severity, number> = {ok: 0, info: 0, warn: 0, fail: 0}
  for (const f of findings) counts[f.severity]++
  return {verdict: counts.fail > 0 ? 'fail' : counts.warn > 0 ? 'warn' : 'pass', ...(leaf ? {leaf: leaf.source} : {}), objects: objects.map(describeObject), findings, counts}
}

/**
 * A server sends its chain file as it is: the leaf first, then the certificate that signed it, and so
 * on. Node refuses a key that does not match the first certificate, and clients do not reorder. Each
 * file holding several certificates is checked; separate files may be named in any order.
 */
function checkOrder(certs: SourcedCert[], leaf: SourcedCert): Finding {
  const check = 'chain-order'
  const fileOf = (c: SourcedCert): string => c.source.replace(/#\d+$/, '')
  const files = [...new Set(certs.map(fileOf))]
  for (const file of files) {
    const inFile = certs.filter((c) => fileOf(c) === file)
    if (inFile.includes(leaf) && inFile[0] !== leaf) {
      return {check, severity: 'fail', subject: file, message: `${file} starts with ${formatName(inFile[0]?.cert.subject ?? [])}, not with the server certificate ${formatName(leaf.cert.subject)}: Node refuses to serve it and clients do not reorder`, hint: 'put the server certificate first, then the intermediate that signed it, then its issuer'}
    }
    for (let i = 1; i < inFile.length; i++) {
      const child = inFile[i - 1]
      const parent = inFile[i]
      if (child && parent && !signs(parent.cert, child.cert)) {
        return {check, severity: 'fail', subject: parent.source, message: `${formatName(parent.cert.subject)} follows ${formatName(child.cert.subject)} in ${file} but did not sign it`, hint: 'order the file leaf first, then each issuer; drop certificates that belong to another chain'}
      }
    }
  }
  const leafFile = certs.filter((c) => fileOf(c) === fileOf(leaf))
  return {check, severity: 'ok', subject: fileOf(leaf), message: leafFile.length === 1 ? 'the server certificate alone' : `the server certificate first, then ${leafFile.length - 1} issuer${leafFile.length === 2 ? '' : 's'}, each signed by the next`}
}

async function checkChain(leaf: SourcedCert, certs: SourcedCert[], options: InspectOptions, now: Date): Promise<Finding[]> {
  const check = 'chain'
  const subject = leaf.source
  const others = certs.filter((c) => c !== leaf).map((c) => c.cert)
  const selfSigned = signs(leaf.cert, leaf.cert)
  if (!options.anchors) {
    if (selfSigned) return [{check, severity: 'warn', subject, message: 'self-signed: trusted only by clients that pin this very certificate', hint: 'issue it from a CA (airlock certs issue) and install the CA certificate on the clients'}]
    return [{check, severity: 'info', subject, message: `issued by ${formatName(leaf.cert.issuer)}; pass --ca to check the chain as openssl, Node and Python would`}]
  }
  const anchorSource = options.anchorSource ?? 'the CA'
  // a bundle signer certificate (EKU codeSigning, no serverAuth) is judged for signing, as bundle verify --trust judges it
  const eku = leaf.cert.extensions.extKeyUsage?.usages ?? []
  const purpose = eku.includes('codeSigning') && !eku.includes('serverAuth') ? 'codeSigning' : 'serverAuth'
  const result = await validatePath({leaf: leaf.cert, intermediates: others, anchors: options.anchors, purpose, now})
  if (!result.ok) {
    return result.problems.map((p) => ({check, severity: 'fail' as const, subject, message: `does not chain to ${anchorSource} as openssl -x509_strict, Node and Python require: ${p.message}`, hint: p.rule === 'no-path' ? 'give the intermediate certificates too (the server sends them after its certificate), and the root CA as --ca' : 'have the certificate (or the CA) issued again'}))
  }
  const names = result.chain.map((c) => formatName(c.subject)).join(' -> ')
  return [{check, severity: 'ok', subject, message: `chains to ${formatName(result.anchor.subject)} (${anchorSource}): ${names}`}]
}

/** The key must be the server certificate's; with no certificate given, a request's. */
function checkKeyMatch(key: Parameters<typeof publicKeyFingerprint>[0], subject: string, leaf: SourcedCert | undefined, objects: PkiObject[]): Finding | undefined {
  const fingerprint = publicKeyFingerprint(key)
  const check = 'key-match'
  if (leaf) {
    if (publicKeyFingerprint(leaf.cert.publicKey) === fingerprint) return {check, severity: 'ok', subject, message: `is the key of the server certificate ${leaf.source}`}
    const other = objects.find((o) => (o.kind === 'certificate' && publicKeyFingerprint(o.cert.publicKey) === fingerprint) || (o.kind === 'csr' && publicKeyFingerprint(o.csr.publicKey) === fingerprint))
    return {check, severity: 'fail', subject, message: `is not the key of the server certificate ${leaf.source}${other ? ` (it belongs to ${other.source})` : ''}`, hint: 'the certificate was issued for another key: find the key made with its CSR, or issue again'}
  }
  const csrs = objects.flatMap((o) => (o.kind === 'csr' ? [o] : []))
  if (csrs.length === 0) return undefined
  const matched = csrs.filter((c) => publicKeyFingerprint(c.csr.publicKey) === fingerprint)
  if (matched.length > 0) return {check, severity: 'ok', subject, message: `is the key of ${matched.map((m) => m.source).join(', ')}`}
  return {check, severity: 'fail', subject, message: `matches none of ${csrs.map((c) => c.source).join(', ')}`, hint: 'give the key the CSR was made with'}
}
