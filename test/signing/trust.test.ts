import assert from 'node:assert/strict'
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {makeKeys, writeFilesSpec, type TestKeys} from '../support/bundles.js'
import {makeTempDir, removeTempDir, runCli} from '../support/cli.js'
import {issueWithOpenssl, makeOpensslCa, type OpensslCa} from '../support/openssl-ca.js'

describe('trust: signer certificates and CAs', () => {
  let dir: string
  let keys: TestKeys
  let ca: OpensslCa
  let spec: string

  after(() => removeTempDir(dir))
  before(async () => {
    dir = await makeTempDir()
    keys = await makeKeys(dir)
    ca = await makeOpensslCa(dir)
    spec = await writeFilesSpec(join(dir, 'spec'), {'a.txt': 'a\n'})
  })

  const build = async (name: string, cert: string) => {
    await mkdir(join(dir, name))
    const out = join(dir, name, 't.tar')
    const r = await runCli(['bundle', 'build', spec, '--key', keys.key, '--cert', cert, '--out', out, '--json'])
    return {r, out}
  }

  it('verifies a bundle signed with a certificate that chains to the trusted CA, through an intermediate', async () => {
    const interKey = join(dir, 'inter.key')
    execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', interKey])
    const inter = await issueWithOpenssl(dir, ca, interKey, 'inter', {ca: true})
    const leaf = await issueWithOpenssl(dir, {caCert: inter, caKey: interKey}, keys.key, 'release-signer')
    const chain = join(dir, 'chain.pem')
    await writeFile(chain, (await readFile(leaf, 'utf8')) + (await readFile(inter, 'utf8')))
    const {r, out} = await build('chain', chain)
    assert.equal(r.code, 0, r.stderr)
    const v = await runCli(['bundle', 'verify', out, '--trust', ca.caCert, '--json'])
    assert.equal(v.code, 0, v.stderr)
    assert.equal(v.json.signer.trustedBy, 'ca')
    assert.match(v.json.signer.subject, /release-signer/)
  })

  it('rejects a signer certificate from another CA, and a certificate that does not match the key', async () => {
    const leaf = await issueWithOpenssl(dir, ca, keys.key, 'signer-a')
    const {r, out} = await build('other-ca', leaf)
    assert.equal(r.code, 0, r.stderr)
    const otherCa = await makeOpensslCa(dir, 'other')
    const v = await runCli(['bundle', 'verify', out, '--trust', otherCa.caCert, '--json'])
    assert.equal(v.code, 3)
    assert.equal(v.json.error.code, 'SIGNER_UNTRUSTED')
    assert.equal(v.json.error.subject, 't-1.0.0/signer.pem')

    const stranger = await makeKeys(dir, 'stranger')
    const wrongCert = await issueWithOpenssl(dir, ca, stranger.key, 'stranger')
    const {r: r2} = await build('mismatch', wrongCert)
    assert.equal(r2.code, 2)
    assert.equal(r2.json.error.code, 'KEY_INVALID')
  })

  it('rejects an expired signer certificate at verify time', async () => {
    const expired = await issueWithOpenssl(dir, ca, keys.key, 'expired', {expired: true})
    // build refuses it too; craft the bundle as an old, once-valid build would have been
    const {r} = await build('expired-build', expired)
    assert.equal(r.code, 2)
    assert.equal(r.json.error.code, 'KEY_INVALID')
    const {craftTar, readTarEntries} = await import('../support/bundles.js')
    const leaf = await issueWithOpenssl(dir, ca, keys.key, 'fresh')
    const {out} = await build('expired', leaf)
    const entries = await readTarEntries(out)
    entries[2] = {...entries[2]!, body: await readFile(expired)}
    const file = join(dir, 'expired.tar')
    await writeFile(file, craftTar(entries))
    const v = await runCli(['bundle', 'verify', file, '--trust', ca.caCert, '--json'])
    assert.equal(v.code, 3)
    assert.equal(v.json.error.code, 'SIGNER_UNTRUSTED')
    assert.match(v.json.error.message, /not valid now/)
  })

  it('refuses a TLS server certificate from the trusted CA as a signer, and says how to issue a signer certificate', async () => {
    const server = await issueWithOpenssl(dir, ca, keys.key, 'tls-server', {serverName: 'wallaroo.example.com'})
    const {r, out} = await build('server-as-signer', server)
    assert.equal(r.code, 0, r.stderr)
    const v = await runCli(['bundle', 'verify', out, '--trust', ca.caCert, '--json'])
    assert.equal(v.code, 3, v.stdout)
    assert.equal(v.json.error.code, 'SIGNER_UNTRUSTED')
    assert.match(v.json.error.message, /codeSigning/)
    assert.match(v.json.error.hint, /--profile signer/)
  })

  it('refuses a chain that breaks a CA\'s pathlen:0', async () => {
    const key1 = join(dir, 'p1.key')
    const key2 = join(dir, 'p2.key')
    for (const k of [key1, key2]) execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', k])
    const inter1 = await issueWithOpenssl(dir, ca, key1, 'pathlen0', {ca: true})
    const inter2 = await issueWithOpenssl(dir, {caCert: inter1, caKey: key1}, key2, 'below-pathlen0', {ca: true})
    const leaf = await issueWithOpenssl(dir, {caCert: inter2, caKey: key2}, keys.key, 'deep-signer')
    const chain = join(dir, 'deep-chain.pem')
    await writeFile(chain, (await readFile(leaf, 'utf8')) + (await readFile(inter2, 'utf8')) + (await readFile(inter1, 'utf8')))
    // openssl refuses it too
    const o = spawnSync('openssl', ['verify', '-x509_strict', '-CAfile', ca.caCert, '-untrusted', chain, leaf], {encoding: 'utf8'})
    assert.notEqual(o.status, 0, o.stdout)
    const {r, out} = await build('pathlen', chain)
    assert.equal(r.code, 0, r.stderr)
    const v = await runCli(['bundle', 'verify', out, '--trust', ca.caCert, '--json'])
    assert.equal(v.code, 3)
    assert.equal(v.json.error.code, 'SIGNER_UNTRUSTED')
    assert.match(v.json.error.message, /pathlen:0/)
  })

  it('rejects a bare-key bundle when the site trusts a CA', async () => {
    const {mkdtemp} = await import('node:fs/promises')
    const sub = await mkdtemp(join(dir, 'bare-'))
    const out = join(sub, 't.tar')
    assert.equal((await runCli(['bundle', 'build', spec, '--key', keys.key, '--out', out])).code, 0)
    const v = await runCli(['bundle', 'verify', out, '--trust', ca.caCert, '--json'])
    assert.equal(v.code, 3)
    assert.equal(v.json.error.code, 'SIGNER_UNTRUSTED')
  })

  it('names a trust file that is neither a key nor a certificate', async () => {
    await writeFile(join(dir, 'junk.pem'), 'hello')
    const v = await runCli(['bundle', 'verify', join(dir, 'x.tar'), '--trust', join(dir, 'junk.pem'), '--json'])
    assert.equal(v.code, 2)
    assert.equal(v.json.error.subject, join(dir, 'junk.pem'))
    const bad = await runCli(['bundle', 'verify', join(dir, 'x.tar'), '--trust-fingerprint', 'md5:abc', '--json'])
    assert.equal(bad.code, 2)
    assert.equal(bad.json.error.subject, '--trust-fingerprint')
  })
})
