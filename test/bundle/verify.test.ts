import {createHash} from 'node:crypto'
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {gzipSync} from 'node:zlib'

import {exitCodeFor, type ErrorCode} from '../../src/ui/errors.js'
import {verifyBundle} from '../../src/bundle/verify.js'
import {parseTrust} from '../../src/signing/trust.js'
import {buildTestBundle, craftTar, makeKeys, readTarEntries, reseal, type CraftEntry, type TestKeys} from '../support/bundles.js'
import {rejectsWithCode} from '../support/assert.js'
import {makeTempDir, removeTempDir, runCli} from '../support/cli.js'

async function expectFailure(file: string, trustPem: string, code: string, subject: RegExp | string): Promise<void> {
  await rejectsWithCode(verifyBundle(file, parseTrust(trustPem, 'trust.pem')), code, subject)
  assert.equal(exitCodeFor(code as ErrorCode), 3)
}

describe('bundle verify', () => {
  let dir: string
  let keys: TestKeys
  let other: TestKeys
  let good: string
  let entries: CraftEntry[]
  let pub: string

  after(() => removeTempDir(dir))
  before(async () => {
    dir = await makeTempDir()
    keys = await makeKeys(dir)
    other = await makeKeys(dir, 'other')
    good = await buildTestBundle(dir, keys)
    entries = await readTarEntries(good)
    pub = await readFile(keys.pub, 'utf8')
  })

  const tampered = async (name: string, list: CraftEntry[]) => {
    const file = join(dir, `${name}.tar`)
    await writeFile(file, craftTar(list))
    return file
  }
  const sealed = (list: CraftEntry[]) => reseal(list, keys.privateKey, pub)

  it('accepts a good bundle, pinned by key or by fingerprint, and reports what it checked', async () => {
    const byKey = await verifyBundle(good, parseTrust(pub, 'k'))
    assert.equal(byKey.root, 't-1.0.0')
    assert.equal(byKey.entries, entries.length - 3)
    assert.equal(byKey.signer.fingerprint, keys.fingerprint)
    const cli = await runCli(['bundle', 'verify', good, '--trust-fingerprint', keys.fingerprint, '--json'])
    assert.equal(cli.code, 0, cli.stderr)
    assert.equal(cli.json.verified, true)
    assert.equal(cli.json.signer.trustedBy, 'fingerprint')
  })

  it('reads a gzip bundle and a bundle on stdin', async () => {
    const gz = join(dir, 'good.tar.gz')
    await writeFile(gz, gzipSync(await readFile(good)))
    assert.equal((await verifyBundle(gz, parseTrust(pub, 'k'))).verified, true)
    const cli = await runCli(['bundle', 'verify', '-', '--trust', keys.pub, '--json'], {input: await readFile(good)})
    assert.equal(cli.code, 0, cli.stderr)
    assert.equal(cli.json.root, 't-1.0.0')
  })

  it('names the entry whose byte changed', async () => {
    const list = entries.map((e) => (e.path.endsWith('files/b.bin') ? {...e, body: Buffer.concat([e.body!.subarray(0, 100), Buffer.from([8]), e.body!.subarray(101)])} : e))
    await expectFailure(await tampered('flip', list), pub, 'DIGEST_MISMATCH', 't-1.0.0/files/b.bin')
  })

  it('finds a changed byte at the same offset in the raw file too', async () => {
    const data = await readFile(good)
    const at = data.indexOf(Buffer.from('alpha\n'))
    data[at] = 'A'.charCodeAt(0)
    const file = join(dir, 'raw-flip.tar')
    await writeFile(file, data)
    await expectFailure(file, pub, 'DIGEST_MISMATCH', 't-1.0.0/files/a.txt')
  })

  it('names an entry listed in SHA256SUMS but missing from the tar', async () => {
    await expectFailure(await tampered('missing', entries.filter((e) => !e.path.endsWith('a.txt'))), pub, 'ENTRY_MISSING', 't-1.0.0/files/a.txt')
  })

  it('names an extra entry that SHA256SUMS does not list', async () => {
    await expectFailure(await tampered('extra', [...entries, {path: 't-1.0.0/files/evil.sh', body: Buffer.from('rm -rf /')}]), pub, 'ENTRY_UNLISTED', 't-1.0.0/files/evil.sh')
  })

  it('names a duplicated entry, even when both copies match', async () => {
    const dup = entries.find((e) => e.path.endsWith('a.txt'))!
    await expectFailure(await tampered('dup', [...entries, dup]), pub, 'ENTRY_DUPLICATE', 't-1.0.0/files/a.txt')
    await expectFailure(await tampered('dup-head', [...entries, entries[0]!]), pub, 'ENTRY_DUPLICATE', 't-1.0.0/SHA256SUMS')
  })

  it('rejects a truncated file, naming the entry it stops in', async () => {
    const data = await readFile(good)
    const cut = data.indexOf(Buffer.alloc(3000, 7)) + 1000
    const file = join(dir, 'cut.tar')
    await writeFile(file, data.subarray(0, cut))
    await expectFailure(file, pub, 'TRUNCATED', 't-1.0.0/files/b.bin')
  })

  /** The good bundle plus `extra` entries, listed in manifest.json too (as a build would: its inventory must match SHA256SUMS). */
  const withExtra = (extra: CraftEntry[]) => {
    const listed = entries.map((e) => {
      if (!e.path.endsWith('/manifest.json')) return e
      const m = JSON.parse(e.body!.toString('utf8'))
      m.files.push(...extra.map((x) => ({path: x.path.slice('t-1.0.0/'.length), size: x.body!.length, sha256: createHash('sha256').update(x.body!).digest('hex'), role: 'file'})))
      return {...e, body: Buffer.from(JSON.stringify(m))}
    })
    return sealed([...listed, ...extra])
  }

  it('hashes the entries of a plain file by position, with the same verdicts as a stream', async () => {
    // entries of several sizes, between small ones
    const big = (n: number) => Buffer.alloc(300_000 + n * 4099, n + 1)
    const extra = [0, 1, 2, 3].flatMap((n) => [{path: `t-1.0.0/files/big-${n}.bin`, body: big(n)}, {path: `t-1.0.0/files/small-${n}.txt`, body: Buffer.from(`small ${n}\n`)}])
    const list = withExtra(extra)
    const ok = await tampered('big-ok', list)
    const plain = await verifyBundle(ok, parseTrust(pub, 'k'))
    const gz = join(dir, 'big-ok.tar.gz')
    await writeFile(gz, gzipSync(await readFile(ok)))
    const streamed = await verifyBundle(gz, parseTrust(pub, 'k'))
    assert.deepEqual({...plain, bundle: ''}, {...streamed, bundle: ''})
    assert.equal(plain.entries, entries.length - 3 + extra.length)

    // two changed entries: the first one in tar order is the one named
    const flip = (body: Buffer) => Buffer.concat([body.subarray(0, 200_000), Buffer.from([0]), body.subarray(200_001)])
    const changed = list.map((e) => (e.path.endsWith('big-1.bin') || e.path.endsWith('big-3.bin') ? {...e, body: flip(e.body!)} : e))
    await expectFailure(await tampered('big-flip', changed), pub, 'DIGEST_MISMATCH', 't-1.0.0/files/big-1.bin')

    const data = await readFile(ok)
    const cut = join(dir, 'big-cut.tar')
    await writeFile(cut, data.subarray(0, data.indexOf(big(2)) + 100_000))
    await expectFailure(cut, pub, 'TRUNCATED', 't-1.0.0/files/big-2.bin')
  })

  it('a bundle large enough for hash workers (64 MB, 200 entries): every entry checked, the first changed one in tar order named', async () => {
    const extra = Array.from({length: 200}, (_, n) => ({path: `t-1.0.0/files/e-${String(n).padStart(3, '0')}.bin`, body: n % 4 === 0 ? Buffer.alloc(500 + n, n) : Buffer.alloc(400_000 + n * 1000, n)}))
    const list = withExtra(extra)
    const ok = await tampered('workers-ok', list)
    assert.equal((await verifyBundle(ok, parseTrust(pub, 'k'))).entries, entries.length - 3 + extra.length)
    const flip = (body: Buffer) => Buffer.concat([body.subarray(0, 100), Buffer.from([body[100]! ^ 1]), body.subarray(101)])
    const changed = list.map((e) => (/e-(150|151|199)\.bin$/.test(e.path) ? {...e, body: flip(e.body!)} : e))
    await expectFailure(await tampered('workers-flip', changed), pub, 'DIGEST_MISMATCH', 't-1.0.0/files/e-150.bin')
  })

  it('rejects entries outside the bundle folder, absolute and .. paths, even when signed', async () => {
    await expectFailure(await tampered('outside', sealed([...entries, {path: 'elsewhere/x', body: Buffer.from('x')}])), pub, 'UNSAFE_PATH', 'elsewhere/x')
    await expectFailure(await tampered('abs', sealed([...entries, {path: '/etc/cron.d/x', body: Buffer.from('x')}])), pub, 'UNSAFE_PATH', '/etc/cron.d/x')
    await expectFailure(await tampered('dotdot', [...entries, {path: 't-1.0.0/../../x', body: Buffer.from('x')}]), pub, 'UNSAFE_PATH', 't-1.0.0/../../x')
  })

  for (const [type, linkpath] of [['SymbolicLink', '/etc/passwd'], ['Link', 't-1.0.0/files/a.txt'], ['CharacterDevice', ''], ['BlockDevice', ''], ['FIFO', '']] as const) {
    it(`rejects a ${type} entry`, async () => {
      await expectFailure(await tampered(`type-${type}`, [...entries, {path: 't-1.0.0/files/node', type, linkpath: linkpath || undefined}]), pub, 'UNSAFE_ENTRY_TYPE', 't-1.0.0/files/node')
    })
  }

  it('rejects a bundle re-signed by another key, and a signature that does not match', async () => {
    const otherPub = await readFile(other.pub, 'utf8')
    await expectFailure(await tampered('resigned', reseal(entries, other.privateKey, otherPub)), pub, 'SIGNER_UNTRUSTED', 't-1.0.0/signer.pem')
    const badSig = entries.map((e, i) => (i === 1 ? {...e, body: Buffer.from(e.body!).fill(1, 10, 20)} : e))
    await expectFailure(await tampered('badsig', badSig), pub, 'SIGNATURE_INVALID', 't-1.0.0/SHA256SUMS.sig')
  })

  it('rejects SHA256SUMS edited to match a changed file (the signature no longer holds)', async () => {
    const changed = entries.map((e) => (e.path.endsWith('a.txt') ? {...e, body: Buffer.from('evil\n')} : e))
    const resealedWithoutSig = reseal(changed, other.privateKey, pub)
    resealedWithoutSig[1] = entries[1]!
    await expectFailure(await tampered('sums-edited', resealedWithoutSig), pub, 'SIGNATURE_INVALID', 't-1.0.0/SHA256SUMS.sig')
  })

  it('rejects garbage that is not a tar, and an empty file', async () => {
    const file = join(dir, 'garbage.tar')
    await writeFile(file, Buffer.alloc(4096, 0x41))
    await expectFailure(file, pub, 'NOT_A_BUNDLE', 'bundle')
    await writeFile(file, '')
    await expectFailure(file, pub, 'NOT_A_BUNDLE', 'bundle')
  })

  it('rejects a tar whose first entry is not SHA256SUMS', async () => {
    await expectFailure(await tampered('order', [entries[3]!, ...entries.slice(0, 3), ...entries.slice(4)]), pub, 'NOT_A_BUNDLE', 't-1.0.0/manifest.json')
  })

  it('exits 3 from the CLI with the entry in the JSON error, and 2 without a trust flag', async () => {
    const list = entries.map((e) => (e.path.endsWith('a.txt') ? {...e, body: Buffer.from('alphA\n')} : e))
    const cli = await runCli(['bundle', 'verify', await tampered('cli', list), '--trust', keys.pub, '--json'])
    assert.equal(cli.code, 3)
    assert.equal(cli.json.error.code, 'DIGEST_MISMATCH')
    assert.equal(cli.json.error.subject, 't-1.0.0/files/a.txt')
    const none = await runCli(['bundle', 'verify', good, '--json'])
    assert.equal(none.code, 2)
    assert.equal(none.json.error.code, 'USAGE')
    const missing = await runCli(['bundle', 'verify', join(dir, 'nope.tar'), '--trust', keys.pub])
    assert.equal(missing.code, 2)
    assert.match(missing.stderr, /nope\.tar/)
  })

  it('rejects hostile entries appended by GNU tar: symlink, hard link, fifo, device, duplicate, traversal', async () => {
    const base = join(dir, 'gnu')
    execFileSync('sh', ['-c', `mkdir -p ${base}/t-1.0.0/files && cd ${base} && ln -s /etc/passwd t-1.0.0/files/link && echo x > t-1.0.0/files/real && ln t-1.0.0/files/real t-1.0.0/files/hard && mkfifo t-1.0.0/files/fifo && mknod t-1.0.0/files/null c 1 3`])
    const cases: [string, string[], string, string][] = [
      ['symlink', ['t-1.0.0/files/link'], 'UNSAFE_ENTRY_TYPE', 't-1.0.0/files/link'],
      ['hardlink', ['t-1.0.0/files/real', 't-1.0.0/files/hard'], 'ENTRY_UNLISTED', 't-1.0.0/files/real'],
      ['fifo', ['t-1.0.0/files/fifo'], 'UNSAFE_ENTRY_TYPE', 't-1.0.0/files/fifo'],
      ['device', ['t-1.0.0/files/null'], 'UNSAFE_ENTRY_TYPE', 't-1.0.0/files/null'],
      ['traversal', ['-P', 't-1.0.0/../t-1.0.0/files/real'], 'UNSAFE_PATH', 't-1.0.0/../t-1.0.0/files/real'],
      ['duplicate', ['t-1.0.0/files/a.txt'], 'ENTRY_DUPLICATE', 't-1.0.0/files/a.txt'],
    ]
    execFileSync('sh', ['-c', `cd ${base} && cp ${dir}/src/a.txt t-1.0.0/files/a.txt`])
    for (const [name, members, code, subject] of cases) {
      const file = join(dir, `gnu-${name}.tar`)
      await writeFile(file, await readFile(good))
      const extra = join(dir, `gnu-${name}-add.tar`)
      execFileSync('tar', ['-C', base, '-cf', extra, ...members])
      execFileSync('tar', ['-Af', file, extra])
      await expectFailure(file, pub, code, subject)
    }
    // a hard link entry itself, after its target was accepted
    const hard = join(dir, 'gnu-hard-only.tar')
    await writeFile(hard, await readFile(good))
    execFileSync('sh', ['-c', `cd ${base} && rm -f t-1.0.0/files/a.txt && ln t-1.0.0/files/real t-1.0.0/files/a.txt && tar -cf ${dir}/h.tar t-1.0.0/files/real t-1.0.0/files/a.txt`])
    const entriesH = await readTarEntries(join(dir, 'h.tar'))
    assert.equal(entriesH[1]?.type, 'Link')
    await expectFailure(await tampered('gnu-link', [...entries.filter((e) => !e.path.endsWith('a.txt')), entriesH[1]!]), pub, 'UNSAFE_ENTRY_TYPE', 't-1.0.0/files/a.txt')
  })
})

describe('bundle verify: names hidden in pax and GNU records', () => {
  it('applies the same path rules to a pax path and a GNU long name', async () => {
    const dir = await makeTempDir()
    const keys = await makeKeys(dir)
    const good = await buildTestBundle(dir, keys)
    const entries = await readTarEntries(good)
    const pub = await readFile(keys.pub, 'utf8')
    const {Pax} = await import('tar')
    // a pax record whose path climbs out, in front of an innocent-looking ustar name
    const pax = new Pax({path: 't-1.0.0/../../../etc/cron.d/evil'}).encode()
    const paxFile = join(dir, 'pax.tar')
    const body = craftTar([...entries, {path: 't-1.0.0/files/innocent', body: Buffer.from('x')}])
    const at = body.length - 1024 - 1024 // before the last entry (header + 1 block) and the end blocks
    await writeFile(paxFile, Buffer.concat([body.subarray(0, at), pax, body.subarray(at)]))
    await rejectsWithCode(verifyBundle(paxFile, parseTrust(pub, 'k')), 'UNSAFE_PATH', 't-1.0.0/../../../etc/cron.d/evil')

    // a GNU long-name record (type L) doing the same
    const longName = Buffer.from('t-1.0.0/../../escape-by-long-name\0')
    const gnu = craftTar([{path: '././@LongLink', type: 'NextFileHasLongPath', body: longName}]).subarray(0, 512 + 512)
    // craftTar writes no body for non-File types: add it by hand
    const gnuFile = join(dir, 'gnu.tar')
    const header = Buffer.from(gnu.subarray(0, 512))
    header.write(longName.length.toString(8).padStart(11, '0') + '\0', 124, 12, 'ascii')
    let sum = 0
    header.fill(' ', 148, 156)
    for (const b of header) sum += b
    header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii')
    const padded = Buffer.concat([longName, Buffer.alloc(512 - longName.length)])
    await writeFile(gnuFile, Buffer.concat([body.subarray(0, at), header, padded, body.subarray(at)]))
    await rejectsWithCode(verifyBundle(gnuFile, parseTrust(pub, 'k')), 'UNSAFE_PATH', 't-1.0.0/../../escape-by-long-name')
  })

  it('rejects a header whose size is negative (base-256)', async () => {
    const dir = await makeTempDir()
    const keys = await makeKeys(dir)
    const good = await buildTestBundle(dir, keys)
    const data = await readFile(good)
    const at = data.indexOf(Buffer.from('t-1.0.0/files/a.txt')) // its header
    const header = data.subarray(at, at + 512)
    header.fill(0xff, 124, 136) // base-256 -1
    header.fill(' ', 148, 156)
    let sum = 0
    for (const b of header) sum += b
    header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii')
    const file = join(dir, 'neg.tar')
    await writeFile(file, data)
    await rejectsWithCode(verifyBundle(file, parseTrust(await readFile(keys.pub, 'utf8'), 'k')), 'NOT_A_BUNDLE', 't-1.0.0/files/a.txt')
  })
})
