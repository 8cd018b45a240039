import {strict as assert} from 'node:assert'
import {readFile, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {makeTempDir, removeTempDir, runCli} from '../support/cli.js'
import {step} from '../support/steps.js'
import {openssl, opensslOk} from './support.js'

/*
 * The certs commands as a user runs them (the built CLI), and every file they write read back by
 * openssl: req -verify, x509 -text, verify -purpose sslserver -x509_strict, pkey -check.
 */

const DOMAIN = 'wallaroo.example.com'

function assertNoKeyMaterial(text: string, keyPem: string): void {
  assert.ok(!text.includes('PRIVATE KEY'), 'no PEM private key in the output')
  const body = keyPem.split('\n').filter((l) => l && !l.startsWith('-----'))
  for (const line of body) assert.ok(!text.includes(line), 'no line of the key in the output')
}

async function modeOf(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777
}

for (const keyType of ['ecdsa-p256', 'rsa-3072'] as const) {
  describe(`certs csr, ca, issue, inspect (${keyType})`, function () {
    this.timeout(120_000)
    let dir: string
    let ca: {cert: string; key: string}
    let csr: {csr: string; key: string}
    let issued: {cert: string; fullchain: string}

    after(() => removeTempDir(dir))
    before(async () => {
      dir = await makeTempDir()
    })

    const stepCa = step(async () => {
      const run = await runCli(['certs', 'ca', '--name', 'Acme Platform CA', '--key-type', keyType, '--subject', 'O=Acme Inc,C=US', '--out', join(dir, 'ca'), '--json'])
      assert.equal(run.code, 0, run.stderr)
      ca = {cert: run.json.cert, key: run.json.key}
      assert.equal(await modeOf(ca.key), 0o600)
      const text = await opensslOk(['x509', '-in', ca.cert, '-noout', '-text'])
      assert.match(text, /Basic Constraints: critical\s+CA:TRUE, pathlen:0/)
      assert.match(text, /Key Usage: critical\s+Certificate Sign, CRL Sign/)
      assert.match(text, /Subject Key Identifier/)
      assert.match(text, /Subject: C ?= ?US, O ?= ?Acme Inc, CN ?= ?Acme Platform CA/)
      await opensslOk(['pkey', '-check', '-noout', '-in', ca.key])
      assertNoKeyMaterial(run.stdout + run.stderr, await readFile(ca.key, 'utf8'))
    })
    it('certs ca writes a root openssl reads as CA:TRUE pathlen 0, keyCertSign and cRLSign critical, with an SKI', () => stepCa())

    const stepCsr = step(async () => {
      const run = await runCli(['certs', 'csr', '--domain', DOMAIN, '--san', 'api.wallaroo.example.com', '--san', '127.0.0.1', '--key-type', keyType, '--out', join(dir, 'tls'), '--json'])
      assert.equal(run.code, 0, run.stderr)
      csr = {csr: run.json.csr, key: run.json.key}
      assert.equal(await modeOf(csr.key), 0o600)
      const keyPem = await readFile(csr.key, 'utf8')
      assert.match(keyPem, /^-----BEGIN PRIVATE KEY-----/)
      assertNoKeyMaterial(run.stdout + run.stderr, keyPem)
      const verified = await opensslOk(['req', '-in', csr.csr, '-verify', '-noout', '-text'])
      assert.match(verified, /verify OK/)
      assert.match(verified, /Subject: CN ?= ?wallaroo\.example\.com/)
      assert.match(verified, /DNS:wallaroo\.example\.com, DNS:api\.wallaroo\.example\.com, IP Address:127\.0\.0\.1/)
      assert.match(verified, keyType === 'rsa-3072' ? /Public-Key: \(3072 bit\)/ : /NIST CURVE: P-256/)
      assert.match(verified, /Signature Algorithm: (sha256WithRSAEncryption|ecdsa-with-SHA256)/)
      await opensslOk(['pkey', '-check', '-noout', '-in', csr.key])
    })
    it('certs csr writes a 0600 PKCS#8 key and a CSR with CN and DNS/IP SANs that openssl req -verify accepts', () => stepCsr())

    const stepIssue = step(async () => {
      await stepCa()
      await stepCsr()
      const run = await runCli(['certs', 'issue', '--ca-cert', ca.cert, '--ca-key', ca.key, '--csr', csr.csr, '--days', '90', '--out', join(dir, 'tls'), '--json'])
      assert.equal(run.code, 0, run.stderr)
      issued = {cert: run.json.cert, fullchain: run.json.fullchain}
      assert.equal(run.json.key, undefined, 'a CSR brings its own key: none is written')
      const verified = await opensslOk(['verify', '-CAfile', ca.cert, '-purpose', 'sslserver', '-x509_strict', issued.cert])
      assert.match(verified, /: OK/)
      const text = await opensslOk(['x509', '-in', issued.cert, '-noout', '-text'])
      assert.match(text, /Extended Key Usage:\s+TLS Web Server Authentication/)
      assert.match(text, keyType === 'rsa-3072' ? /Key Usage: critical\s+Digital Signature, Key Encipherment\n/ : /Key Usage: critical\s+Digital Signature\n/)
      assert.match(text, /DNS:wallaroo\.example\.com, DNS:api\.wallaroo\.example\.com, IP Address:127\.0\.0\.1/)
      assert.match(text, /Subject Key Identifier/)
      assert.match(text, /Authority Key Identifier/)
      const serial = (await opensslOk(['x509', '-in', issued.cert, '-noout', '-serial'])).trim().replace('serial=', '')
      assert.ok(serial.length >= 30 && serial.length <= 32, `a 128-bit serial, got ${serial}`)
      const dates = await opensslOk(['x509', '-in', issued.cert, '-noout', '-startdate', '-enddate'])
      const notBefore = new Date(/notBefore=(.*)/.exec(dates)?.[1] ?? '')
      const notAfter = new Date(/notAfter=(.*)/.exec(dates)?.[1] ?? '')
      const back = Date.now() - notBefore.getTime()
      assert.ok(back > 60_000 && back < 15 * 60_000, 'notBefore a few minutes back')
      assert.ok(notAfter.getTime() - notBefore.getTime() < 90 * 86_400_000, 'no longer than the days asked')
      const chain = await readFile(issued.fullchain, 'utf8')
      assert.equal(chain.match(/BEGIN CERTIFICATE/g)?.length, 2)
      const chainVerified = await opensslOk(['verify', '-CAfile', ca.cert, '-purpose', 'sslserver', '-x509_strict', issued.fullchain])
      assert.match(chainVerified, /OK/)
    })
    it('certs issue certifies the CSR: openssl verify -purpose sslserver -x509_strict passes', () => stepIssue())

    it('certs inspect reviews all of it: no failure, key matches, chain to the CA, nothing secret in --json', async () => {
      await stepIssue()
      const run = await runCli(['certs', 'inspect', issued.fullchain, issued.cert, csr.csr, csr.key, '--domain', DOMAIN, '--ca', ca.cert, '--json'])
      assert.equal(run.code, 0, run.stderr)
      assert.notEqual(run.json.verdict, 'fail')
      const checks = (run.json.findings as {check: string; severity: string; subject: string}[])
      const of = (check: string, subject: string) => checks.filter((f) => f.check === check && f.subject.startsWith(subject)).map((f) => f.severity)
      assert.deepEqual(of('key-match', csr.key), ['ok'])
      assert.deepEqual(of('chain', issued.fullchain), ['ok'])
      assert.deepEqual(of('chain-order', issued.fullchain), ['ok'])
      assert.deepEqual(of('domain', issued.cert), ['ok'])
      assert.deepEqual(of('csr-signature', csr.csr), ['ok'])
      assert.deepEqual(of('key-encrypted', csr.key), ['warn'])
      assertNoKeyMaterial(run.stdout + run.stderr, await readFile(csr.key, 'utf8'))
    })

    it('certs issue --domain makes the key too, and a second run refuses to overwrite without --force', async () => {
      await stepCa()
      const out = join(dir, 'direct')
      const args = ['certs', 'issue', '--ca-cert', ca.cert, '--ca-key', ca.key, '--domain', 'other.example.com', '--san', '10.0.0.7', '--key-type', keyType, '--out', out, '--json']
      const first = await runCli(args)
      assert.equal(first.code, 0, first.stderr)
      assert.equal(await modeOf(first.json.key), 0o600)
      await opensslOk(['verify', '-CAfile', ca.cert, '-purpose', 'sslserver', '-x509_strict', first.json.cert])
      await opensslOk(['pkey', '-check', '-noout', '-in', first.json.key])
      const keyBefore = await readFile(first.json.key, 'utf8')
      const second = await runCli(args)
      assert.equal(second.code, 2)
      assert.equal(second.json.error.code, 'FILE_EXISTS')
      assert.ok(second.json.error.subject.startsWith(join(out, 'other.example.com')))
      assert.equal(await readFile(first.json.key, 'utf8'), keyBefore, 'the key is untouched')
      const forced = await runCli([...args, '--force'])
      assert.equal(forced.code, 0, forced.stderr)
      assert.notEqual(await readFile(first.json.key, 'utf8'), keyBefore)
    })
  })
}

describe('certs: keys, passphrases and refusals', function () {
  this.timeout(120_000)
  let dir: string
  after(() => removeTempDir(dir))
  before(async () => {
    dir = await makeTempDir()
  })

  it('rsa-4096: openssl reads a 4096-bit key and a verifying CSR', async () => {
    const run = await runCli(['certs', 'csr', '--domain', DOMAIN, '--key-type', 'rsa-4096', '--out', join(dir, 'rsa4096'), '--json'])
    assert.equal(run.code, 0, run.stderr)
    assert.match(await opensslOk(['req', '-in', run.json.csr, '-verify', '-noout', '-text']), /Public-Key: \(4096 bit\)/)
    await opensslOk(['pkey', '-check', '-noout', '-in', run.json.key])
  })

  it('--passphrase-env encrypts the key: openssl opens it with the passphrase only, and inspect checks it with one', async () => {
    const env = {TLS_PASS: 'correct horse battery staple'}
    const run = await runCli(['certs', 'csr', '--domain', DOMAIN, '--key-type', 'ecdsa-p256', '--passphrase-env', 'TLS_PASS', '--out', join(dir, 'enc'), '--json'], {env})
    assert.equal(run.code, 0, run.stderr)
    assert.equal(run.json.keyEncrypted, true)
    assert.match(await readFile(run.json.key, 'utf8'), /^-----BEGIN ENCRYPTED PRIVATE KEY-----/)
    assert.notEqual((await openssl(['pkey', '-check', '-noout', '-in', run.json.key, '-passin', 'pass:wrong'])).code, 0)
    await opensslOk(['pkey', '-check', '-noout', '-in', run.json.key, '-passin', 'env:TLS_PASS'], {env})
    const without = await runCli(['certs', 'inspect', run.json.key, run.json.csr, '--json'])
    assert.equal(without.code, 0)
    assert.ok(without.json.findings.some((f: {check: string; severity: string}) => f.check === 'key-encrypted' && f.severity === 'info'))
    const withPass = await runCli(['certs', 'inspect', run.json.key, run.json.csr, '--passphrase-env', 'TLS_PASS', '--json'], {env})
    assert.equal(withPass.code, 0)
    assert.ok(withPass.json.findings.some((f: {check: string; severity: string}) => f.check === 'key-match' && f.severity === 'ok'))
    assert.ok(!withPass.stdout.includes(env.TLS_PASS))
  })

  it('a CSR whose signature does not verify is refused by issue (exit 3) and failed by inspect (exit 1)', async () => {
    const ca = await runCli(['certs', 'ca', '--name', 'Tamper CA', '--key-type', 'ecdsa-p256', '--out', join(dir, 'tca'), '--json'])
    const made = await runCli(['certs', 'csr', '--domain', DOMAIN, '--key-type', 'ecdsa-p256', '--out', join(dir, 'tamper'), '--json'])
    // Change one letter of the CN inside the signed part: the structure stays valid, the signature does not.
    const der = Buffer.from((await readFile(made.json.csr, 'utf8')).replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64')
    const at = der.indexOf(Buffer.from('wallaroo'))
    der[at] = 'W'.charCodeAt(0)
    const tampered = join(dir, 'tamper', 'tampered.der')
    await writeFile(tampered, der)
    // OpenSSL 3.0 prints the failure but still exits 0, so read what it says.
    const byOpenssl = await openssl(['req', '-inform', 'DER', '-in', tampered, '-verify', '-noout'])
    assert.match(byOpenssl.stdout + byOpenssl.stderr, /verify failure/, 'openssl agrees it is broken')
    const issue = await runCli(['certs', 'issue', '--ca-cert', ca.json.cert, '--ca-key', ca.json.key, '--csr', tampered, '--out', join(dir, 'tamper-out'), '--json'])
    assert.equal(issue.code, 3)
    assert.equal(issue.json.error.code, 'CSR_INVALID')
    assert.equal(issue.json.error.subject, tampered)
    const inspect = await runCli(['certs', 'inspect', tampered, '--json'])
    assert.equal(inspect.code, 1)
    assert.equal(inspect.json.verdict, 'fail')
    assert.ok(inspect.json.findings.some((f: {check: string; severity: string}) => f.check === 'csr-signature' && f.severity === 'fail'))
  })

  it('usage errors name the flag: a bad SAN, a CN in --subject, issue with a key that is not the CA\'s', async () => {
    const san = await runCli(['certs', 'csr', '--domain', DOMAIN, '--san', 'not a name!', '--out', join(dir, 'bad'), '--json'])
    assert.equal(san.code, 2)
    assert.equal(san.json.error.subject, '--san')
    const subject = await runCli(['certs', 'csr', '--domain', DOMAIN, '--subject', 'CN=evil.example.com', '--out', join(dir, 'bad'), '--json'])
    assert.equal(subject.code, 2)
    assert.equal(subject.json.error.subject, '--subject')
    const ca1 = await runCli(['certs', 'ca', '--name', 'One', '--key-type', 'ecdsa-p256', '--out', join(dir, 'one'), '--json'])
    const ca2 = await runCli(['certs', 'ca', '--name', 'Two', '--key-type', 'ecdsa-p256', '--out', join(dir, 'two'), '--json'])
    const mixed = await runCli(['certs', 'issue', '--ca-cert', ca1.json.cert, '--ca-key', ca2.json.key, '--domain', DOMAIN, '--out', join(dir, 'mixed'), '--json'])
    assert.equal(mixed.code, 2)
    assert.equal(mixed.json.error.code, 'KEY_INVALID')
    assert.equal(mixed.json.error.subject, ca2.json.key)
  })
})
