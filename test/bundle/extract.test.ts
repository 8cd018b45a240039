import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {mkdir, readFile, readdir, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {buildTestBundle, craftTar, makeKeys, readTarEntries, reseal, type TestKeys} from '../support/bundles.js'
import {makeTempDir, removeTempDir, runCli} from '../support/cli.js'

describe('bundle extract', () => {
  let dir: string
  let keys: TestKeys
  let good: string

  after(() => removeTempDir(dir))
  before(async () => {
    dir = await makeTempDir()
    keys = await makeKeys(dir)
    good = await buildTestBundle(dir, keys)
  })

  it('verifies and unpacks into --to, stripping the bundle folder', async () => {
    const to = join(dir, 'out')
    const r = await runCli(['bundle', 'extract', good, '--to', to, '--trust', keys.pub, '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.to, to)
    assert.deepEqual((await readdir(to)).sort(), ['SHA256SUMS', 'SHA256SUMS.sig', 'VERIFY.txt', 'files', 'manifest.json', 'sbom.cdx.json', 'signer.pem'])
    assert.equal(await readFile(join(to, 'files', 'a.txt'), 'utf8'), 'alpha\n')
    assert.equal((await stat(join(to, 'files', 'a.txt'))).mode & 0o777, 0o644)
  })

  it('restores the execute bit only for entries the signed manifest marks executable', async () => {
    const sub = join(dir, 'exec')
    await mkdir(join(sub, 'src'), {recursive: true})
    await writeFile(join(sub, 'src', 'run.sh'), '#!/bin/sh\necho hi\n')
    await writeFile(join(sub, 'src', 'data.sh'), '#!/bin/sh\necho data\n')
    await writeFile(join(sub, 'spec.yaml'), 'apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: x, version: "1"}\nspec:\n  files:\n    - {source: ./src/run.sh, as: run.sh, executable: true}\n    - {source: ./src/data.sh, as: data.sh}\n')
    const out = join(sub, 'x.tar')
    assert.equal((await runCli(['bundle', 'build', join(sub, 'spec.yaml'), '--key', keys.key, '--out', out])).code, 0)
    const to = join(sub, 'to')
    assert.equal((await runCli(['bundle', 'extract', out, '--to', to, '--trust', keys.pub])).code, 0)
    assert.equal((await stat(join(to, 'files', 'run.sh'))).mode & 0o777, 0o755)
    assert.equal((await stat(join(to, 'files', 'data.sh'))).mode & 0o777, 0o644)
  })

  it('restores the execute bit of a rendered script (manifests/nodepools.sh), not of its neighbours', async () => {
    const sub = join(dir, 'scripts')
    await mkdir(sub, {recursive: true})
    await writeFile(join(sub, 'spec.yaml'), 'apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: m, version: "1"}\nspec:\n  profile: wallaroo-2025.1\n  manifests: {platform: eks}\n')
    const out = join(sub, 'm.tar')
    const built = await runCli(['bundle', 'build', join(sub, 'spec.yaml'), '--key', keys.key, '--out', out])
    assert.equal(built.code, 0, built.stderr)
    const to = join(sub, 'to')
    assert.equal((await runCli(['bundle', 'extract', out, '--to', to, '--trust', keys.pub])).code, 0)
    assert.equal((await stat(join(to, 'manifests', 'nodepools.sh'))).mode & 0o777, 0o755)
    assert.equal((await stat(join(to, 'manifests', 'storageclass.yaml'))).mode & 0o777, 0o644)
  })

  it('leaves no target and no temp folder when a later entry fails, and never writes outside', async () => {
    const entries = await readTarEntries(good)
    const pub = await readFile(keys.pub, 'utf8')
    const hostile = reseal([...entries, {path: 't-1.0.0/../../escaped.txt', body: Buffer.from('x')}], keys.privateKey, pub)
    const file = join(dir, 'hostile.tar')
    await writeFile(file, craftTar(hostile))
    const sub = join(dir, 'h1', 'inner')
    await mkdir(sub, {recursive: true})
    const to = join(sub, 'to')
    const r = await runCli(['bundle', 'extract', file, '--to', to, '--trust', keys.pub, '--json'])
    assert.equal(r.code, 3)
    assert.equal(r.json.error.code, 'UNSAFE_PATH')
    assert.equal(existsSync(to), false)
    assert.deepEqual(await readdir(sub), [])
    assert.equal(existsSync(join(dir, 'escaped.txt')), false)
    assert.equal(existsSync(join(dir, 'h1', 'escaped.txt')), false)

    const flipped = entries.map((e) => (e.path.endsWith('b.bin') ? {...e, body: Buffer.alloc(3000, 9)} : e))
    await writeFile(file, craftTar(flipped))
    const r2 = await runCli(['bundle', 'extract', file, '--to', to, '--trust', keys.pub, '--json'])
    assert.equal(r2.code, 3)
    assert.equal(r2.json.error.subject, 't-1.0.0/files/b.bin')
    assert.deepEqual(await readdir(sub), [])
  })

  it('refuses a non-empty target', async () => {
    const to = join(dir, 'full')
    await mkdir(to)
    await writeFile(join(to, 'keep'), 'x')
    const r = await runCli(['bundle', 'extract', good, '--to', to, '--trust', keys.pub, '--json'])
    assert.equal(r.code, 2)
    assert.equal(r.json.error.code, 'FILE_EXISTS')
    assert.deepEqual(await readdir(to), ['keep'])
  })
})
