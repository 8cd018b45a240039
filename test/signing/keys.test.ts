import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {readFile, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {makeTempDir, runCli} from '../support/cli.js'

describe('keys generate', () => {
  for (const type of ['ecdsa-p256', 'rsa-3072']) {
    it(`writes a 0600 PKCS#8 key and an SPKI public key whose fingerprint openssl agrees with (${type})`, async () => {
      const dir = await makeTempDir()
      const r = await runCli(['keys', 'generate', '--out', join(dir, 'k'), '--type', type, '--json'])
      assert.equal(r.code, 0, r.stderr)
      assert.equal((await stat(join(dir, 'k.key'))).mode & 0o777, 0o600)
      assert.match(await readFile(join(dir, 'k.key'), 'utf8'), /^-----BEGIN PRIVATE KEY-----/)
      const der = execFileSync('openssl', ['pkey', '-pubin', '-in', join(dir, 'k.pub'), '-outform', 'DER'])
      const sum = execFileSync('sha256sum', {input: der, encoding: 'utf8'}).split(' ')[0]
      assert.equal(r.json.fingerprint, `sha256:${sum}`)
      execFileSync('openssl', ['pkey', '-in', join(dir, 'k.key'), '-check', '-noout'])
      assert.ok(!r.stdout.includes('PRIVATE KEY'), 'key material printed')
      if (type === 'rsa-3072') assert.match(execFileSync('openssl', ['pkey', '-pubin', '-in', join(dir, 'k.pub'), '-text', '-noout'], {encoding: 'utf8'}), /3072 bit/)
    })
  }

  it('encrypts with a passphrase from the environment, never from argv', async () => {
    const dir = await makeTempDir()
    const r = await runCli(['keys', 'generate', '--out', join(dir, 'k'), '--passphrase-env', 'MY_PASS'], {env: {MY_PASS: 's3cret pass'}})
    assert.equal(r.code, 0, r.stderr)
    assert.match(await readFile(join(dir, 'k.key'), 'utf8'), /ENCRYPTED PRIVATE KEY/)
    execFileSync('openssl', ['pkey', '-in', join(dir, 'k.key'), '-passin', 'env:MY_PASS', '-noout'], {env: {...process.env, MY_PASS: 's3cret pass'}})
    const unset = await runCli(['keys', 'generate', '--out', join(dir, 'k2'), '--passphrase-env', 'NOT_SET_ANYWHERE', '--json'])
    assert.equal(unset.code, 2)
    assert.equal(unset.json.error.subject, '--passphrase-env')
  })

  it('never overwrites without --force', async () => {
    const dir = await makeTempDir()
    await writeFile(join(dir, 'k.key'), 'precious')
    const r = await runCli(['keys', 'generate', '--out', join(dir, 'k'), '--json'])
    assert.equal(r.code, 2)
    assert.equal(r.json.error.code, 'FILE_EXISTS')
    assert.equal(r.json.error.subject, join(dir, 'k.key'))
    assert.equal(await readFile(join(dir, 'k.key'), 'utf8'), 'precious')
    const forced = await runCli(['keys', 'generate', '--out', join(dir, 'k'), '--force'])
    assert.equal(forced.code, 0)
    assert.equal((await stat(join(dir, 'k.key'))).mode & 0o777, 0o600)
  })

  it('rejects an unknown key type as a usage error', async () => {
    const dir = await makeTempDir()
    const r = await runCli(['keys', 'generate', '--out', join(dir, 'k'), '--type', 'dsa-1024'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /dsa-1024/)
  })
})
