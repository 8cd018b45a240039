import {strict as assert} from 'node:assert'
import {execFileSync} from 'node:child_process'
import {rename} from 'node:fs/promises'
import {createHash, randomBytes} from 'node:crypto'
import {mkdir, open, readFile, readdir, rm, truncate, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {gzipSync} from 'node:zlib'

import {openRandomAccess} from '../../src/transport/random-access.js'
import {buildTestBundle, makeKeys, type TestKeys} from '../support/bundles.js'
import {makeTempDir, runCli} from '../support/cli.js'

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

describe('bundle split and reading a bundle from its parts', function () {
  this.timeout(60_000)
  let dir: string
  let keys: TestKeys
  let bundle: string
  let original: Buffer
  const payload = randomBytes(3 * 1024 * 1024 + 123)

  before(async () => {
    dir = await makeTempDir()
    keys = await makeKeys(dir)
    bundle = await buildTestBundle(dir, keys, {'payload.bin': payload, 'readme.txt': 'hello\n'})
    original = await readFile(bundle)
  })

  after(async () => rm(dir, {recursive: true, force: true}))

  /** A fresh split of the bundle in its own folder, so each test may damage its copy. */
  async function freshSplit(name: string, size = '1M'): Promise<{base: string; res: Awaited<ReturnType<typeof runCli>>}> {
    const sub = join(dir, name)
    await rm(sub, {recursive: true, force: true})
    await mkdir(sub)
    const base = join(sub, 'bundle.tar')
    await writeFile(base, original)
    const res = await runCli(['bundle', 'split', base, '--size', size, '--json'])
    assert.equal(res.code, 0, res.stderr)
    return {base, res}
  }

  it('writes parts and an index with the size and SHA-256 of each part and of the whole; the parts join back byte for byte', async () => {
    const {base, res} = await freshSplit('plain')
    const index = JSON.parse(await readFile(`${base}.split.json`, 'utf8'))
    const count = Math.ceil(original.length / (1024 * 1024))
    assert.equal(index.parts.length, count)
    assert.equal(res.json.parts.length, count)
    assert.equal(index.sha256, sha256(original))
    assert.equal(index.size, original.length)
    const joined: Buffer[] = []
    for (const [i, p] of index.parts.entries()) {
      assert.equal(p.name, `bundle.tar.part${String(i).padStart(3, '0')}`)
      const data = await readFile(join(dir, 'plain', p.name))
      assert.equal(data.length, p.size)
      assert.equal(sha256(data), p.sha256)
      joined.push(data)
    }
    assert.ok(Buffer.concat(joined).equals(original))
    assert.deepEqual((await readdir(join(dir, 'plain'))).filter((n) => n.endsWith('.partial')), [])
  })

  it('verifies, inspects and extracts from the first part or the index, and from the parts joined on stdin', async () => {
    const {base} = await freshSplit('read')
    for (const input of [`${base}.part000`, `${base}.split.json`]) {
      const v = await runCli(['bundle', 'verify', input, '--trust', keys.pub, '--json'])
      assert.equal(v.code, 0, v.stderr)
      assert.equal(v.json.verified, true)
    }
    const parts = (await readdir(join(dir, 'read'))).filter((n) => /\.part\d+$/.test(n)).sort()
    const joined = Buffer.concat(await Promise.all(parts.map((n) => readFile(join(dir, 'read', n)))))
    const stdin = await runCli(['bundle', 'verify', '-', '--trust', keys.pub, '--json'], {input: joined})
    assert.equal(stdin.code, 0, stdin.stderr)
    const inspect = await runCli(['bundle', 'inspect', `${base}.part000`, '--json'])
    assert.equal(inspect.code, 0, inspect.stderr)
    const to = join(dir, 'read-out')
    const x = await runCli(['bundle', 'extract', `${base}.part000`, '--to', to, '--trust', keys.pub, '--json'])
    assert.equal(x.code, 0, x.stderr)
    const extracted = (await readdir(to, {recursive: true})).find((n) => String(n).endsWith('payload.bin'))
    assert.ok(extracted, 'payload.bin was extracted')
    assert.ok((await readFile(join(to, String(extracted)))).equals(payload))
  })

  it('rejects a damaged part by name: exit 3, DIGEST_MISMATCH, subject the part', async () => {
    const {base} = await freshSplit('damaged')
    const part = `${base}.part001`
    const handle = await open(part, 'r+')
    await handle.write(Buffer.from([0xff ^ (await readFile(part))[4242]!]), 0, 1, 4242)
    await handle.close()
    const v = await runCli(['bundle', 'verify', `${base}.part000`, '--trust', keys.pub, '--json'])
    assert.equal(v.code, 3, v.stderr)
    assert.equal(v.json.error.code, 'DIGEST_MISMATCH')
    assert.equal(v.json.error.subject, part)
  })

  it('names a missing part (exit 2) and a truncated part (exit 3) before reading', async () => {
    const {base} = await freshSplit('missing')
    await rm(`${base}.part002`)
    const missing = await runCli(['bundle', 'verify', `${base}.split.json`, '--trust', keys.pub, '--json'])
    assert.equal(missing.code, 2, missing.stderr)
    assert.equal(missing.json.error.code, 'FILE_NOT_FOUND')
    assert.equal(missing.json.error.subject, `${base}.part002`)

    const {base: b2} = await freshSplit('short')
    await truncate(`${b2}.part001`, 1000)
    const short = await runCli(['bundle', 'verify', `${b2}.part000`, '--trust', keys.pub, '--json'])
    assert.equal(short.code, 3, short.stderr)
    assert.equal(short.json.error.code, 'SIZE_MISMATCH')
    assert.equal(short.json.error.subject, `${b2}.part001`)
  })

  it('refuses an index whose part names leave the folder, and a part that is not the first', async () => {
    const {base} = await freshSplit('hostile')
    const index = JSON.parse(await readFile(`${base}.split.json`, 'utf8'))
    index.parts[1].name = '../../etc/passwd'
    await writeFile(`${base}.split.json`, JSON.stringify(index))
    const hostile = await runCli(['bundle', 'verify', `${base}.split.json`, '--trust', keys.pub, '--json'])
    assert.equal(hostile.code, 2, hostile.stderr)
    assert.equal(hostile.json.error.code, 'INPUT_INVALID')
    assert.equal(hostile.json.error.subject, `${base}.split.json`)

    const notFirst = await runCli(['bundle', 'verify', `${base}.part001`, '--trust', keys.pub, '--json'])
    assert.equal(notFirst.code, 2)
    assert.equal(notFirst.json.error.subject, `${base}.part001`)
  })

  it('prints part sizes in the units --size is written in (1M is "1.0 MiB")', async () => {
    const sub = join(dir, 'units')
    await rm(sub, {recursive: true, force: true})
    await mkdir(sub)
    const base = join(sub, 'bundle.tar')
    await writeFile(base, original)
    const res = await runCli(['bundle', 'split', base, '--size', '1M'])
    assert.equal(res.code, 0, res.stderr)
    const lines = res.stdout.split('\n').filter((l) => l.includes('.part'))
    assert.equal(lines.length, Math.ceil(original.length / (1024 * 1024)))
    for (const l of lines.slice(0, -1)) assert.match(l, / {2}1\.0 MiB {2}sha256:/)
    assert.doesNotMatch(res.stdout, /\bMB\b/)
  })

  it('does not overwrite an earlier split unless told to', async () => {
    const {base} = await freshSplit('again')
    const again = await runCli(['bundle', 'split', base, '--size', '1M', '--json'])
    assert.equal(again.code, 2)
    assert.equal(again.json.error.code, 'FILE_EXISTS')
    const forced = await runCli(['bundle', 'split', base, '--size', '2M', '--force', '--json'])
    assert.equal(forced.code, 0, forced.stderr)
    const left = (await readdir(join(dir, 'again'))).filter((n) => /\.part\d+$/.test(n))
    assert.equal(left.length, forced.json.parts.length, 'no stray part of the older, longer split is left')
  })

  it('openRandomAccess reads any range across part boundaries as from the whole file', async () => {
    const {base} = await freshSplit('random', '1M')
    const ranges: Array<[number, number]> = [[0, 512], [1024 * 1024 - 10, 20], [500_000, 2_500_000], [original.length - 7, 7], [original.length, 0]]
    for (const input of [`${base}.part000`, `${base}.split.json`, base]) {
      const ra = await openRandomAccess(input)
      try {
        assert.equal(ra.size, original.length)
        for (const [off, len] of ranges) assert.ok((await ra.readBuffer(off, len)).equals(original.subarray(off, off + len)), `${input} ${off}+${len}`)
        await assert.rejects(ra.readBuffer(original.length - 1, 2), {code: 'TRUNCATED'})
      } finally {
        await ra.close()
      }
    }
    const gz = join(dir, 'random', 'bundle.tar.gz')
    await writeFile(gz, gzipSync(original))
    await assert.rejects(openRandomAccess(gz), {code: 'INPUT_INVALID', subject: gz})
  })

  it('`cat NAME.part* > NAME` in a shell rebuilds the bundle byte for byte: the index is not caught by the glob', async () => {
    const {base, res} = await freshSplit('glob', '1M')
    assert.equal(res.json.index, `${base}.split.json`)
    const joined = join(dir, 'glob', 'joined.tar')
    execFileSync('sh', ['-c', 'cat bundle.tar.part* > joined.tar'], {cwd: join(dir, 'glob')})
    assert.equal(sha256(await readFile(joined)), sha256(original))
    assert.equal(execFileSync('sh', ['-c', 'sha256sum < joined.tar'], {cwd: join(dir, 'glob'), encoding: 'utf8'}).split(' ')[0], res.json.sha256)
    const v = await runCli(['bundle', 'verify', joined, '--trust', keys.pub, '--json'])
    assert.equal(v.code, 0, v.stderr)
  })

  it('still reads an index under the old name FILE.parts, from the index or the first part', async () => {
    const {base} = await freshSplit('old-name', '1M')
    await rename(`${base}.split.json`, `${base}.parts`)
    for (const input of [`${base}.parts`, `${base}.part000`]) {
      const v = await runCli(['bundle', 'verify', input, '--trust', keys.pub, '--json'])
      assert.equal(v.code, 0, v.stderr)
    }
    // a new split replaces it, so the glob cannot catch a stale one
    const again = await runCli(['bundle', 'split', base, '--size', '1M', '--force', '--json'])
    assert.equal(again.code, 0, again.stderr)
    assert.deepEqual((await readdir(join(dir, 'old-name'))).filter((n) => n.endsWith('.parts')), [])
  })

  it('refuses a FIFO given as the index or as a part without waiting on it (exit 2)', async () => {
    const {base} = await freshSplit('fifo', '1M')
    await rename(`${base}.split.json`, `${base}.real.json`)
    execFileSync('mkfifo', [`${base}.split.json`])
    const started = Date.now()
    const idx = await runCli(['bundle', 'verify', `${base}.split.json`, '--trust', keys.pub, '--json'])
    assert.equal(idx.code, 2, idx.stdout + idx.stderr)
    assert.equal(idx.json.error.code, 'INPUT_INVALID')
    assert.match(idx.json.error.message, /FIFO/)
    await rm(`${base}.split.json`)
    await rename(`${base}.real.json`, `${base}.split.json`)
    await rm(`${base}.part001`)
    execFileSync('mkfifo', [`${base}.part001`])
    for (const input of [`${base}.part000`, `${base}.split.json`]) {
      const part = await runCli(['images', 'list', input, '--json'])
      assert.equal(part.code, 2, part.stdout + part.stderr)
      assert.equal(part.json.error.subject, `${base}.part001`)
    }
    assert.ok(Date.now() - started < 30_000)
  })
})
