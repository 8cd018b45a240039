import {createPrivateKey, createPublicKey, type KeyObject} from 'node:crypto'
import {stat} from 'node:fs/promises'

import {AirlockError} from '../ui/errors.js'
import {readSmallFile} from '../util/fs.js'
import {parseCertificate, parseCsr, type ParsedCertificate, type ParsedCsr} from './parse.js'

/** One object found in a file: a file may hold a chain, or a key after a certificate. */
export type PkiObject =
  | {kind: 'certificate'; source: string; cert: ParsedCertificate}
  | {kind: 'csr'; source: string; csr: ParsedCsr}
  | {kind: 'private-key'; source: string; file: string; encrypted: boolean; format: string; key?: KeyObject; mode?: number; error?: string}
  | {kind: 'public-key'; source: string; key: KeyObject}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g

interface PemBlock {
  type: string
  text: string
  der: Buffer
}

function pemBlocks(text: string): PemBlock[] {
  return [...text.matchAll(PEM_BLOCK)].map((m) => {
    const body = (m[2] ?? '').split(/\r?\n/).filter((line) => !line.includes(':')).join('')
    return {type: m[1] ?? '', text: m[0], der: Buffer.from(body, 'base64')}
  })
}

/**
 * Reads PEM (any number of blocks) or DER (one object, its kind found by trying each parser).
 * Encrypted keys are opened only with a passphrase; without one they are reported, not guessed at.
 */
export async function readPkiFile(path: string, passphrase?: string): Promise<PkiObject[]> {
  const data = await readSmallFile(path, {what: 'certificate, CSR or key', maxBytes: 4 << 20})
  const mode = (await stat(path)).mode & 0o777
  const text = data.toString('latin1')
  if (text.includes('-----BEGIN ')) {
    const blocks = pemBlocks(text)
    const objects: PkiObject[] = []
    for (const [i, block] of blocks.entries()) {
      const source = blocks.length > 1 ? `${path}#${i + 1}` : path
      const object = fromPem(block, source, path, mode, passphrase)
      if (object) objects.push(object)
    }
    if (objects.length === 0) throw new AirlockError('INPUT_INVALID', `${path} holds no certificate, CSR or key`, {subject: path, hint: 'give PEM or DER certificates, chains, CSRs or keys'})
    return objects
  }
  return [fromDer(data, path, mode, passphrase)]
}

function fromPem(block: PemBlock, source: string, file: string, mode: number, passphrase?: string): PkiObject | undefined {
  switch (block.type) {
    case 'CERTIFICATE':
    case 'TRUSTED CERTIFICATE':
    case 'X509 CERTIFICATE':
      return {kind: 'certificate', source, cert: parseCertificate(block.der, source)}
    case 'CERTIFICATE REQUEST':
    case 'NEW CERTIFICATE REQUEST':
      return {kind: 'csr', source, csr: parseCsr(block.der, source)}
    case 'PRIVATE KEY':
    case 'RSA PRIVATE KEY':
    case 'EC PRIVATE KEY':
    case 'ENCRYPTED PRIVATE KEY': {
      const encrypted = block.type === 'ENCRYPTED PRIVATE KEY' || /Proc-Type: 4,ENCRYPTED/.test(block.text)
      const format = block.type === 'RSA PRIVATE KEY' ? 'PKCS#1' : block.type === 'EC PRIVATE KEY' ? 'SEC1' : 'PKCS#8'
      return openPrivateKey({source, file, encrypted, format, mode}, () => createPrivateKey(encrypted ? {key: block.text, passphrase: passphrase ?? ''} : block.text), passphrase)
    }
    case 'PUBLIC KEY':
    case 'RSA PUBLIC KEY':
      try {
        return {kind: 'public-key', source, key: createPublicKey(block.text)}
      } catch (error) {
        throw new AirlockError('KEY_INVALID', `${source} holds a public key that cannot be read`, {subject: source, cause: error})
      }
    default:
      // EC PARAMETERS (openssl ecparam -genkey) and the like carry nothing to review.
      return undefined
  }
}

function openPrivateKey(base: {source: string; file: string; encrypted: boolean; format: string; mode: number}, open: () => KeyObject, passphrase?: string): PkiObject {
  if (base.encrypted && !passphrase) return {kind: 'private-key', ...base}
  try {
    return {kind: 'private-key', ...base, key: open()}
  } catch (error) {
    if (base.encrypted) return {kind: 'private-key', ...base, error: 'cannot decrypt with the passphrase given'}
    throw new AirlockError('KEY_INVALID', `${base.source} holds a private key that cannot be read`, {subject: base.source, hint: 'give an RSA or EC key in PKCS#8, PKCS#1 or SEC1', cause: error})
  }
}

function fromDer(der: Buffer, path: string, mode: number, passphrase?: string): PkiObject {
  const attempts: (() => PkiObject)[] = [
    () => ({kind: 'certificate', source: path, cert: parseCertificate(der, path)}),
    () => ({kind: 'csr', source: path, csr: parseCsr(der, path)}),
    () => ({kind: 'private-key', source: path, file: path, encrypted: false, format: 'PKCS#8', mode, key: createPrivateKey({key: der, format: 'der', type: 'pkcs8'})}),
    () => ({kind: 'private-key', source: path, file: path, encrypted: false, format: 'PKCS#1', mode, key: createPrivateKey({key: der, format: 'der', type: 'pkcs1'})}),
    () => ({kind: 'private-key', source: path, file: path, encrypted: false, format: 'SEC1', mode, key: createPrivateKey({key: der, format: 'der', type: 'sec1'})}),
    () => ({kind: 'public-key', source: path, key: createPublicKey({key: der, format: 'der', type: 'spki'})}),
  ]
  for (const attempt of attempts) {
    try {
      return attempt()
    } catch {
      // not this kind; try the next
    }
  }
  if (isEncryptedPkcs8(der)) {
    return openPrivateKey({source: path, file: path, encrypted: true, format: 'PKCS#8', mode}, () => createPrivateKey({key: der, format: 'der', type: 'pkcs8', passphrase}), passphrase)
  }
  throw new AirlockError('INPUT_INVALID', `${path} is neither PEM nor a DER certificate, CSR or key`, {subject: path, hint: 'give PEM or DER certificates, chains, CSRs or keys'})
}

/** EncryptedPrivateKeyInfo: SEQUENCE { SEQUENCE { OID pkcs5PBES2 ... }, OCTET STRING }. */
function isEncryptedPkcs8(der: Buffer): boolean {
  return der[0] === 0x30 && der.includes(Buffer.from('06092a864886f70d01050d', 'hex'))
}
