import assert from 'node:assert/strict'
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdir, readFile, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {craftTar, makeKeys, readTarEntries, writeFilesSpec, type TestKeys} from '../support/bundles.js'
import {makeTempDir, removeTempDir, runCli} from '../support/cli.js'
import {makeOpensslCa} from '../support/openssl-ca.js'
import {issueSignerCert} from './signer-cert.js'

/** Runs VERIFY.txt exactly as the bundle prints it, with sh, GNU tar, openssl and sha256sum only. */
function runVerifyTxt(cwd: string, script: string, env: Record<string, string>) {
  // TMPDIR: the folder the script verifies into (kept on success) lies inside the test's own folder
  return spawnSync('sh', ['-c', script], {cwd, env: {PATH: process.env.PATH ?? '/usr/bin:/bin', TMPDIR: cwd, ...env}, encoding: 'utf8'})
}

describe('VERIFY.txt: verifying by hand without airlock', () => {
  let dir: string
  let keys: TestKeys

  after(() => removeTempDir(dir))
  before(async () => {
    dir = await makeTempDir()
    keys = await makeKeys(dir, 'rsa', 'rsa-3072')
  })

  after(async () => rm(dir, {recursive: true, force: true}))

  it('succeeds on a good bundle with a pinned public key and fails on a tampered one', async () => {
    const spec = await writeFilesSpec(join(dir, 'k'), {'a.txt': 'alpha\n', 'sub.bin': Buffer.alloc(5000, 1)})
    const work = join(dir, 'site')
    await mkdir(work)
    const out = join(work, 'demo.tar')
    assert.equal((await runCli(['bundle', 'build', spec, '--key', keys.key, '--out', out])).code, 0)
    const script = execFileSync('tar', ['-xOf', out, 't-1.0.0/VERIFY.txt'], {encoding: 'utf8'})
    const ok = runVerifyTxt(work, script, {TRUST: keys.pub})
    assert.equal(ok.status, 0, ok.stderr + ok.stdout)
    assert.match(ok.stdout, /Verified OK/)

    // a changed byte inside a file: the signature still holds, sha256sum -c must fail
    const bad = join(dir, 'bad')
    await mkdir(bad)
    const entries = await readTarEntries(out)
    await writeFile(join(bad, 'demo.tar'), craftTar(entries.map((e) => (e.path.endsWith('a.txt') ? {...e, body: Buffer.from('alphA\n')} : e))))
    const failed = runVerifyTxt(bad, script, {TRUST: keys.pub})
    assert.notEqual(failed.status, 0)
    assert.match(failed.stdout + failed.stderr, /a\.txt/)

    // an extra file: only the last step (nothing unlisted) catches it
    const extra = join(dir, 'extra')
    await mkdir(extra)
    await writeFile(join(extra, 'demo.tar'), craftTar([...entries, {path: 't-1.0.0/files/evil.sh', body: Buffer.from('x')}]))
    const extraRun = runVerifyTxt(extra, script, {TRUST: keys.pub})
    assert.notEqual(extraRun.status, 0)
    assert.match(extraRun.stdout + extraRun.stderr, /evil\.sh/)

    // another key: openssl dgst -verify says so
    const other = await makeKeys(dir, 'other')
    const wrongKey = runVerifyTxt(work, script, {TRUST: other.pub})
    assert.notEqual(wrongKey.status, 0)
  })

  it('checks a signer certificate against the site CA with TRUST_CA', async () => {
    const ca = await makeOpensslCa(dir)
    const ec = await makeKeys(dir, 'ec')
    const cert = await issueSignerCert(dir, ca, ec.key, 'signer')
    const spec = await writeFilesSpec(join(dir, 'c'), {'a.txt': 'alpha\n'})
    const work = join(dir, 'ca-site')
    await mkdir(work)
    const out = join(work, 'demo.tar')
    const built = await runCli(['bundle', 'build', spec, '--key', ec.key, '--cert', cert, '--out', out])
    assert.equal(built.code, 0, built.stderr)
    const script = execFileSync('tar', ['-xOf', out, 't-1.0.0/VERIFY.txt'], {encoding: 'utf8'})
    const ok = runVerifyTxt(work, script, {TRUST_CA: ca.caCert})
    assert.equal(ok.status, 0, ok.stderr + ok.stdout)
    const otherCa = await makeOpensslCa(dir, 'other')
    const bad = runVerifyTxt(work, script, {TRUST_CA: otherCa.caCert})
    assert.notEqual(bad.status, 0)
    assert.ok((await readFile(out)).length > 0)
  })
})
