import * as pkijs from 'pkijs'

import {formatName} from './name.js'
import {describeKey} from './keys.js'
import {BROKEN_HASHES} from './oids.js'
import type {ParsedCertificate} from './parse.js'

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

/** Deeper than any real PKI; also stops a loop of cross-signed certificates. */
const MAX_ISSUER_LOOKUPS = 64

export async function validatePath(input: PathInput): Promise<PathResult> {
  const now = input.now ?? new Date()
  const {leaf} = input
  // A certificate trusted as itself (a pinned self-signed signer) has a path of one.
  if (input.anchors.some((a) => a.der.equals(leaf.der))) {
    const problems = [...validityProblems([leaf], now), ...certificateProblems([leaf], input.purpose)]
    return problems.length === 0 ? {ok: true, chain: [leaf], anchor: leaf} : {ok: false, chain: [leaf], problems}
  }
  const built = await buildWithPkijs(input, now)
  if (!built.ok) return built
  const problems = certificateProblems(built.chain, input.purpose)
  return problems.length === 0 ? built : {ok: false, chain: built.chain, problems}
}

/** Has `parent` signed `child`? Names first, then the signature over the bytes as received. */
export function signs(parent: ParsedCertificate, child: ParsedCertificate): boolean {
  if (!parent.subjectDer.equals(child.issuerDer)) return false
  try {
    return child.x509.verify(parent.publicKey)
  } catch {
    return false
  }
}

async function buildWithPkijs(input: PathInput, now: Date): Promise<PathResult> {
  const parsed = new Map<pkijs.Certificate, ParsedCertificate>()
  const wrap = (cert: ParsedCertificate): pkijs.Certificate => {
    const pk = pkijs.Certificate.fromBER(new Uint8Array(cert.der))
    parsed.set(pk, cert)
    return pk
  }
  const known = [input.leaf, ...input.anchors]
  const intermediates = input.intermediates.filter((c, i, all) => !known.some((k) => k.der.equals(c.der)) && all.findIndex((o) => o.der.equals(c.der)) === i)
  let lookups = 0
  let engine: pkijs.CertificateChainValidationEngine
  try {
    engine = new pkijs.CertificateChainValidationEngine({
      trustedCerts: input.anchors.map(wrap),
      // pkijs takes the last certificate as the one to validate
      certs: [...intermediates.map(wrap), wrap(input.leaf)],
      checkDate: now,
      findIssuer: async (certificate, validationEngine) => {
        const child = parsed.get(certificate)
        if (!child || ++lookups > MAX_ISSUER_LOOKUPS) return []
        return [...validationEngine.trustedCerts, ...validationEngine.certs].filter((candidate) => {
          const parent = parsed.get(candidate)
          return parent !== undefined && signs(parent, child)
        })
      },
    })
  } catch (error) {
    return {ok: false, problems: [{rule: 'no-path', certificate: subjectOf(input.leaf), message: `a certificate cannot be read for path validation: ${(error as Error).message}`}]}
  }
  const result = await engine.verify({})
  const path = (result.certificatePath ?? []).map((c) => parsed.get(c)).filter((c): c is ParsedCertificate => c !== undefined)
  if (result.result && path.length > 0) {
    const chain = path.filter((c, i) => i === 0 || !c.der.equals(path[i - 1]?.der ?? Buffer.alloc(0)))
    const anchor = chain.at(-1) ?? input.leaf
    return {ok: true, chain, anchor}
  }
  return {ok: false, ...(path.length > 0 ? {chain: path} : {}), problems: explainFailure(result.resultCode, result.resultMessage, input, intermediates, now)}
}

/** pkijs says what failed by number; the user needs the certificate and the rule. */
function explainFailure(code: number, message: string, input: PathInput, intermediates: ParsedCertificate[], now: Date): PathProblem[] {
  const walked = walkIssuers(input.leaf, [...intermediates, ...input.anchors])
  const last = walked.at(-1) ?? input.leaf
  switch (code) {
    case 8: {
      const stale = validityProblems(walked, now)
      return stale.length > 0 ? stale : validityProblems([input.leaf, ...intermediates, ...input.anchors], now)
    }
    case 3:
    case 4:
    case 14: {
      const bad = walked.slice(1).find((c) => !c.extensions.basicConstraints?.ca || (c.extensions.keyUsage !== undefined && !c.extensions.keyUsage.usages.includes('keyCertSign')))
      const at = bad ?? last
      const reason = !at.extensions.basicConstraints?.ca ? 'is not a CA (basicConstraints cA is not TRUE)' : 'may not sign certificates (its keyUsage lacks keyCertSign)'
      return [{rule: bad?.extensions.basicConstraints?.ca ? 'key-usage' : 'not-a-ca', certificate: subjectOf(at), message: `"${subjectOf(at)}" issued a certificate in the chain but ${reason}`}]
    }
    case 6:
      return [{rule: 'critical-extension', certificate: subjectOf(last), message: `a critical extension cannot be parsed: ${message}`}]
    case 41:
    case 42:
      return [{rule: 'name-constraints', certificate: subjectOf(input.leaf), message: `a name in the chain is outside what a CA's nameConstraints permit (${message})`}]
    case 9:
    case 10:
    case 60:
    case 97: {
      const top = last.subjectDer.equals(last.issuerDer)
        ? `it leads to "${subjectOf(last)}", which is not a trusted anchor`
        : `no certificate given signed "${subjectOf(last)}" (issuer "${formatName(last.issuer)}")`
      return [{rule: 'no-path', certificate: subjectOf(last), message: `"${subjectOf(input.leaf)}" does not chain to a trusted anchor: ${top}`}]
    }
    default:
      return [{rule: code >= 98 || /polic/i.test(message) ? 'policy' : 'no-path', certificate: subjectOf(input.leaf), message: `path validation failed: ${message}`}]
  }
}

/**
 * The issuers of `leaf` by name and signature as far as they go: used only to name the certificate
 * at fault when the validator refused the path, never to accept one.
 */
function walkIssuers(leaf: ParsedCertificate, pool: ParsedCertificate[]): ParsedCertificate[] {
  const chain = [leaf]
  let current = leaf
  while (chain.length < 10 && !current.subjectDer.equals(current.issuerDer)) {
    const next = pool.find((p) => !chain.includes(p) && signs(p, current))
    if (!next) break
    chain.push(next)
    current = next
  }
  return chain
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
    for (const id of ext.unknownCritical) add('critical-extension', cert, `has a critical extension ${id} that no client here understands`)
    // A trust anchor's own signature is not what makes it trusted.
    if (!(isAnchor && selfSigned)) {
      const alg = cert.signatureAlgorithm
      if (alg.hash && BROKEN_HASHES.has(alg.hash)) add('signature-algorithm', cert, `is signed with ${alg.name}: ${alg.hash.toUpperCase()} collisions are practical`)
      else if (!alg.hash && !alg.name.startsWith('ED')) add('signature-algorithm', cert, `is signed with ${alg.name}, which airlock does not accept`)
    }
    const key = describeKey(cert.publicKey)
    if ((key.algorithm === 'RSA' || key.algorithm === 'RSA-PSS') && (key.bits ?? 0) < 2048) add('key-strength', cert, `has a ${key.label} key: RSA under 2048 bits is refused`)
    if (key.algorithm === 'DSA') add('key-strength', cert, `has a ${key.label} key: DSA is refused`)
    if (key.algorithm === 'EC' && !['P-256', 'P-384', 'P-521'].includes(key.curve ?? '')) add('key-strength', cert, `has a key on curve ${key.curve ?? '?'}: only P-256, P-384 and P-521 are accepted`)
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
    if (purpose === 'serverAuth' && ext.extKeyUsage && !ext.extKeyUsage.usages.includes('serverAuth')) {
      add('purpose', cert, `has extendedKeyUsage ${ext.extKeyUsage.usages.join(', ')}, without serverAuth: TLS clients refuse it`)
    }
  }
  const leaf = chain[0]
  if (leaf) problems.push(...purposeProblems(leaf, purpose))
  return problems
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

function subjectOf(cert: ParsedCertificate): string {
  return formatName(cert.subject) || `serial ${cert.serial}`
}
