import {createHash, createPrivateKey, createPublicKey, generateKeyPairSync, verify as cryptoVerify, type KeyObject} from 'node:crypto'
import {mkdir} from 'node:fs/promises'
import {dirname} from 'node:path'

import {AirlockError} from '../ui/errors.js'
import {readSmallFile, writeSecretFile, writeFileAtomic} from '../util/fs.js'

export type SigningKeyType = 'ecdsa-p256' | 'rsa-3072'
export const SIGNING_KEY_TYPES: SigningKeyType[] = ['ecdsa-p256', 'rsa-3072']

export interface GeneratedKeyPair {
  privateKeyPem: string
  publicKeyPem: string
  fingerprint: string
  type: SigningKeyType
}

/** SHA-256 of the DER SubjectPublicKeyInfo: the value `openssl pkey -pubin -outform DER | sha256sum` prints. */
export function fingerprintOf(key: KeyObject): string {
  const der = key.export({type: 'spki', format: 'der'})
  return `sha256:${createHash('sha256').update(der).digest('hex')}`
}

export function generateSigningKey(type: SigningKeyType, passphrase?: string): GeneratedKeyPair {
  const pair =
    type === 'rsa-3072'
      ? generateKeyPairSync('rsa', {modulusLength: 3072, publicExponent: 0x10001})
      : generateKeyPairSync('ec', {namedCurve: 'P-256'})
  const privateKeyPem = pair.privateKey.export({
    type: 'pkcs8',
    format: 'pem',
    ...(passphrase ? {cipher: 'aes-256-cbc', passphrase} : {}),
  }) as string
  const publicKeyPem = pair.publicKey.export({type: 'spki', format: 'pem'}) as string
  return {privateKeyPem, publicKeyPem, fingerprint: fingerprintOf(pair.publicKey), type}
}

export interface WrittenKeyPair {
  privateKey: string
  publicKey: string
  fingerprint: string
  type: SigningKeyType
  encrypted: boolean
}

/** PATH.key (0600, PKCS#8) and PATH.pub (SPKI). Refuses to replace either unless `force`. */
export async function writeSigningKeyPair(outBase: string, type: SigningKeyType, options: {passphrase?: string; force?: boolean}): Promise<WrittenKeyPair> {
  const pair = generateSigningKey(type, options.passphrase)
  const privateKey = `${outBase}.key`
  const publicKey = `${outBase}.pub`
  // `--out keys/release` in a fresh checkout: make keys/ as `certs ca --out ca/` does, rather than
  // report the key we are about to write as "not found"
  await mkdir(dirname(privateKey), {recursive: true})
  await writeSecretFile(privateKey, pair.privateKeyPem, {force: options.force})
  await writeFileAtomic(publicKey, pair.publicKeyPem, {force: options.force, mode: 0o644})
  return {privateKey, publicKey, fingerprint: pair.fingerprint, type, encrypted: Boolean(options.passphrase)}
}

/** Loads a PEM private key; a missing or wrong passphrase is a usage error naming the file, not a stack trace. */
/** `passphraseFlag` is the option the hint names: each encrypted key has its own. */
export async function loadPrivateKey(path: string, passphrase?: string, passphraseFlag = '--passphrase-env'): Promise<KeyObject> {
  const pem = await readSmallFile(path, {what: 'private key', maxBytes: 1 << 20})
  const text = pem.toString('utf8')
  const encrypted = text.includes('ENCRYPTED PRIVATE KEY') || /Proc-Type: 4,ENCRYPTED/.test(text)
  if (encrypted && !passphrase) {
    throw new AirlockError('PASSPHRASE_REQUIRED', `the private key ${path} is encrypted`, {
      subject: path,
      hint: `pass ${passphraseFlag} VAR naming an environment variable that holds the passphrase`,
    })
  }
  try {
    return createPrivateKey(encrypted ? {key: text, passphrase} : {key: text})
  } catch (error) {
    if (encrypted) {
      throw new AirlockError('PASSPHRASE_WRONG', `could not decrypt ${path}: wrong passphrase`, {subject: path, hint: `check the passphrase in the variable named by ${passphraseFlag}`, cause: error})
    }
    throw new AirlockError('KEY_INVALID', `${path} is not a PEM private key`, {subject: path, hint: 'give a key made by `airlock keys generate` or openssl (PKCS#8 or traditional PEM)', cause: error})
  }
}

export function publicKeyOf(privateKey: KeyObject): KeyObject {
  return createPublicKey(privateKey)
}

export function verifyDetached(data: Buffer, signature: Buffer, key: KeyObject): boolean {
  try {
    return cryptoVerify('sha256', data, key, signature)
  } catch {
    return false
  }
}
