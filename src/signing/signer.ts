import {X509Certificate} from 'node:crypto'

import type {BundleSigner} from '../bundle/writer.js'
import {AirlockError} from '../ui/errors.js'
import {readSmallFile} from '../util/fs.js'
import {fingerprintOf, loadPrivateKey, publicKeyOf} from './keys.js'
import {splitPem} from './trust.js'

export interface LoadedSigner extends BundleSigner {
  fingerprint: string
  subject?: string
}

/** The build's signer: the key, and either its certificate chain (--cert) or its public key. */
export async function loadSigner(keyPath: string, options: {certPath?: string; passphrase?: string}): Promise<LoadedSigner> {
  const key = await loadPrivateKey(keyPath, options.passphrase)
  const pub = publicKeyOf(key)
  const fingerprint = fingerprintOf(pub)
  if (!options.certPath) {
    return {key, pem: pub.export({type: 'spki', format: 'pem'}) as string, fingerprint}
  }
  const text = (await readSmallFile(options.certPath, {what: 'certificate', maxBytes: 1 << 20})).toString('utf8')
  const blocks = splitPem(text).filter((b) => b.type === 'CERTIFICATE')
  if (blocks.length === 0) throw new AirlockError('KEY_INVALID', `${options.certPath} holds no PEM certificate`, {subject: options.certPath})
  let leaf: X509Certificate
  try {
    leaf = new X509Certificate(blocks[0]?.pem ?? '')
  } catch (error) {
    throw new AirlockError('KEY_INVALID', `${options.certPath} holds a certificate that cannot be parsed`, {subject: options.certPath, cause: error})
  }
  if (fingerprintOf(leaf.publicKey) !== fingerprint) {
    throw new AirlockError('KEY_INVALID', `the certificate in ${options.certPath} is not for the key ${keyPath}`, {subject: options.certPath, hint: 'pass the certificate issued for this signing key (leaf first, then intermediates)'})
  }
  const now = new Date()
  if (now > new Date(leaf.validTo) || now < new Date(leaf.validFrom)) {
    throw new AirlockError('KEY_INVALID', `the signer certificate in ${options.certPath} is not valid now (${leaf.validFrom} to ${leaf.validTo})`, {subject: options.certPath, hint: 'renew the signing certificate'})
  }
  return {key, pem: blocks.map((b) => `${b.pem}\n`).join(''), fingerprint, subject: leaf.subject}
}
