import {createHash, createPrivateKey, type KeyObject} from 'node:crypto'
import {mkdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {Header} from 'tar'

import {buildBundle} from '../../src/bundle/build.js'
import {renderSums} from '../../src/bundle/format.js'
import {BLOCK, TarReader, padding} from '../../src/bundle/tar-reader.js'
import {generateSigningKey, type SigningKeyType} from '../../src/signing/keys.js'
import {signDetached} from '../../src/signing/sign.js'

export interface TestKeys {
  key: string
  pub: string
  privateKey: KeyObject
  fingerprint: string
}

export async function makeKeys(dir: string, name = 'signer', type: SigningKeyType = 'ecdsa-p256'): Promise<TestKeys> {
  const pair = generateSigningKey(type)
  const key = join(dir, `${name}.key`)
  const pub = join(dir, `${name}.pub`)
  await writeFile(key, pair.privateKeyPem, {mode: 0o600})
  await writeFile(pub, pair.publicKeyPem)
  return {key, pub, privateKey: createPrivateKey(pair.privateKeyPem), fingerprint: pair.fingerprint}
}

/** A files-only spec with the given files (name -> content) written beside it. */
export async function writeFilesSpec(dir: string, files: Record<string, string | Buffer>, extra = ''): Promise<string> {
  await mkdir(join(dir, 'src'), {recursive: true})
  const lines = []
  for (const [name, content] of Object.entries(files)) {
    await writeFile(join(dir, 'src', name), content)
    lines.push(`    - {source: ./src/${name}, as: ${name}}`)
  }
  const spec = join(dir, 'spec.yaml')
  await writeFile(spec, `apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: t, version: 1.0.0}\nspec:\n  files:\n${lines.join('\n')}\n${extra}`)
  return spec
}

export async function buildTestBundle(dir: string, keys: TestKeys, files: Record<string, string | Buffer> = {'a.txt': 'alpha\n', 'b.bin': Buffer.alloc(3000, 7)}, name = 'bundle.tar'): Promise<string> {
  const spec = await writeFilesSpec(dir, files)
  const out = join(dir, name)
  await buildBundle({specPath: spec, keyPath: keys.key, out, now: new Date('2025-01-01T00:00:00Z')})
  return out
}

export interface CraftEntry {
  path: string
  body?: Buffer
  type?: string
  linkpath?: string
  mode?: number
}

/** Writes any tar, hostile ones included: node-tar encodes each header exactly as asked. */
export function craftTar(entries: CraftEntry[]): Buffer {
  const parts: Buffer[] = []
  for (const e of entries) {
    const body = e.body ?? Buffer.alloc(0)
    const block = Buffer.alloc(BLOCK)
    new Header({path: e.path, type: (e.type ?? 'File') as 'File', size: e.type && e.type !== 'File' ? 0 : body.length, mode: e.mode ?? 0o644, mtime: new Date(0), uid: 0, gid: 0, linkpath: e.linkpath}).encode(block, 0)
    parts.push(block)
    if (!e.type || e.type === 'File') {
      parts.push(body, Buffer.alloc(padding(body.length)))
    }
  }
  parts.push(Buffer.alloc(BLOCK * 2))
  return Buffer.concat(parts)
}

/** Every entry of a tar with its body, for tests that take a good bundle apart and rebuild it wrong. */
export async function readTarEntries(file: string): Promise<CraftEntry[]> {
  const data = await readFile(file)
  const reader = new TarReader([data])
  const out: CraftEntry[] = []
  for (;;) {
    const e = await reader.next()
    if (!e) break
    out.push({path: e.path, type: e.type, mode: e.mode, body: await reader.readBody(1 << 30)})
  }
  return out
}

/** Recomputes SHA256SUMS for the given entries and signs it with `key`: a bundle re-sealed by someone. */
export function reseal(entries: CraftEntry[], key: KeyObject, signerPem: string): CraftEntry[] {
  const root = entries[0]?.path.split('/')[0] ?? ''
  const rest = entries.slice(3)
  const sums = Buffer.from(renderSums(rest.map((e) => ({path: e.path.slice(root.length + 1), sha256: createHash('sha256').update(e.body ?? Buffer.alloc(0)).digest('hex')})).sort((a, b) => (a.path < b.path ? -1 : 1))))
  return [
    {path: `${root}/SHA256SUMS`, body: sums},
    {path: `${root}/SHA256SUMS.sig`, body: signDetached(sums, key)},
    {path: `${root}/signer.pem`, body: Buffer.from(signerPem)},
    ...rest,
  ]
}
