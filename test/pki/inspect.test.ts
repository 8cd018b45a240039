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

  it('a PKCS#12 archive or a PKCS#7 bundle given by mistake: an input error (exit 2) that says how to take the certificates out', async () => {
    const p12 = join(dir, 'site.p12')
    const p7b = join(dir, 'chain.p7b')
    const p7der = join(dir, 'chain.p7b.der')
    await opensslOk(['pkcs12', '-export', '-in', good.cert, '-inkey', good.key, '-passout', 'pass:secret', '-out', p12])
    await opensslOk(['crl2pkcs7', '-nocrl', '-certfile', good.cert, '-certfile', ca.cert, '-out', p7b])
    await opensslOk(['crl2pkcs7', '-nocrl', '-certfile', good.cert, '-outform', 'DER', '-out', p7der])
    for (const [file, kind, tool] of [[p12, 'PKCS#12', 'openssl pkcs12'], [p7b, 'PKCS#7', 'openssl pkcs7'], [p7der, 'PKCS#7', 'openssl pkcs7']] as const) {
      const run = await runCli(['certs', 'inspect', file, '--json'])
      assert.equal(run.code, 2, run.stdout)
      assert.equal(run.json.error.code, 'INPUT_INVALID')
      assert.equal(run.json.error.subject, file)
      assert.ok(run.json.error.message.includes(kind), run.json.error.message)
      assert.ok(run.json.error.hint.includes(tool), run.json.error.hint)
    }
  })

  it('a PEM block that is not a certificate: an input error naming the block; text between blocks is skipped', async () => {
    const garbage = join(dir, 'garbage.pem')
    await writeFile(garbage, `${await readFile(good.cert, 'utf8')}some notes\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n`)
    const run = await runCli(['certs', 'inspect', garbage, '--json'])
    assert.equal(run.code, 2)
    assert.equal(run.json.error.subject, `${garbage}#2`)
    const notes = join(dir, 'notes.pem')
    await writeFile(notes, `subject=CN=wallaroo\n${await readFile(good.cert, 'utf8')}issuer notes\n${await readFile(ca.cert, 'utf8')}`)
    const ok = await runCli(['certs', 'inspect', notes, '--ca', ca.cert, '--json'])
    assert.deepEqual(severities(ok.json, 'chain'), ['ok'], JSON.stringify(ok.json.findings))
  })

  it('a self-signed server certificate pinned as its own --ca: accepted as openssl and Node accept it, not failed as a CA', async () => {
    const key = join(dir, 'pinned.key')
    const cert = join(dir, 'pinned.crt')
    await opensslOk(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '30', '-subj', `/CN=${DOMAIN}`,
      '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'keyUsage=critical,digitalSignature', '-addext', 'extendedKeyUsage=serverAuth', '-addext', `subjectAltName=DNS:${DOMAIN}`])
    await opensslOk(['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', cert, cert])
    const run = await runCli(['certs', 'inspect', cert, '--ca', cert, '--domain', DOMAIN, '--json'])
    assert.deepEqual(severities(run.json, 'chain'), ['ok'], JSON.stringify(run.json.findings))
    assert.deepEqual(severities(run.json, 'ca'), ['ok'])
    assert.notEqual(run.json.verdict, 'fail')
  })

  it('a SAN ending with a dot fails (openssl and Python match it to nothing); an IDN --domain is matched in its xn-- form', async () => {
    const dotted = await opensslLeaf(dir, ca, {name: 'dotted', sans: [`DNS:${DOMAIN}.`]})
    const run = await runCli(['certs', 'inspect', dotted.cert, '--domain', DOMAIN, '--json'])
    assert.equal(run.code, 1)
    assert.deepEqual(severities(run.json, 'san'), ['fail'])
    assert.deepEqual(severities(run.json, 'domain'), ['fail'])
    const idn = await opensslLeaf(dir, ca, {name: 'idn', sans: ['DNS:xn--bcher-kva.example']})
    const unicode = await runCli(['certs', 'inspect', idn.cert, '--domain', 'bücher.example', '--json'])
    assert.deepEqual(severities(unicode.json, 'domain'), ['ok'], JSON.stringify(unicode.json.findings))
  })

  it('serials: a negative one fails (Go clients refuse it), zero and over 20 octets warn, as openssl prints them', async () => {
    const cases = [['-5', 'fail', '-05'], ['0', 'warn', '00'], [`0x${'ab'.repeat(21)}`, 'warn', 'ab'.repeat(21)]] as const
    for (const [serial, severity, printed] of cases) {
      const name = `serial${serial.length}`
      const made = await opensslLeaf(dir, ca, {name, sans: [`DNS:${DOMAIN}`], serial})
      const run = await runCli(['certs', 'inspect', made.cert, '--json'])
      assert.deepEqual(severities(run.json, 'serial'), [severity], JSON.stringify(run.json.findings))
      assert.equal(run.json.objects[0].serial, printed)
      const shown = (await opensslOk(['x509', '-in', made.cert, '-noout', '-serial'])).trim().toLowerCase()
      assert.equal(shown, `serial=${printed}`)
    }
  })

  it('--ca with a bundle of roots (as the system keeps them): only the root that issued the certificate is judged, named by its place in the file', async () => {
    // an old-style root without keyUsage, which openssl -x509_strict would refuse, but which issued nothing given here
    const oldKey = join(dir, 'old-root.key')
    const oldRoot = join(dir, 'old-root.crt')
    await opensslOk(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', oldKey, '-out', oldRoot, '-days', '30', '-subj', '/CN=Old Root', '-addext', 'basicConstraints=critical,CA:TRUE'])
    const bundle = join(dir, 'roots.pem')
    await writeFile(bundle, (await readFile(oldRoot, 'utf8')) + (await readFile(ca.cert, 'utf8')))
    const run = await runCli(['certs', 'inspect', good.cert, '--ca', bundle, '--domain', DOMAIN, '--json'])
    assert.equal(run.code, 0, JSON.stringify(run.json.findings))
    const judged = run.json.findings.filter((f: Finding) => f.check === 'ca')
    assert.deepEqual(judged.map((f: Finding) => [f.subject, f.severity]), [[`${bundle}#2`, 'ok']])
    assert.deepEqual(severities(run.json, 'chain'), ['ok'])
    // given alone, the old root is judged, and fails as openssl -x509_strict would
    const alone = await runCli(['certs', 'inspect', oldRoot, '--ca', oldRoot, '--json'])
    assert.ok(severities(alone.json, 'ca').includes('fail'), JSON.stringify(alone.json.findings))
  })

  it('an intermediate as the only --ca: the chain fails as openssl, Node and Python refuse it, and the message asks for the root', async () => {
    const interKey = join(dir, 'inter.key')
    const interCsr = join(dir, 'inter.csr')
    const inter = join(dir, 'inter.crt')
    const ext = join(dir, 'inter.ext')
    await opensslOk(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', interKey, '-out', interCsr, '-subj', '/CN=Issuing CA'])
    await writeFile(ext, 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n')
    await opensslOk(['x509', '-req', '-in', interCsr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '30', '-extfile', ext, '-out', inter])
    const leaf = await opensslLeaf(dir, {cert: inter, key: interKey}, {name: 'under-inter', sans: [`DNS:${DOMAIN}`]})
    const chain = join(dir, 'under-inter.chain.pem')
    await writeFile(chain, (await readFile(leaf.cert, 'utf8')) + (await readFile(inter, 'utf8')))
    const run = await runCli(['certs', 'inspect', chain, '--ca', inter, '--json'])
    assert.equal(run.code, 1)
    const chainFinding = run.json.findings.find((f: Finding & {message: string}) => f.check === 'chain')
    assert.equal(chainFinding.severity, 'fail')
    assert.match(chainFinding.message, /"CN=Issuing CA", which is trusted but is an intermediate CA, not a root/)
    const withRoot = await runCli(['certs', 'inspect', chain, '--ca', ca.cert, '--json'])
    assert.deepEqual(severities(withRoot.json, 'chain'), ['ok'], JSON.stringify(withRoot.json.findings))
  })
})
