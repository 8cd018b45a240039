import {X509Certificate, createPublicKey, type KeyObject} from 'node:crypto'

import {AirlockError} from '../ui/errors.js'
import {fingerprintOf} from './keys.js'

/** What the isolated side trusts, given out of band; never anything read from the bundle itself. */
export type Trust =
  | {kind: 'key'; key: KeyObject; fingerprint: string; source: string}
  | {kind: 'fingerprint'; fingerprint: string; source: string}
  | {kind: 'ca'; anchors: X509Certificate[]; source: string}

export interface SignerIdentity {
  /** the key that must have made SHA256SUMS.sig */
  key: KeyObject
  fingerprint: string
  /** subject of the signer certificate, when signer.pem holds one */
  subject?: string
  issuer?: string
  validTo?: string
  chain: X509Certificate[]
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g

export function splitPem(text: string): {type: string; pem: string}[] {
  return [...text.matchAll(PEM_BLOCK)].map((m) => ({type: m[1] ?? '', pem: m[0]}))
}

/** `--trust FILE`: a CA certificate (or several) or a public key in PEM. */
export function parseTrust(pemText: string, source: string): Trust {
  const blocks = splitPem(pemText)
  const certs = blocks.filter((b) => b.type === 'CERTIFICATE')
  if (certs.length > 0) {
    try {
      return {kind: 'ca', anchors: certs.map((c) => new X509Certificate(c.pem)), source}
    } catch (error) {
      throw new AirlockError('KEY_INVALID', `${source} holds a certificate that cannot be parsed`, {subject: source, cause: error})
    }
  }
  const pub = blocks.find((b) => b.type === 'PUBLIC KEY' || b.type === 'RSA PUBLIC KEY')
  if (!pub) {
    throw new AirlockError('KEY_INVALID', `${source} holds neither a public key nor a CA certificate in PEM`, {
      subject: source,
      hint: 'pass the signer public key (.pub from `airlock keys generate`) or the CA certificate that issued the signer certificate',
    })
  }
  try {
    const key = createPublicKey(pub.pem)
    return {kind: 'key', key, fingerprint: fingerprintOf(key), source}
  } catch (error) {
    throw new AirlockError('KEY_INVALID', `${source} holds a public key that cannot be parsed`, {subject: source, cause: error})
  }
}

const FINGERPRINT = /^sha256:[0-9a-f]{64}$/

export function parseTrustFingerprint(value: string): Trust {
  const normalized = value.trim().toLowerCase().replaceAll(':', '').replace(/^sha256/, 'sha256:')
  if (!FINGERPRINT.test(normalized)) {
    throw new AirlockError('USAGE', `--trust-fingerprint must be sha256: and 64 hex digits, got ${value}`, {subject: '--trust-fingerprint', hint: 'use the value `airlock keys generate` printed'})
  }
  return {kind: 'fingerprint', fingerprint: normalized, source: '--trust-fingerprint'}
}

/** signer.pem: a certificate chain (leaf first) or a bare public key. */
export function parseSigner(pemText: string, entry: string): SignerIdentity {
  const blocks = splitPem(pemText)
  try {
    const certs = blocks.filter((b) => b.type === 'CERTIFICATE').map((b) => new X509Certificate(b.pem))
    const leaf = certs[0]
    if (leaf) {
      return {key: leaf.publicKey, fingerprint: fingerprintOf(leaf.publicKey), subject: leaf.subject, issuer: leaf.issuer, validTo: leaf.validTo, chain: certs}
    }
    const pub = blocks.find((b) => b.type === 'PUBLIC KEY')
    if (pub) {
      const key = createPublicKey(pub.pem)
      return {key, fingerprint: fingerprintOf(key), chain: []}
    }
  } catch (error) {
    throw new AirlockError('SIGNER_UNTRUSTED', `${entry} cannot be parsed`, {subject: entry, cause: error})
  }
  throw new AirlockError('SIGNER_UNTRUSTED', `${entry} holds neither a certificate nor a public key`, {subject: entry})
}

/**
 * Decides whether the signer named in the bundle is one the site trusts. A pinned key or fingerprint
 * must equal the signer's key; a CA must be the anchor of a valid RFC 5280 path from the signer
 * certificate, through the bundle's intermediates, for the purpose of signing (keyUsage
 * digitalSignature, extendedKeyUsage codeSigning): the one path validator the certificate review uses.
 */
export async function checkSignerTrusted(signer: SignerIdentity, trust: Trust, entry: string, now = new Date()): Promise<void> {
  if (trust.kind === 'key' || trust.kind === 'fingerprint') {
    if (signer.fingerprint !== trust.fingerprint) {
      throw new AirlockError('SIGNER_UNTRUSTED', `the bundle is signed by key ${signer.fingerprint}, not by the trusted key ${trust.fingerprint}`, {
        subject: entry,
        hint: `get the bundle from the signer you trust, or check that ${trust.source} is the right key`,
      })
    }
    return
  }
  const [leaf, ...intermediates] = signer.chain
  if (!leaf) {
    throw new AirlockError('SIGNER_UNTRUSTED', `${entry} holds a bare public key, but --trust names a CA`, {subject: entry, hint: 'trust the signer public key instead (--trust KEY.pub or --trust-fingerprint)'})
  }
  // the PKI code (node-forge, pkijs) loads only when a CA is trusted
  const [{parseCertificate}, {validatePath}] = await Promise.all([import('../pki/parse.js'), import('../pki/path-validation.js')])
  const parse = (cert: X509Certificate, source: string) => {
    try {
      return parseCertificate(cert.raw, source)
    } catch (error) {
      throw new AirlockError('SIGNER_UNTRUSTED', `a certificate in ${source} cannot be read`, {subject: source, cause: error})
    }
  }
  const result = await validatePath({
    leaf: parse(leaf, entry),
    intermediates: intermediates.map((c) => parse(c, entry)),
    anchors: trust.anchors.map((c) => parse(c, trust.source)),
    purpose: 'codeSigning',
    now,
  })
  if (result.ok) return
  const [first] = result.problems
  const rules = new Set(result.problems.map((p) => p.rule))
  const hint = rules.has('purpose')
    ? 'the signer certificate must be issued for signing: keyUsage digitalSignature and extendedKeyUsage codeSigning (airlock certs issue --profile signer, or openssl with -addext "extendedKeyUsage=codeSigning"; see docs/tls.md)'
    : rules.has('validity')
      ? 'the signer must re-sign with a current certificate'
      : rules.has('no-path')
        ? `check that ${trust.source} holds the root CA the signer certificate chains to (an intermediate alone is not enough, as for openssl verify), and that the bundle carries the intermediates`
        : 'the chain breaks a rule of RFC 5280; have the CA issue the signer certificate again'
  throw new AirlockError('SIGNER_UNTRUSTED', `the signer certificate "${leaf.subject.replaceAll('\n', ', ')}" is not trusted through ${trust.source}: ${result.problems.map((p) => p.message).join('; ') || first?.message}`, {subject: entry, hint})
}
