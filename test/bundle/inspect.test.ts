import assert from 'node:assert/strict'
import {writeFile, readFile} from 'node:fs/promises'
import {join} from 'node:path'

import {buildTestBundle, makeKeys} from '../support/bundles.js'
import {makeTempDir, runCli} from '../support/cli.js'

describe('bundle inspect', () => {
  it('shows name, signer, profile-less inventory and totals from the head alone', async () => {
    const dir = await makeTempDir()
    const keys = await makeKeys(dir)
    const bundle = await buildTestBundle(dir, keys)
    const r = await runCli(['bundle', 'inspect', bundle, '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.name, 't')
    assert.equal(r.json.version, '1.0.0')
    assert.equal(r.json.verified, false)
    assert.equal(r.json.signer.fingerprint, keys.fingerprint)
    assert.deepEqual(r.json.files.map((f: {path: string}) => f.path).sort(), ['VERIFY.txt', 'files/a.txt', 'files/b.bin', 'sbom.cdx.json'])
    const b = r.json.files.find((f: {path: string}) => f.path === 'files/b.bin')
    assert.equal(b.size, 3000)
    // inspect walks every header as verify does (only the hashing is skipped): a bundle cut right after
    // manifest.json is refused as verify refuses it, not described as if it were whole
    const data = await readFile(bundle)
    const cut = join(dir, 'head-only.tar')
    await writeFile(cut, data.subarray(0, data.indexOf(Buffer.from('#!/bin/sh')) - 512))
    const r2 = await runCli(['bundle', 'inspect', cut, '--json'])
    assert.equal(r2.code, 3, r2.stderr)
    assert.equal(r2.json.error.code, 'ENTRY_MISSING')
    const v2 = await runCli(['bundle', 'verify', cut, '--trust', keys.pub, '--json'])
    assert.equal(v2.json.error.code, r2.json.error.code)
    const human = await runCli(['bundle', 'inspect', bundle])
    assert.match(human.stdout, /files\/b\.bin/)
  })

  it('shows the tier and which services it switches on and off', async () => {
    const dir = await makeTempDir()
    const keys = await makeKeys(dir)
    await writeFile(join(dir, 'k.yaml'), 'apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: k, version: "1"}\nspec:\n  profile: wallaroo-2025.1\n  kots: {cores: 12, domain: w.example.com}\n')
    const built = await runCli(['bundle', 'build', join(dir, 'k.yaml'), '--key', keys.key, '--out', join(dir, 'k.tar')])
    assert.equal(built.code, 0, built.stderr)
    const human = await runCli(['bundle', 'inspect', join(dir, 'k.tar')])
    assert.match(human.stdout, /tier=8/)
    assert.match(human.stdout, /services off=[^ ]*plateau/)
    assert.match(human.stdout, /services on=[^ ]*inference/)
  })

  it('exits 3 on something that is not a bundle', async () => {
    const dir = await makeTempDir()
    await writeFile(join(dir, 'x.tar'), Buffer.alloc(2048, 1))
    const r = await runCli(['bundle', 'inspect', join(dir, 'x.tar'), '--json'])
    assert.equal(r.code, 3)
    assert.equal(r.json.error.code, 'NOT_A_BUNDLE')
  })
})

describe('images list on bad input', () => {
  it('names the file that is missing (exit 2) or is not a bundle (exit 3)', async () => {
    const dir = await makeTempDir()
    const missing = await runCli(['images', 'list', join(dir, 'nope.tar'), '--json'])
    assert.equal(missing.code, 2)
    assert.equal(missing.json.error.subject, join(dir, 'nope.tar'))
    await writeFile(join(dir, 'junk.tar'), Buffer.alloc(4096, 7))
    const junk = await runCli(['images', 'list', join(dir, 'junk.tar'), '--json'])
    assert.equal(junk.code, 3)
    assert.equal(junk.json.error.code, 'NOT_A_BUNDLE')
  })
})
