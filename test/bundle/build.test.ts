import assert from 'node:assert/strict'
import {execFileSync, spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {existsSync} from 'node:fs'
import {mkdir, readFile, readdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {BIN} from '../support/paths.js'
import {makeKeys, writeFilesSpec, type TestKeys} from '../support/bundles.js'
import {makeTempDir, removeTempDir, runCli} from '../support/cli.js'

describe('bundle build', () => {
  let dir: string
  let keys: TestKeys

  after(() => removeTempDir(dir))
  before(async () => {
    dir = await makeTempDir()
    keys = await makeKeys(dir)
  })

  it('writes the head entries first, fixed owner and mode, and files under the bundle folder', async () => {
    const spec = await writeFilesSpec(join(dir, 'order'), {'a.txt': 'a\n'})
    const out = join(dir, 'order.tar')
    const r = await runCli(['bundle', 'build', spec, '--key', keys.key, '--out', out, '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.root, 't-1.0.0')
    const listing = execFileSync('tar', ['-tvf', out], {encoding: 'utf8'}).trim().split('\n')
    const names = listing.map((l) => l.split(/\s+/).at(-1))
    assert.deepEqual(names.slice(0, 5), ['t-1.0.0/SHA256SUMS', 't-1.0.0/SHA256SUMS.sig', 't-1.0.0/signer.pem', 't-1.0.0/manifest.json', 't-1.0.0/VERIFY.txt'])
    assert.ok(names.includes('t-1.0.0/files/a.txt'))
    for (const line of listing) assert.match(line, /^-rw-r--r-- 0\/0 /)
    assert.equal(existsSync(`${out}.partial`), false)
  })

  for (const type of ['ecdsa-p256', 'rsa-3072'] as const) {
    it(`is byte-identical across two builds with SOURCE_DATE_EPOCH (${type})`, async () => {
      const k = await makeKeys(dir, `repro-${type}`, type)
      const spec = await writeFilesSpec(join(dir, `repro-${type}`), {'a.txt': 'a\n', 'b.bin': Buffer.alloc(70_000, 3)})
      const env = {SOURCE_DATE_EPOCH: '1700000000'}
      // same file name in two folders: VERIFY.txt names the bundle file
      await mkdir(join(dir, `r1-${type}`))
      await mkdir(join(dir, `r2-${type}`))
      const one = join(dir, `r1-${type}`, 'b.tar')
      const two = join(dir, `r2-${type}`, 'b.tar')
      assert.equal((await runCli(['bundle', 'build', spec, '--key', k.key, '--out', one], {env})).code, 0)
      assert.equal((await runCli(['bundle', 'build', spec, '--key', k.key, '--out', two], {env})).code, 0)
      assert.ok((await readFile(one)).equals(await readFile(two)), 'the two bundles differ')
      const manifest = JSON.parse(execFileSync('tar', ['-xOf', one, 't-1.0.0/manifest.json'], {encoding: 'utf8'}))
      assert.equal(manifest.created, '2023-11-14T22:13:20.000Z')
    })
  }

  it('--gzip writes a bundle GNU tar and bundle verify read, with every byte of a file of several read chunks', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 4321)
    const spec = await writeFilesSpec(join(dir, 'gz'), {'a.txt': 'a\n', 'big.bin': data})
    const out = join(dir, 'gz.tar.gz')
    const r = await runCli(['bundle', 'build', spec, '--key', keys.key, '--out', out, '--gzip', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.ok(execFileSync('tar', ['-xzOf', out, 't-1.0.0/files/big.bin'], {maxBuffer: 1 << 24}).equals(data), 'the file read back from the gzip bundle differs')
    const v = await runCli(['bundle', 'verify', out, '--trust', keys.pub, '--json'])
    assert.equal(v.code, 0, v.stderr)
  })

  it('never replaces an existing bundle and leaves nothing behind on failure', async () => {
    const spec = await writeFilesSpec(join(dir, 'exists'), {'a.txt': 'a\n'})
    const out = join(dir, 'exists.tar')
    await writeFile(out, 'precious')
    const r = await runCli(['bundle', 'build', spec, '--key', keys.key, '--out', out, '--json'])
    assert.equal(r.code, 2)
    assert.equal(r.json.error.code, 'FILE_EXISTS')
    assert.equal(await readFile(out, 'utf8'), 'precious')
  })

  it('fails with the spec path when a file source is missing, and writes nothing', async () => {
    const sub = join(dir, 'missing')
    const spec = await writeFilesSpec(sub, {'a.txt': 'a\n'}, '    - {source: ./src/nope.bin, as: nope.bin}\n')
    const out = join(sub, 'out.tar')
    const r = await runCli(['bundle', 'build', spec, '--key', keys.key, '--out', out, '--json'])
    assert.equal(r.code, 2)
    assert.equal(r.json.error.code, 'FILE_NOT_FOUND')
    assert.match(r.json.error.subject, /spec\.files\[1\]\.source$/)
    assert.deepEqual((await readdir(sub)).sort(), ['spec.yaml', 'src'])
  })

  it('checks a pinned sha256 of a local file', async () => {
    const sub = join(dir, 'pinned')
    const spec = await writeFilesSpec(sub, {}, '')
    await writeFile(join(sub, 'x.bin'), 'x')
    await writeFile(spec, (await readFile(spec, 'utf8')).replace('  files:\n', `  files:\n    - {source: ./x.bin, as: x.bin, sha256: "sha256:${'0'.repeat(64)}"}\n`))
    const r = await runCli(['bundle', 'build', spec, '--key', keys.key, '--out', join(sub, 'o.tar'), '--json'])
    assert.equal(r.code, 3)
    assert.equal(r.json.error.code, 'DIGEST_MISMATCH')
    assert.match(r.json.error.subject, /spec\.files\[0\]\.sha256$/)
  })

  it('asks for the passphrase of an encrypted key and names the key when it is wrong', async () => {
    const sub = join(dir, 'pass')
    const spec = await writeFilesSpec(sub, {'a.txt': 'a\n'})
    const gen = await runCli(['keys', 'generate', '--out', join(sub, 'enc'), '--passphrase-env', 'PP', '--json'], {env: {PP: 'right horse'}})
    assert.equal(gen.code, 0, gen.stderr)
    const none = await runCli(['bundle', 'build', spec, '--key', join(sub, 'enc.key'), '--out', join(sub, 'o.tar'), '--json'])
    assert.equal(none.json.error.code, 'PASSPHRASE_REQUIRED')
    const wrong = await runCli(['bundle', 'build', spec, '--key', join(sub, 'enc.key'), '--out', join(sub, 'o.tar'), '--passphrase-env', 'PP', '--json'], {env: {PP: 'wrong'}})
    assert.equal(wrong.code, 2)
    assert.equal(wrong.json.error.code, 'PASSPHRASE_WRONG')
    assert.equal(wrong.json.error.subject, join(sub, 'enc.key'))
    const right = await runCli(['bundle', 'build', spec, '--key', join(sub, 'enc.key'), '--out', join(sub, 'o.tar'), '--passphrase-env', 'PP'], {env: {PP: 'right horse'}})
    assert.equal(right.code, 0, right.stderr)
  })

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`leaves neither the bundle nor a .partial when interrupted by ${signal}`, async () => {
      const sub = join(dir, `int-${signal}`)
      const spec = await writeFilesSpec(sub, {'small.txt': 's'})
      // a large file, so the build is still writing when the signal arrives
      execFileSync('sh', ['-c', `head -c ${768 << 20} /dev/urandom > ${join(sub, 'src', 'big.bin')}`])
      await writeFile(spec, (await readFile(spec, 'utf8')) + '    - {source: ./src/big.bin, as: big.bin}\n')
      const out = join(sub, 'o.tar')
      const child = spawn(process.execPath, [BIN, 'bundle', 'build', spec, '--key', keys.key, '--out', out], {stdio: 'ignore'})
      const exited = new Promise<{code: number | null; signal: string | null}>((resolve) => child.once('exit', (code, sig) => resolve({code, signal: sig})))
      for (let i = 0; i < 600 && !existsSync(`${out}.partial`); i++) await new Promise((r) => setTimeout(r, 20))
      assert.ok(existsSync(`${out}.partial`), 'the build never started writing')
      child.kill(signal)
      const result = await exited
      assert.equal(result.signal, signal)
      assert.equal(existsSync(out), false)
      assert.equal(existsSync(`${out}.partial`), false)
      assert.deepEqual((await readdir(sub)).filter((n) => n.startsWith('.')), [], 'no work folder left behind')
    })
  }
})

describe('bundle build on a full disk', () => {
  it('says the disk is full, names the bundle, and leaves nothing behind', async function () {
    const dir = await makeTempDir()
    const keys = await makeKeys(dir)
    const spec = await writeFilesSpec(dir, {'big.bin': Buffer.alloc(3 << 20, 1)})
    const small = join(dir, 'small')
    await mkdir(small)
    // a 1 MiB tmpfs: the 3 MiB bundle cannot fit
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small])
    try {
      const out = join(small, 'b.tar')
      const r = await runCli(['bundle', 'build', spec, '--key', keys.key, '--out', out, '--json'])
      assert.equal(r.code, 2, r.stdout + r.stderr)
      assert.equal(r.json.error.code, 'NO_SPACE')
      assert.equal(r.json.error.subject, out)
      assert.deepEqual(await readdir(small), [])
    } finally {
      execFileSync('umount', [small])
    }
  })
})
