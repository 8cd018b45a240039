import * as pkijs from 'pkijs'

import {formatName} from './name.js'
import {describeKey} from './keys.js'
import {BROKEN_HASHES} from './oids.js'
import {EXTENSION_NAMES, type ParsedCertificate} from './parse.js'

/*
 * The one X.509 path validator: signer trust (`bundle verify --trust ca.crt`) and the certificate
 * review (`certs inspect --ca`, the bundle's tls/REVIEW.md) both ask it. RFC 5280 path building and
 * processing (issuer names, validity, CA basic constraints and keyCertSign, name constraints,
 * certificate policies) is pkijs's CertificateChainValidationEngine; signatures are checked by
 * Node's crypto (OpenSSL), which knows every algorithm a site's CA uses (RSA-PSS, ECDSA P-384/P-521,
 * Ed25519), where pkijs's WebCrypto does not. On top come the rules pkijs leaves out and that
 * `openssl verify -x509_strict -auth_level 2 -purpose ...` applies: pathLenConstraint, the strict
 * profile (critical basicConstraints and keyUsage on CAs, key identifiers), algorithm strength, and
 * the purpose of the leaf.
 */

/** What the leaf is for: signing bundles (keyUsage digitalSignature + EKU codeSigning) or serving TLS. */
export type Purpose = 'codeSigning' | 'serverAuth'

export interface PathProblem {
  /** the rule broken, stable for --json and tests */
  rule: 'no-path' | 'validity' | 'not-a-ca' | 'key-usage' | 'path-length' | 'name-constraints' | 'policy' | 'signature-algorithm' | 'key-strength' | 'purpose' | 'strict' | 'critical-extension'
  /** the certificate at fault, by subject */
  certificate: string
  message: string
}

export type PathResult =
  | {ok: true; chain: ParsedCertificate[]; anchor: ParsedCertificate}
  | {ok: false; chain?: ParsedCertificate[]; problems: PathProblem[]}

export interface PathInput {
  leaf: ParsedCertificate
  /** untrusted certificates that may complete the path, in any order */
  intermediates: ParsedCertificate[]
  anchors: ParsedCertificate[]
  purpose: Purpose
  now?: Date
}

export async function validatePath(input: PathInput): Promise<PathResult> {
  const now = input.now ?? new Date()
  const {leaf} = input
  // A self-signed certificate trusted as itself (pinned) has a path of one.
  if (isSelfSigned(leaf) && input.anchors.some((a) => a.der.equals(leaf.der))) {
    const problems = [...validityProblems([leaf], now), ...certificateProblems([leaf], input.purpose)]
    return problems.length === 0 ? {ok: true, chain: [leaf], anchor: leaf} : {ok: false, chain: [leaf], problems}
  }
  // openssl, Node and Python (no partial chains) need the path to end at a self-signed anchor: an
  // intermediate given as the anchor only helps to reach its root, which must be given too
  const roots = input.anchors.filter(isSelfSigned)
  const trustedIntermediates = input.anchors.filter((a) => !isSelfSigned(a))
  const known = [leaf, ...roots]
  const intermediates = [...input.intermediates, ...trustedIntermediates].filter((c, i, all) => !known.some((k) => k.der.equals(c.der)) && all.findIndex((o) => o.der.equals(c.der)) === i)
  const {complete, longest} = candidatePaths(leaf, intermediates, roots)
  if (complete.length === 0) return {ok: false, ...(longest.length > 1 ? {chain: longest} : {}), problems: [noPath(leaf, longest, trustedIntermediates)]}
  // RFC 5280 6.1: the certificate is valid when one path to an anchor is; the first refused explains
  let first: PathResult | undefined
  for (const path of complete) {
    const checked = await processPath(path, now, input.purpose)
    if (checked.ok) return checked
    first ??= checked
  }
  return first ?? {ok: false, problems: [noPath(leaf, longest, trustedIntermediates)]}
}

function isSelfSigned(cert: ParsedCertificate): boolean {
  return signs(cert, cert)
}

const signatureCache = new WeakMap<ParsedCertificate, WeakMap<ParsedCertificate, boolean>>()

/** Has `parent` signed `child`? Names first, then the signature over the bytes as received. */
export function signs(parent: ParsedCertificate, child: ParsedCertificate): boolean {
  if (!parent.subjectDer.equals(child.issuerDer)) return false
  let byChild = signatureCache.get(parent)
  if (!byChild) signatureCache.set(parent, (byChild = new WeakMap()))
  const cached = byChild.get(child)
  if (cached !== undefined) return cached
  let verified: boolean
  try {
    verified = child.x509.verify(parent.publicKey)
  } catch {
    verified = false
  }
  byChild.set(child, verified)
  return verified
}

/** Longer than any real PKI's paths; with the step budget, also what ends a web of cross-signatures. */
const MAX_PATH_LENGTH = 10
const MAX_PATHS = 16
const MAX_STEPS = 1000

/**
 * The one chain builder: every path from the leaf, through the untrusted certificates (given in any
 * order, extra ones and cycles of cross-signed CAs included), to an anchor, trusted issuers tried
 * first at each step as openssl does. A certificate (by subject and key) appears once in a path, so
 * a cycle ends; a dead end (an issuer nobody given signed) drops that branch, never the others.
 */
function candidatePaths(leaf: ParsedCertificate, intermediates: ParsedCertificate[], anchors: ParsedCertificate[]): {complete: ParsedCertificate[][]; longest: ParsedCertificate[]} {
  const complete: ParsedCertificate[][] = []
  let longest = [leaf]
  let steps = 0
  const identity = (c: ParsedCertificate): string => `${c.subjectDer.toString('hex')}/${c.spki.toString('hex')}`
  const extend = (path: ParsedCertificate[], seen: Set<string>): void => {
    if (++steps > MAX_STEPS || complete.length >= MAX_PATHS) return
    if (path.length > longest.length) longest = path
    if (path.length >= MAX_PATH_LENGTH) return
    const child = path.at(-1) as ParsedCertificate
    for (const anchor of anchors) {
      if (!seen.has(identity(anchor)) && signs(anchor, child)) complete.push([...path, anchor])
    }
    for (const next of intermediates) {
      const id = identity(next)
      if (seen.has(id) || !signs(next, child)) continue
      extend([...path, next], new Set([...seen, id]))
    }
  }
  extend([leaf], new Set([identity(leaf)]))
  return {complete, longest}
}

function noPath(leaf: ParsedCertificate, longest: ParsedCertificate[], trustedIntermediates: ParsedCertificate[]): PathProblem {
  const last = longest.at(-1) ?? leaf
  const partial = longest.find((c) => trustedIntermediates.some((t) => t.der.equals(c.der)))
  if (partial) {
    return {rule: 'no-path', certificate: subjectOf(partial), message: `"${subjectOf(leaf)}" chains to "${subjectOf(partial)}", which is trusted but is an intermediate CA, not a root: openssl, Node and Python accept a path only up to a self-signed root (curl alone stops at the intermediate); give the root it chains to as the trust anchor`}
  }
  const top = last.subjectDer.equals(last.issuerDer)
    ? `it leads to "${subjectOf(last)}", which is not a trusted anchor`
    : `no certificate given signed "${subjectOf(last)}" (issuer "${formatName(last.issuer)}")`
  return {rule: 'no-path', certificate: subjectOf(last), message: `"${subjectOf(leaf)}" does not chain to a trusted anchor: ${top}`}
}

/**
 * RFC 5280 processing of one path (leaf first, anchor last) by pkijs, told exactly this path so that
 * its own path building has nothing to choose; then the rules pkijs leaves out.
 */
async function processPath(path: ParsedCertificate[], now: Date, purpose: Purpose): Promise<PathResult> {
  const wrapped = path.map((c) => pkijs.Certificate.fromBER(new Uint8Array(c.der)))
  const anchor = path.at(-1) as ParsedCertificate
  let result: pkijs.CertificateChainValidationEngineVerifyResult
  try {
    const engine = new pkijs.CertificateChainValidationEngine({
      trustedCerts: [wrapped.at(-1) as pkijs.Certificate],
      // pkijs takes the last certificate as the one to validate
      certs: [...wrapped.slice(1, -1), wrapped[0] as pkijs.Certificate],
      checkDate: now,
      findIssuer: async (certificate) => {
        const at = wrapped.indexOf(certificate)
        const next = at >= 0 ? wrapped[at + 1] : undefined
        return next ? [next] : []
      },
    })
    result = await engine.verify({})
  } catch (error) {
    return {ok: false, chain: path, problems: [{rule: 'no-path', certificate: subjectOf(path[0] as ParsedCertificate), message: `a certificate cannot be read for path validation: ${(error as Error).message}`}]}
  }
  if (!result.result) return {ok: false, chain: path, problems: explainFailure(result.resultCode, result.resultMessage, path, now)}
  const problems = certificateProblems(path, purpose)
  return problems.length === 0 ? {ok: true, chain: path, anchor} : {ok: false, chain: path, problems}
}

/** pkijs says what failed by number; the user needs the certificate and the rule. */
function explainFailure(code: number, message: string, path: ParsedCertificate[], now: Date): PathProblem[] {
  const leaf = path[0] as ParsedCertificate
  const last = path.at(-1) ?? leaf
  switch (code) {
    case 8:
      return validityProblems(path, now)
    case 3:
    case 4:
    case 14: {
      const bad = path.slice(1).find((c) => !c.extensions.basicConstraints?.ca || (c.extensions.keyUsage !== undefined && !c.extensions.keyUsage.usages.includes('keyCertSign')))
      const at = bad ?? last
      const reason = !at.extensions.basicConstraints?.ca ? 'is not a CA (basicConstraints cA is not TRUE)' : 'may not sign certificates (its keyUsage lacks keyCertSign)'
      return [{rule: bad?.extensions.basicConstraints?.ca ? 'key-usage' : 'not-a-ca', certificate: subjectOf(at), message: `"${subjectOf(at)}" issued a certificate in the chain but ${reason}`}]
    }
    case 6: {
      const at = path.find((c) => c.extensions.unknownCritical.length > 0) ?? last
      return [{rule: 'critical-extension', certificate: subjectOf(at), message: `"${subjectOf(at)}": a critical extension cannot be parsed: ${message}`}]
    }
    case 41:
    case 42:
      return [{rule: 'name-constraints', certificate: subjectOf(leaf), message: `a name in "${subjectOf(leaf)}" is outside what a CA's nameConstraints permit (${message})`}]
    default:
      return [{rule: code >= 98 || /polic/i.test(message) ? 'policy' : 'no-path', certificate: subjectOf(leaf), message: `path validation of ${path.map((c) => `"${subjectOf(c)}"`).join(' -> ')} failed: ${message}`}]
  }
}

function validityProblems(certs: ParsedCertificate[], now: Date): PathProblem[] {
  return certs.flatMap((c) => {
    const range = `${c.notBefore.toISOString()} to ${c.notAfter.toISOString()}`
    if (c.notAfter < c.notBefore) return [{rule: 'validity' as const, certificate: subjectOf(c), message: `"${subjectOf(c)}" ends before it starts (${range}): never valid`}]
    if (now < c.notBefore || now > c.notAfter) return [{rule: 'validity' as const, certificate: subjectOf(c), message: `"${subjectOf(c)}" is not valid now (valid ${range})`}]
    return []
  })
}

/** The rules of the strict profile and of the purpose, over a path pkijs accepted: leaf first, anchor last. */
function certificateProblems(chain: ParsedCertificate[], purpose: Purpose): PathProblem[] {
  const problems: PathProblem[] = []
  const add = (rule: PathProblem['rule'], cert: ParsedCertificate, message: string): void => {
    problems.push({rule, certificate: subjectOf(cert), message: `"${subjectOf(cert)}" ${message}`})
  }
  const strict = chain.length > 1
  for (const [i, cert] of chain.entries()) {
    const ext = cert.extensions
    const isAnchor = i === chain.length - 1 && i > 0
    const selfSigned = cert.subjectDer.equals(cert.issuerDer)
    for (const id of ext.unknownCritical) add('critical-extension', cert, `has a critical extension ${criticalName(id)} that openssl, Node and Python do not process, so they refuse the certificate`)
    // A trust anchor's own signature is not what makes it trusted.
    if (!(isAnchor && selfSigned)) {
      const alg = cert.signatureAlgorithm
      if (alg.hash && BROKEN_HASHES.has(alg.hash)) add('signature-algorithm', cert, `is signed with ${alg.name}: ${alg.hash.toUpperCase()} collisions are practical`)
      else if (!alg.hash && !alg.name.startsWith('ED')) add('signature-algorithm', cert, `is signed with ${alg.name}, which airlock does not accept`)
    }
    const key = describeKey(cert.publicKey)
    if ((key.algorithm === 'RSA' || key.algorithm === 'RSA-PSS') && (key.bits ?? 0) < 2048) add('key-strength', cert, `has a ${key.label} key: RSA under 2048 bits is refused`)
    if (key.algorithm === 'DSA') add('key-strength', cert, `has a ${key.label} key: DSA is refused`)
    if (key.algorithm === 'EC' && !['P-256', 'P-384', 'P-521'].includes(key.curve ?? '')) add('key-strength', cert, `has a key on curve ${key.curve ?? '?'}: only the named curves P-256, P-384 and P-521 are accepted`)
    const bc = ext.basicConstraints
    if (i > 0) {
      // pkijs checked cA and keyCertSign; the count of CAs below this one is what pathLen limits
      const below = i - 1
      if (bc?.pathLen !== undefined && below > bc.pathLen) add('path-length', cert, `allows ${bc.pathLen} intermediate CA${bc.pathLen === 1 ? '' : 's'} below it (pathlen:${bc.pathLen}), but the chain has ${below}`)
      if (strict && bc && !bc.critical) add('strict', cert, 'is a CA whose basicConstraints is not critical (RFC 5280 4.2.1.9)')
      if (strict && !ext.keyUsage) add('strict', cert, 'is a CA without a keyUsage extension (RFC 5280 4.2.1.3)')
      if (strict && !ext.subjectKeyId) add('strict', cert, 'is a CA without a subjectKeyIdentifier (RFC 5280 4.2.1.2)')
    } else {
      if (bc?.pathLen !== undefined && !bc.ca) add('strict', cert, 'has a pathLenConstraint but is not a CA')
      if (ext.keyUsage?.usages.includes('keyCertSign') && !bc?.ca) add('key-usage', cert, 'has keyUsage keyCertSign but is not a CA')
    }
    if (strict && !selfSigned && !ext.present.some((e) => e.id === '2.5.29.35')) add('strict', cert, 'has no authorityKeyIdentifier (RFC 5280 4.2.1.1)')
    if (strict) {
      // RFC 5280 4.1.2.4, 4.1.2.6, 4.2.1.6 as openssl -x509_strict checks them
      const emptySubject = cert.subject.length === 0
      if (cert.issuer.length === 0) add('strict', cert, 'has an empty issuer name (RFC 5280 4.1.2.4)')
      if (emptySubject && (bc?.ca || !ext.san)) add('strict', cert, 'has an empty subject name, and is a CA or has no subjectAltName (RFC 5280 4.1.2.6)')
      if (emptySubject && ext.san && !ext.san.critical) add('strict', cert, 'has an empty subject and a subjectAltName that is not critical (RFC 5280 4.2.1.6)')
      if (ext.san && ext.san.dns.length + ext.san.ip.length + ext.san.other.length === 0) add('strict', cert, 'has an empty subjectAltName (RFC 5280 4.2.1.6)')
    }
    if (purpose === 'serverAuth' && ext.extKeyUsage && !ext.extKeyUsage.usages.includes('serverAuth')) {
      add('purpose', cert, `has extendedKeyUsage ${ext.extKeyUsage.usages.join(', ')}, without serverAuth: TLS clients refuse it`)
    }
    // a CA restricted by EKU to other uses (TLS only, say) may not vouch for a bundle signer; anyExtendedKeyUsage lifts the restriction
    if (purpose === 'codeSigning' && i > 0 && ext.extKeyUsage && !ext.extKeyUsage.usages.some((u) => u === 'codeSigning' || u === 'anyExtendedKeyUsage')) {
      add('purpose', cert, `is a CA restricted by extendedKeyUsage to ${ext.extKeyUsage.usages.join(', ')}: it may not issue a certificate that signs bundles`)
    }
  }
  problems.push(...commonNameConstraintProblems(chain))
  const leaf = chain[0]
  if (leaf) problems.push(...purposeProblems(leaf, purpose))
  return problems
}

/**
 * The leaf's DNS names against every CA's dNSName constraints, the anchor's included: pkijs, as RFC
 * 5280 reads it, leaves the trust anchor's own constraints out, while openssl (and so Node and Python)
 * applies a root's nameConstraints like any other CA's. When the leaf has no DNS SAN, openssl checks
 * its CN instead (the host name some clients still fall back to); pkijs checks only the SANs.
 */
function commonNameConstraintProblems(chain: ParsedCertificate[]): PathProblem[] {
  const leaf = chain[0]
  if (!leaf || chain.length < 2) return []
  const sanDns = leaf.extensions.san?.dns ?? []
  const hosts = sanDns.length > 0
    ? sanDns.map((d) => d.toLowerCase())
    : leaf.subject.filter((a) => a.type === 'CN').map((a) => a.value.toLowerCase().replace(/\.$/, '')).filter((cn) => HOST_NAME.test(cn))
  const problems: PathProblem[] = []
  for (const ca of chain.slice(1)) {
    const nc = ca.extensions.nameConstraints
    if (!nc) continue
    for (const host of hosts) {
      const excluded = nc.excludedDns.find((base) => dnsWithin(host, base))
      const outside = nc.permittedDns.length > 0 && !nc.permittedDns.some((base) => dnsWithin(host, base))
      if (excluded !== undefined || outside) {
        problems.push({rule: 'name-constraints', certificate: subjectOf(leaf), message: `"${subjectOf(leaf)}" ${sanDns.length > 0 ? `names ${host}, which` : `has no DNS SAN, and its CN ${host}`} is ${excluded === undefined ? `outside the names "${subjectOf(ca)}" permits (${nc.permittedDns.join(', ')})` : `excluded by "${subjectOf(ca)}" (${excluded})`}: openssl refuses it`})
      }
    }
  }
  return problems
}

/** A CN openssl takes for a host name: LDH labels with at least one dot. */
const HOST_NAME = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/

/** RFC 5280 4.2.1.10 as openssl applies it: `example.com` covers itself and names under it; `.example.com` only names under it. */
function dnsWithin(host: string, base: string): boolean {
  if (base === '') return true
  if (host.length < base.length || !host.endsWith(base)) return false
  return host.length === base.length || base.startsWith('.') || host[host.length - base.length - 1] === '.'
}

function purposeProblems(leaf: ParsedCertificate, purpose: Purpose): PathProblem[] {
  const ku = leaf.extensions.keyUsage
  const eku = leaf.extensions.extKeyUsage
  const at = subjectOf(leaf)
  if (purpose === 'codeSigning') {
    const out: PathProblem[] = []
    if (!ku?.usages.includes('digitalSignature')) out.push({rule: 'purpose', certificate: at, message: `"${at}" is not a signer certificate: its keyUsage ${ku ? `is ${ku.usages.join(', ')}` : 'is missing'}, and must include digitalSignature`})
    if (!eku?.usages.includes('codeSigning')) out.push({rule: 'purpose', certificate: at, message: `"${at}" is not a signer certificate: its extendedKeyUsage ${eku ? `is ${eku.usages.join(', ')}` : 'is missing'}, and must include codeSigning`})
    return out
  }
  if (ku && !['digitalSignature', 'keyEncipherment', 'keyAgreement'].some((u) => ku.usages.includes(u))) {
    return [{rule: 'purpose', certificate: at, message: `"${at}" has keyUsage ${ku.usages.join(', ')}: a TLS server key needs digitalSignature (or keyEncipherment for RSA)`}]
  }
  return []
}

export function criticalName(id: string): string {
  const name = EXTENSION_NAMES[id]
  return name ? `${name} (${id}, never critical in RFC 5280)` : id
}

function subjectOf(cert: ParsedCertificate): string {
  return formatName(cert.subject) || `serial ${cert.serial}`
}
