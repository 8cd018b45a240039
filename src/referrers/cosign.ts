import {createPublicKey, verify, type KeyObject} from 'node:crypto'

import {parseManifest} from '../oci/manifest.js'
import {AirlockError} from '../ui/errors.js'
import {readSmallFile} from '../util/fs.js'
import type {FoundReferrer} from './discover.js'
import {COSIGN_SIGNATURE_ANNOTATION, COSIGN_SIMPLESIGNING} from './model.js'

/** A simple-signing payload is a few hundred bytes; anything near this is not one. */
const MAX_PAYLOAD_BYTES = 1 << 20

/**
 * A cosign public key as `cosign generate-key-pair` writes it (PEM SubjectPublicKeyInfo): ECDSA
 * P-256, or RSA of at least 2048 bits. Other keys are refused, not tried.
 */
export async function loadCosignKey(path: string, subject: string): Promise<KeyObject> {
  const pem = (await readSmallFile(path, {what: 'cosign public key', maxBytes: 64 << 10})).toString('utf8')
  let key: KeyObject
  try {
    key = createPublicKey(pem)
  } catch (error) {
    throw new AirlockError('KEY_INVALID', `${path} is not a PEM public key`, {subject, hint: 'give the cosign.pub that `cosign generate-key-pair` wrote (or `cosign public-key --key ...`)', cause: error})
  }
  const details = key.asymmetricKeyDetails
  const ok = (key.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1') || (key.asymmetricKeyType === 'rsa' && (details?.modulusLength ?? 0) >= 2048)
  if (!ok) {
    throw new AirlockError('KEY_INVALID', `${path} is a ${key.asymmetricKeyType}${details?.namedCurve ? ` ${details.namedCurve}` : ''} key; cosign signatures are checked with ECDSA P-256 or RSA (2048 bits or more)`, {subject, hint: 'give the publisher\'s cosign public key'})
  }
  return key
}

export interface CosignCheck {
  /** the image as the spec names it */
  name: string
  /** the digest that must be signed: the upstream manifest or index digest */
  digest: string
  /** the spec path to name in errors */
  subject: string
  key: KeyObject
  keyPath: string
  found: FoundReferrer[]
  /** the verified bytes of a blob of a signature manifest */
  readBlob(digest: string, size: number): Promise<Buffer>
}

export interface CosignVerified {
  /** the signature manifest that verified */
  signature: string
  /** the docker-reference the payload names (cosign records it; airlock does not require it to match) */
  dockerReference?: string
}

interface SimpleSigning {
  critical?: {type?: unknown; image?: {'docker-manifest-digest'?: unknown}; identity?: {'docker-reference'?: unknown}}
}

/**
 * Checks cosign's key-based signature of `digest`: some simple-signing layer of a signature referrer
 * (the `sha256-<hex>.sig` tag, or an OCI 1.1 referrer) carries, in its `dev.cosignproject.cosign/signature`
 * annotation, a base64 signature over the layer's bytes that verifies with the key (SHA-256; ECDSA
 * ASN.1 or RSA PKCS#1 v1.5, as cosign signs), and that payload's `critical.image.docker-manifest-digest`
 * is `digest`. A signature by this key over another image is a failure, not a pass: it is exactly
 * what a swapped tag looks like. No Rekor or Fulcio check is made: the key is the trust.
 */
export async function verifyCosignSignature(c: CosignCheck): Promise<CosignVerified> {
  const candidates = c.found.filter((f) => f.record.subject === c.digest && f.record.kind === 'signature')
  if (candidates.length === 0) {
    throw new AirlockError('SIGNATURE_MISSING', `${c.name} (${c.digest}) has no cosign signature in its registry, and the spec requires one by ${c.keyPath}`, {
      subject: c.subject,
      hint: 'the publisher signs with `cosign sign --key`; check the image and digest, or remove verify from the spec entry if this image is not signed',
    })
  }
  const problems: string[] = []
  for (const f of candidates) {
    const manifest = parseManifest(f.bytes, f.record.mediaType, `${c.name} signature ${f.record.digest}`)
    if (manifest.kind !== 'manifest') continue
    for (const layer of manifest.layers) {
      const sig = layer.annotations?.[COSIGN_SIGNATURE_ANNOTATION]
      if (layer.mediaType !== COSIGN_SIMPLESIGNING || typeof sig !== 'string') continue
      if (layer.size > MAX_PAYLOAD_BYTES) {
        problems.push(`payload ${layer.digest} is ${layer.size} bytes`)
        continue
      }
      const payload = await c.readBlob(layer.digest, layer.size)
      if (!verify('sha256', payload, c.key, Buffer.from(sig, 'base64'))) {
        problems.push(`signature on ${layer.digest} does not verify with ${c.keyPath}`)
        continue
      }
      let doc: SimpleSigning
      try {
        doc = JSON.parse(payload.toString('utf8')) as SimpleSigning
      } catch {
        problems.push(`payload ${layer.digest} is not JSON`)
        continue
      }
      const signed = doc.critical?.image?.['docker-manifest-digest']
      if (signed !== c.digest) {
        problems.push(`payload ${layer.digest} signs ${String(signed)}, not ${c.digest}`)
        continue
      }
      const ref = doc.critical?.identity?.['docker-reference']
      return {signature: f.record.digest, ...(typeof ref === 'string' ? {dockerReference: ref} : {})}
    }
  }
  throw new AirlockError('SIGNATURE_INVALID', `${c.name} (${c.digest}): no cosign signature verifies with ${c.keyPath}${problems.length > 0 ? ` (${problems.join('; ')})` : ' (no simple-signing layer with a signature annotation)'}`, {
    subject: c.subject,
    hint: 'the image is not signed by this key, or the signature was altered; do not bundle it. Check the key with the publisher.',
  })
}
