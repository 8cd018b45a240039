/* Byte-level tar crafting for the hostile-input tests: every field can be set to what an attacker would. */
import {createHash} from 'node:crypto'
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Header} from 'tar'

import {BLOCK, padding} from '../../src/bundle/tar-reader.js'
import {parseTrust, type Trust} from '../../src/signing/trust.js'
import {buildTestBundle, makeKeys, readTarEntries, type CraftEntry, type TestKeys} from '../support/bundles.js'

/** Recomputes a header's checksum after a field was changed by hand. */
export function fixChecksum(block: Buffer): Buffer {
  block.fill(' ', 148, 156)
  let sum = 0
  for (let i = 0; i < BLOCK; i++) sum += block[i] as number
  block.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii')
  return block
}

export function headerBlock(e: {path: string; type?: string; size?: number; mode?: number; linkpath?: string}): Buffer {
  const block = Buffer.alloc(BLOCK)
  new Header({path: e.path, type: (e.type ?? 'File') as 'File', size: e.size ?? 0, mode: e.mode ?? 0o644, mtime: new Date(0), uid: 0, gid: 0, linkpath: e.linkpath}).encode(block, 0)
  return block
}

/** One pax record, length prefix included. */
export function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`
  let len = Buffer.byteLength(body) + 1
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body)
  return `${len}${body}`
}

/** A pax extended header ('x', or 'g' for global) holding `text` verbatim. */
export function paxHeader(text: string, type: 'ExtendedHeader' | 'GlobalExtendedHeader' = 'ExtendedHeader'): Buffer {
  const data = Buffer.from(text)
  return Buffer.concat([headerBlock({path: 'PaxHeader/x', type, size: data.length}), data, Buffer.alloc(padding(data.length))])
}

/** Writes a ustar size field (octal) into a header and fixes its checksum. */
export function setUstarSize(block: Buffer, size: number): Buffer {
  block.write(size.toString(8).padStart(11, '0') + '\0', 124, 12, 'ascii')
  return fixChecksum(block)
}

export interface RawEntry extends CraftEntry {
  /** bytes put before the header (a pax record, a GNU long name) */
  before?: Buffer
  /** change the ustar header after encoding */
  edit?: (block: Buffer) => void
}

/** Any tar, ending in two zero blocks, plus `after` appended verbatim. */
export function rawTar(entries: RawEntry[], after: Buffer = Buffer.alloc(0)): Buffer {
  const parts: Buffer[] = []
  for (const e of entries) {
    const body = e.body ?? Buffer.alloc(0)
    const isFile = !e.type || e.type === 'File' || e.type === 'OldFile' || e.type === 'ContiguousFile'
    if (e.before) parts.push(e.before)
    const block = headerBlock({path: e.path, type: e.type, size: isFile ? body.length : 0, mode: e.mode, linkpath: e.linkpath})
    if (e.edit) {
      e.edit(block)
      fixChecksum(block)
    }
    parts.push(block)
    if (isFile) parts.push(body, Buffer.alloc(padding(body.length)))
  }
  parts.push(Buffer.alloc(BLOCK * 2), after)
  return Buffer.concat(parts)
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex')
}

/** A temp folder removed after the suite, also when a test fails. */
export function tempDirHook(tag: string): () => string {
  let dir: string | undefined
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), `airlock-test-${tag}-`))
  })
  after(async () => {
    if (dir) await rm(dir, {recursive: true, force: true})
  })
  return () => {
    if (!dir) throw new Error('tempDirHook used outside a test')
    return dir
  }
}

/** A GNU long-name ('L') or long-link ('K') record holding `name`, as GNU tar writes one before a header. */
export function gnuLongRecord(name: string, type: 'NextFileHasLongPath' | 'NextFileHasLongLinkpath' = 'NextFileHasLongPath'): Buffer {
  const data = Buffer.from(`${name}\0`)
  const block = headerBlock({path: '././@LongLink', type, size: data.length})
  return Buffer.concat([block, data, Buffer.alloc(padding(data.length))])
}

export interface SignedFixture {
  keys: TestKeys
  /** the bundle file buildTestBundle wrote */
  file: string
  /** its entries with their bodies, in tar order (the three head entries first) */
  entries: CraftEntry[]
  /** the signer's public key (PEM), as the trust anchor and as signer.pem */
  pub: string
  trust: Trust
  /** the bundle folder, NAME-VERSION */
  root: string
}

/** A signed test bundle taken apart, for the hostile-input tests to rebuild wrong (and re-sign). */
export async function signedFixture(dir: string, files?: Record<string, string | Buffer>): Promise<SignedFixture> {
  const keys = await makeKeys(dir)
  const file = await buildTestBundle(dir, keys, files)
  const entries = await readTarEntries(file)
  const pub = await readFile(keys.pub, 'utf8')
  return {keys, file, entries, pub, trust: parseTrust(pub, 'trust.pem'), root: entries[0]!.path.split('/')[0] as string}
}
