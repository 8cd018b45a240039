import {createHash, createPublicKey, generateKeyPair, sign, verify, type KeyObject} from 'node:crypto'
import {promisify} from 'node:util'

import {AirlockError} from '../ui/errors.js'
import {bitStringBytes, children, fromDer, nullValue, oid, seq, type Asn1} from './asn1.js'
import {OID} from './oids.js'

import type {TlsKeyType} from './key-types.js'

export {DEFAULT_TLS_KEY_TYPE, TLS_KEY_TYPES, type TlsKeyType} from './key-types.js'

const generate = promisify(generateKeyPair)

/** Node's crypto (OpenSSL) makes the keys: native prime search, where forge's JavaScript RSA takes seconds. */
export async function generateTlsKey(type: TlsKeyType): Promise<KeyObject> {
  const pair = type === 'ecdsa-p256' || type === 'ecdsa-p384'
    ? await generate('ec', {namedCurve: type === 'ecdsa-p256' ? 'P-256' : 'P-384'})
    : await generate('rsa', {modulusLength: type === 'rsa-4096' ? 4096 : 3072, publicExponent: 0x10001})
  return pair.privateKey
}

/** PKCS#8 PEM; with a passphrase, PBES2 (PBKDF2 + AES-256-CBC), which `openssl pkey` reads. */
export function privateKeyPem(key: KeyObject, passphrase?: string): string {
  return key.export({type: 'pkcs8', format: 'pem', ...(passphrase ? {cipher: 'aes-256-cbc', passphrase} : {})}) as string
}

export function spkiDer(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key
  return pub.export({type: 'spki', format: 'der'})
}

/** SHA-256 of the DER SubjectPublicKeyInfo, as `openssl pkey -pubout -outform DER | sha256sum` prints it. */
export function publicKeyFingerprint(key: KeyObject): string {
  return `sha256:${createHash('sha256').update(spkiDer(key)).digest('hex')}`
}

export interface KeyDescription {
  algorithm: string
  /** RSA modulus bits, or the curve's field size */
  bits?: number
  curve?: string
  /** "RSA 3072", "EC P-256", "ED25519" */
  label: string
}

const CURVES: Record<string, {name: string; bits: number}> = {
  prime256v1: {name: 'P-256', bits: 256},
  secp384r1: {name: 'P-384', bits: 384},
  secp521r1: {name: 'P-521', bits: 521},
}

export function describeKey(key: KeyObject): KeyDescription {
  const type = key.asymmetricKeyType ?? 'unknown'
  const details = key.asymmetricKeyDetails ?? {}
  if (type === 'rsa' || type === 'rsa-pss') return {algorithm: type.toUpperCase(), bits: details.modulusLength, label: `RSA ${details.modulusLength ?? '?'}`}
  if (type === 'ec') {
    // explicit curve parameters instead of a curve's name: openssl -x509_strict refuses them (CVE-2015-1788-class parsing risks)
    if (hasExplicitCurve(key)) return {algorithm: 'EC', curve: 'explicit parameters', label: 'EC with explicit curve parameters'}
    const curve = CURVES[details.namedCurve ?? '']
    return {algorithm: 'EC', curve: curve?.name ?? details.namedCurve, bits: curve?.bits, label: `EC ${curve?.name ?? details.namedCurve ?? '?'}`}
  }
  if (type === 'dsa') return {algorithm: 'DSA', bits: details.modulusLength, label: `DSA ${details.modulusLength ?? '?'}`}
  return {algorithm: type.toUpperCase(), label: type.toUpperCase()}
}

/** SubjectPublicKeyInfo { AlgorithmIdentifier { id-ecPublicKey, parameters } }: a named curve is an OID, explicit parameters a SEQUENCE. */
function hasExplicitCurve(key: KeyObject): boolean {
  try {
    const [algorithm] = children(fromDer(spkiDer(key), 'public key'))
    const [, parameters] = children(algorithm)
    return parameters !== undefined && Array.isArray(parameters.value)
  } catch {
    return false
  }
}

/** ECDSA signs with the hash that matches its curve (RFC 5480 4): P-384 with SHA-384, P-521 with SHA-512. */
const EC_SIGNING: Record<string, {hash: string; oid: string}> = {
  prime256v1: {hash: 'sha256', oid: OID.ecdsaWithSHA256},
  secp384r1: {hash: 'sha384', oid: OID.ecdsaWithSHA384},
  secp521r1: {hash: 'sha512', oid: OID.ecdsaWithSHA512},
}

function signingOf(key: KeyObject): {hash: string; algorithm: Asn1} {
  if (key.asymmetricKeyType === 'rsa') return {hash: 'sha256', algorithm: seq([oid(OID.sha256WithRSAEncryption), nullValue()])}
  const ec = key.asymmetricKeyType === 'ec' ? EC_SIGNING[key.asymmetricKeyDetails?.namedCurve ?? ''] : undefined
  if (ec) return {hash: ec.hash, algorithm: seq([oid(ec.oid)])}
  throw new AirlockError('KEY_INVALID', `cannot sign with a ${describeKey(key).label} key`, {hint: 'use an RSA (2048 bits or more) or ECDSA P-256, P-384 or P-521 key'})
}

/** AlgorithmIdentifier for what airlock signs with: RSA PKCS#1 v1.5 with SHA-256, or ECDSA with its curve's hash. */
export function signatureAlgorithm(key: KeyObject): Asn1 {
  return signingOf(key).algorithm
}

/**
 * Signs DER with Node's crypto: ECDSA comes out DER-encoded as X.509 wants it. The signature is
 * verified before it is used, so a faulty key or library never ships a certificate that does not verify.
 */
export function signDer(data: Buffer, key: KeyObject): Buffer {
  const {hash} = signingOf(key)
  const signature = sign(hash, data, key)
  if (!verify(hash, data, createPublicKey(key), signature)) {
    throw new AirlockError('SIGNATURE_INVALID', 'the signature just made does not verify', {hint: 'report this: the key or the crypto library is faulty'})
  }
  return signature
}

/** RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits (an identifier, not a signature). */
export function keyIdentifier(spki: Buffer): Buffer {
  const [, subjectPublicKey] = children(fromDer(spki, 'public key'))
  return createHash('sha1').update(bitStringBytes(subjectPublicKey)).digest()
}
