import {strict as assert} from 'node:assert'
import {chmod, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {makeTempDir, removeTempDir, runCli} from '../support/cli.js'
import {opensslCa, opensslLeaf, opensslOk} from './support.js'

/*
 * certs inspect on what openssl makes, good and bad: every bad one is built here with openssl and must
 * fail its own check (exit 1), while a good one passes, whether PEM or DER.
 */

const DOMAIN = 'wallaroo.example.com'

interface Finding {
  check: string
  severity: string
  subject: string
}

function severities(json: {findings: Finding[]}, check: string, subject?: string): string[] {
  return json.findings.filter((f) => f.check === check && (!subject || f.subject.startsWith(subject))).map((f) => f.severity)
}

describe('certs inspect on openssl-made files', function () {
  this.timeout(180_000)
  let dir: string
  let ca: {cert: string; key: string}
  let good: {cert: string; key: string; csr: string}

  after(() => removeTempDir(dir))
  before(async () => {
    dir = await makeTempDir()
    ca = await opensslCa(dir)
    good = await opensslLeaf(dir, ca, {name: 'good', sans: [`DNS:${DOMAIN}`, 'IP:10.0.0.5']})
  })

  it('a good certificate, its key and CSR: no failure, chain and key match ok', async () => {
    await chmod(good.key, 0o600)
    const run = await runCli(['certs', 'inspect', good.cert, good.key, good.csr, '--domain', DOMAIN, '--ca', ca.cert, '--json'])
    assert.equal(run.code, 0, run.stdout)
    assert.notEqual(run.json.verdict, 'fail')
    assert.deepEqual(severities(run.json, 'chain', good.cert), ['ok'])
    assert.deepEqual(severities(run.json, 'key-match', good.key), ['ok'])
    assert.deepEqual(severities(run.json, 'domain', good.cert), ['ok'])
    assert.deepEqual(severities(run.json, 'eku', good.cert), ['ok'])
    assert.deepEqual(severities(run.json, 'key-mode', good.key), ['ok'])
  })

  it('reads DER certificates and CSRs, PKCS#1 and SEC1 keys', async () => {
    const certDer = join(dir, 'good.crt.der')
    const csrDer = join(dir, 'good.csr.der')
    const pkcs1 = join(dir, 'good.pkcs1.key')
    const sec1 = join(dir, 'ec.sec1.key')
    await opensslOk(['x509', '-in', good.cert, '-outform', 'DER', '-out', certDer])
    await opensslOk(['req', '-in', good.csr, '-outform', 'DER', '-out', csrDer])
    await opensslOk(['pkey', '-in', good.key, '-traditional', '-out', pkcs1])
    await opensslOk(['ecparam', '-name', 'prime256v1', '-genkey', '-out', sec1])
    const run = await runCli(['certs', 'inspect', certDer, csrDer, pkcs1, sec1, '--json'])
    const kinds = run.json.objects.map((o: {kind: string; key?: string}) => `${o.kind}:${o.key}`)
    assert.deepEqual(kinds, ['certificate:RSA 2048', 'csr:RSA 2048', 'private-key:RSA 2048', 'private-key:EC P-256'])
    assert.deepEqual(severities(run.json, 'key-match', pkcs1), ['ok'])
    assert.deepEqual(severities(run.json, 'key-match', sec1), ['fail'], 'the EC key belongs to none of them')
    assert.equal(run.code, 1)
  })

  // make() returns the arguments: files, and flags that need a file made first
  const bad: {name: string; check: string; make: () => Promise<string[]>; args?: string[]}[] = [
    {name: 'a 1024-bit RSA key', check: 'key-strength', make: async () => [(await opensslLeaf(dir, ca, {name: 'weak', bits: 1024, sans: [`DNS:${DOMAIN}`]})).cert]},
    {name: 'a SHA-1 signature', check: 'signature-hash', make: async () => [(await opensslLeaf(dir, ca, {name: 'sha1', digest: 'sha1', sans: [`DNS:${DOMAIN}`]})).cert]},
    {name: 'no SAN (CN only)', check: 'san', make: async () => [(await opensslLeaf(dir, ca, {name: 'nosan'})).cert]},
    {name: 'an expired certificate', check: 'validity', make: async () => [(await opensslLeaf(dir, ca, {name: 'expired', days: -1, sans: [`DNS:${DOMAIN}`]})).cert]},
    {name: 'the wrong domain', check: 'domain', make: async () => [(await opensslLeaf(dir, ca, {name: 'wrong', sans: ['DNS:other.example.com']})).cert], args: ['--domain', DOMAIN]},
    {name: 'a key that does not match', check: 'key-match', make: async () => [good.cert, (await opensslLeaf(dir, ca, {name: 'otherkey', sans: [`DNS:${DOMAIN}`]})).key]},
    {name: 'no serverAuth EKU', check: 'eku', make: async () => [(await opensslLeaf(dir, ca, {name: 'client', eku: 'clientAuth', sans: [`DNS:${DOMAIN}`]})).cert]},
    {name: 'a chain to another CA', check: 'chain', make: async () => [good.cert, '--ca', (await opensslCa(dir, 'other')).cert]},
  ]

  for (const c of bad) {
    it(`fails ${c.name} (exit 1, ${c.check}: fail)`, async () => {
      const files = await c.make()
      const run = await runCli(['certs', 'inspect', ...files, ...(c.args ?? []), '--json'])
      assert.equal(run.code, 1, JSON.stringify(run.json?.findings))
      assert.equal(run.json.verdict, 'fail')
      assert.ok(severities(run.json, c.check).includes('fail'), `${c.check} fails: ${JSON.stringify(run.json.findings)}`)
      const human = await runCli(['certs', 'inspect', ...files, ...(c.args ?? [])])
      assert.equal(human.code, 1)
      assert.match(human.stdout, /verdict: FAIL/)
    })
  }

  it('warns on a key file readable by others, and never prints the key', async () => {
    await chmod(good.key, 0o644)
    const run = await runCli(['certs', 'inspect', good.key, '--json'])
    assert.equal(run.code, 0)
    assert.deepEqual(severities(run.json, 'key-mode', good.key), ['warn'])
    const pem = await readFile(good.key, 'utf8')
    for (const line of pem.split('\n').filter((l) => l && !l.startsWith('-----'))) assert.ok(!run.stdout.includes(line))
  })

  it('a file that is nothing it knows is an input error naming the file', async () => {
    const junk = join(dir, 'junk.bin')
    await writeFile(junk, 'hello, not a certificate')
    const run = await runCli(['certs', 'inspect', junk, '--json'])
    assert.equal(run.code, 2)
    assert.equal(run.json.error.subject, junk)
  })
})
