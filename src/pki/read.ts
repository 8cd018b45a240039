import {createPrivateKey, createPublicKey, type KeyObject} from 'node:crypto'
import {stat} from 'node:fs/promises'

import {AirlockError} from '../ui/errors.js'
import {readSmallFile} from '../util/fs.js'
import {sequenceElements} from './asn1.js'
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
    case 'PKCS7':
    case 'CMS':
      throw containerError('PKCS#7', file)
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
  const container = containerKind(der)
  if (container) throw containerError(container, path)
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

const PKCS7_OID = Buffer.from('06092a864886f70d0107', 'hex')
const PBES2_OID = Buffer.from('06092a864886f70d01050d', 'hex')

function topElements(der: Buffer): Buffer[] {
  try {
    return sequenceElements(der)
  } catch {
    return []
  }
}

/**
 * PKCS#12 (PFX: version 3, then a PKCS#7 ContentInfo) and PKCS#7 (a ContentInfo: the OID first) are
 * containers people hand over by mistake for a certificate or key; they get a clear error, never a
 * guess (a PFX holds PBES2 parameters and would otherwise pass for an encrypted key).
 */
function containerKind(der: Buffer): 'PKCS#12' | 'PKCS#7' | undefined {
  // looked for in the first bytes, not parsed: Windows exports PFX files in indefinite-length BER
  if (der[0] !== 0x30) return undefined
  const head = der.subarray(0, 32)
  const version = head.indexOf(Buffer.from([0x02, 0x01, 0x03, 0x30]))
  if (version >= 2 && version <= 6 && head.indexOf(PKCS7_OID) > version) return 'PKCS#12'
  const oid = head.indexOf(PKCS7_OID)
  if (oid >= 2 && oid <= 6) return 'PKCS#7'
  return undefined
}

function containerError(kind: 'PKCS#12' | 'PKCS#7', path: string): AirlockError {
  const hint = kind === 'PKCS#12'
    ? `take the certificates and the key out first: openssl pkcs12 -in ${path} -nokeys -out chain.pem; openssl pkcs12 -in ${path} -nocerts -out key.pem`
    : `take the certificates out first: openssl pkcs7 -print_certs -in ${path}${path.endsWith('.der') ? ' -inform DER' : ''} -out chain.pem (then put the server certificate first)`
  return new AirlockError('INPUT_INVALID', `${path} is a ${kind} ${kind === 'PKCS#12' ? '(.p12/.pfx) archive' : '(.p7b/.p7c) certificate bundle'}, not a certificate, CSR or key in PEM or DER`, {subject: path, hint})
}

/** EncryptedPrivateKeyInfo: SEQUENCE { AlgorithmIdentifier { OID pkcs5PBES2, ... }, OCTET STRING }. */
function isEncryptedPkcs8(der: Buffer): boolean {
  const elements = topElements(der)
  return elements.length === 2 && elements[0]?.[0] === 0x30 && elements[0].subarray(2, 15).includes(PBES2_OID) && elements[1]?.[0] === 0x04
}
