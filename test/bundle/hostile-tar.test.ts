import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {verifyBundle} from '../../src/bundle/verify.js'
import type {AirlockError} from '../../src/ui/errors.js'
import {locateEntries} from '../../src/images/bundle-read.js'
import {parseTrust, type Trust} from '../../src/signing/trust.js'
import {buildTestBundle, makeKeys, readTarEntries, reseal, type CraftEntry, type TestKeys} from '../support/bundles.js'
import {runCli} from '../support/cli.js'
import {allReaders, bothWalks, type Outcome} from './readers.js'
import {fixChecksum, paxHeader, paxRecord, rawTar, setUstarSize, tempDirHook, type RawEntry} from './tar-craft.js'

function assertAgree(r: {verify: Outcome; noVerify: Outcome}, expect: 'ok' | string): void {
  if (expect === 'ok') {
    assert.ok(r.verify.ok, `verify refused: ${JSON.stringify(r.verify)}`)
    assert.ok(r.noVerify.ok, `no-verify refused: ${JSON.stringify(r.noVerify)}`)
    assert.deepEqual(r.noVerify.seen, r.verify.seen)
  } else {
    assert.equal(r.verify.ok, false, 'verify accepted it')
    assert.equal(r.noVerify.ok, false, 'no-verify accepted it')
    if (!r.verify.ok && !r.noVerify.ok) {
      assert.equal(r.verify.code, expect, r.verify.message)
      assert.equal(r.noVerify.code, expect, r.noVerify.message)
      assert.equal(r.verify.exitCode, 3)
    }
  }
}

describe('hostile tars: every reader walks the same entries', function () {
  this.timeout(60_000)
  const dir = tempDirHook('hostile-tar')
  let keys: TestKeys
  let good: string
  let entries: CraftEntry[]
  let pub: string
  let trust: Trust

  before(async () => {
    keys = await makeKeys(dir())
    good = await buildTestBundle(dir(), keys)
    entries = await readTarEntries(good)
    pub = await readFile(keys.pub, 'utf8')
    trust = parseTrust(pub, 'trust.pem')
  })

  const write = async (name: string, data: Buffer) => {
    const file = join(dir(), name)
    await writeFile(file, data)
    return file
  }

  it('a pax size and a ustar size that agree are read alike by every walk and by GNU tar; sizes that disagree, in either direction, are refused by every reader', async () => {
    const withPax = (ustar?: (size: number) => number): RawEntry[] => {
      const list: RawEntry[] = entries.map((e) => ({...e}))
      const last = list.at(-1) as RawEntry
      const size = (last.body as Buffer).length
      last.before = paxHeader(paxRecord('size', String(size)))
      if (ustar) last.edit = (b) => setUstarSize(b, ustar(size))
      return list
    }
    const file = await write('pax-size.tar', rawTar(withPax()))
    const r = await bothWalks(file, trust)
    assertAgree(r, 'ok')
    assert.equal(r.verify.ok && r.verify.seen.length, entries.length - 3)
    const listed = execFileSync('tar', ['-tf', file], {encoding: 'utf8'}).trim().split('\n')
    assert.deepEqual(listed, entries.map((e) => e.path))
    assert.deepEqual([...(await locateEntries(file)).keys()], r.verify.ok ? r.verify.seen.map((s) => s.replace(/@.*/, '')) : [])
    // GNU tar honours the pax size, busybox tar the ustar field: two archives in one file
    for (const [name, ustar] of [['smaller', () => 0], ['larger', (n: number) => n + 1]] as const) {
      const f = await write(`pax-size-${name}.tar`, rawTar(withPax(ustar)))
      assertAgree(await bothWalks(f, trust), 'NOT_A_BUNDLE')
      const codes = await allReaders(f, trust, dir())
      for (const [reader, code] of Object.entries(codes)) assert.equal(code, 'NOT_A_BUNDLE', `${name} ${reader}`)
      await assert.rejects(verifyBundle(f, trust), /pax size .* and its tar header size .* disagree/)
    }
  })

  it('a ustar size that walks past the end-of-archive into hidden entries is refused by every reader (exit 3)', async () => {
    const list: RawEntry[] = entries.map((e) => ({...e}))
    const last = list.at(-1) as RawEntry
    const size = (last.body as Buffer).length
    // hidden behind the end-of-archive blocks: an image index nobody signed
    const hidden = rawTar([{path: `${entries[0]!.path.split('/')[0]}/images/index.json`, body: Buffer.from('{"schemaVersion":2,"manifests":[]}')}]).subarray(0, 1024)
    const padTo = Math.ceil(size / 512) * 512
    last.before = paxHeader(paxRecord('size', String(size)))
    last.edit = (b) => setUstarSize(b, padTo + 1024)
    const file = await write('pax-hidden.tar', rawTar(list, hidden))
    assertAgree(await bothWalks(file, trust), 'NOT_A_BUNDLE')
    const cli = await runCli(['bundle', 'verify', file, '--trust', keys.pub, '--json'])
    assert.equal(cli.code, 3, cli.stdout + cli.stderr)
    assert.match(cli.json.error.message, /after the end of the archive|pax size .* disagree/)
    // without the pax record the changed ustar size alone walks into the hidden entries: refused the same
    const bare: RawEntry[] = entries.map((e) => ({...e}))
    ;(bare.at(-1) as RawEntry).edit = (b) => setUstarSize(b, padTo + 1024)
    const bareFile = await write('ustar-hidden.tar', rawTar(bare, hidden))
    const codes = await allReaders(bareFile, trust, dir())
    for (const [reader, code] of Object.entries(codes)) assert.notEqual(code, 'ok', `${reader} accepted entries hidden past the end of the archive`)
    assert.equal(codes.noVerify, codes.inspect)
  })

  it('refuses data appended after the end-of-archive blocks, accepts zero padding', async () => {
    const data = await readFile(good)
    assertAgree(await bothWalks(await write('zeros.tar', Buffer.concat([data, Buffer.alloc(20_480)])), trust), 'ok')
    assertAgree(await bothWalks(await write('junk.tar', Buffer.concat([data, Buffer.from('appended')])), trust), 'NOT_A_BUNDLE')
    const resealed = reseal(entries, keys.privateKey, pub)
    // a lone zero block, then an entry: GNU tar stops at the zero block, a lax reader would go on
    const withLone = Buffer.concat([rawTar(resealed).subarray(0, -1024), Buffer.alloc(512), rawTar([{path: `${entries[0]!.path.split('/')[0]}/files/late.txt`, body: Buffer.from('late')}])])
    assertAgree(await bothWalks(await write('lone-zero.tar', withLone), trust), 'NOT_A_BUNDLE')
  })

  it('refuses malformed pax records and pax keys tars read differently', async () => {
    const list = (before: Buffer): RawEntry[] => {
      const l: RawEntry[] = entries.map((e) => ({...e}))
      ;(l.at(-1) as RawEntry).before = before
      return l
    }
    const cases: Record<string, string> = {
      'wrong-length': '99 size=12\n',
      'no-newline': '11 size=12 ',
      'sparse': paxRecord('GNU.sparse.size', '100'),
      'type': paxRecord('type', '2'),
      'hex-size': paxRecord('size', '0x10'),
      'exp-size': paxRecord('size', '1e3'),
      'huge-size': paxRecord('size', '99999999999999999999'),
    }
    for (const [name, text] of Object.entries(cases)) {
      const r = await bothWalks(await write(`pax-${name}.tar`, rawTar(list(paxHeader(text)))), trust)
      assertAgree(r, 'NOT_A_BUNDLE')
    }
    // a global record is honoured by both walks alike (it sets the mtime, which changes nothing read)
    const g = await bothWalks(await write('pax-global.tar', rawTar(list(paxHeader(paxRecord('mtime', '1700000000'), 'GlobalExtendedHeader')))), trust)
    assertAgree(g, 'ok')
    // a global size record applies to every later entry in node-tar and GNU tar: both walks then see other bodies and refuse
    const gs = await bothWalks(await write('pax-global-size.tar', rawTar(list(paxHeader(paxRecord('size', '0'), 'GlobalExtendedHeader')))), trust)
    assert.equal(gs.verify.ok, gs.noVerify.ok)
  })

  it('refuses a directory or link header that claims a body', async () => {
    const root = entries[0]!.path.split('/')[0] as string
    // SHA256SUMS lists files only; the folder entry with a body is put in after sealing
    const resealed: RawEntry[] = reseal(entries, keys.privateKey, pub)
    resealed.splice(4, 0, {path: `${root}/files/`, type: 'Directory', edit: (b) => setUstarSize(b, 1024)})
    assertAgree(await bothWalks(await write('dir-body.tar', rawTar(resealed)), trust), 'NOT_A_BUNDLE')
  })

  it('random bytes and zstd, xz, bzip2 bundles: NOT_A_BUNDLE (exit 3) from every reader, naming byte 0', async () => {
    let seed = 42
    const random = Buffer.alloc(64 * 1024)
    for (let i = 0; i < random.length; i++) random[i] = (seed = (seed * 1_103_515_245 + 12_345) & 0x7fff_ffff) >> 16
    const inputs: Record<string, Buffer> = {random}
    for (const [tool, args] of [['zstd', ['-q', '-c']], ['xz', ['-c']], ['bzip2', ['-c']]] as const) inputs[tool] = execFileSync(tool, [...args, good], {maxBuffer: 1 << 28})
    for (const [name, data] of Object.entries(inputs)) {
      const file = await write(`${name}.bin`, data)
      const codes = await allReaders(file, trust, dir())
      for (const [reader, code] of Object.entries(codes)) assert.equal(code, 'NOT_A_BUNDLE', `${name} ${reader}`)
      const cli = await runCli(['bundle', 'verify', file, '--trust', keys.pub, '--json'])
      assert.equal(cli.code, 3)
      assert.equal(cli.json.error.code, 'NOT_A_BUNDLE')
      assert.match(cli.json.error.message, name === 'random' ? /at byte 0/ : new RegExp(`${name}-compressed.*byte 0`))
    }
  })

  it('base-256 numbers above 2^53 in size, mtime, uid: NOT_A_BUNDLE naming the header offset', async () => {
    const data = await readFile(good)
    const at = data.indexOf(Buffer.from(`${entries[4]!.path}\0`))
    for (const [name, off, len] of [['size', 124, 12], ['mtime', 136, 12], ['uid', 108, 8]] as const) {
      const copy = Buffer.from(data)
      const header = copy.subarray(at, at + 512)
      header.fill(0, off, off + len)
      header[off] = 0x80
      header.fill(0xff, off + 1, off + len) // far above Number.MAX_SAFE_INTEGER
      fixChecksum(header)
      const file = await write(`b256-${name}.tar`, copy)
      const codes = await allReaders(file, trust, dir())
      assert.equal(codes.verify, 'NOT_A_BUNDLE', name)
      assert.equal(codes.noVerify, 'NOT_A_BUNDLE', name)
      assert.equal(codes.extract, 'NOT_A_BUNDLE', name)
      await assert.rejects(verifyBundle(file, trust), (e: AirlockError) => e.message.includes(`byte ${at}`))
    }
  })
})
