import {strict as assert} from 'node:assert'
import {existsSync} from 'node:fs'
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {writeFilesSpec} from '../support/bundles.js'
import {makeTempDir, runCli} from '../support/cli.js'
import {openssl, opensslOk} from './support.js'

/*
 * certs issue signs only what a careful CA would, and issues signer certificates that signer trust
 * (and openssl with the codeSigning check VERIFY.txt makes) accepts.
 */

describe('certs issue: profiles and refusals', function () {
  this.timeout(120_000)
  let dir: string
  let ca: {cert: string; key: string}

  before(async () => {
    dir = await makeTempDir()
    ca = {cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key')}
    // a P-384 CA made by openssl: airlock must sign with it (ecdsa-with-SHA384)
    await opensslOk(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-nodes', '-keyout', ca.key, '-out', ca.cert, '-days', '30', '-subj', '/CN=P-384 test CA', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
  })

  it('--profile signer certifies a signing key: digitalSignature + codeSigning, accepted by openssl and by bundle verify --trust', async () => {
    const keys = join(dir, 'keys')
    assert.equal((await runCli(['keys', 'generate', '--out', join(keys, 'release')])).code, 0)
    const issued = await runCli(['certs', 'issue', '--profile', 'signer', '--ca-cert', ca.cert, '--ca-key', ca.key, '--public-key', join(keys, 'release.pub'), '--name', 'Acme release', '--out', keys, '--json'])
    assert.equal(issued.code, 0, issued.stderr)
    const text = await opensslOk(['x509', '-in', issued.json.cert, '-noout', '-text'])
    assert.match(text, /Digital Signature/)
    assert.match(text, /Code Signing/)
    assert.match(text, /ecdsa-with-SHA384/)
    assert.doesNotMatch(text, /TLS Web Server Authentication/)
    const verified = await openssl(['verify', '-x509_strict', '-purpose', 'any', '-CAfile', ca.cert, issued.json.cert])
    assert.equal(verified.code, 0, verified.stderr)
    const spec = await writeFilesSpec(join(dir, 'spec'), {'a.txt': 'a\n'})
    const out = join(dir, 'signed.tar')
    const built = await runCli(['bundle', 'build', spec, '--key', join(keys, 'release.key'), '--cert', issued.json.fullchain, '--out', out, '--json'])
    assert.equal(built.code, 0, built.stderr)
    const v = await runCli(['bundle', 'verify', out, '--trust', ca.cert, '--json'])
    assert.equal(v.code, 0, v.stderr)
    assert.equal(v.json.signer.trustedBy, 'ca')
  })

  it('refuses to issue what the CA\'s nameConstraints forbid (openssl would refuse the result), and issues what they permit', async () => {
    const nc = {cert: join(dir, 'nc.crt'), key: join(dir, 'nc.key')}
    await opensslOk(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', nc.key, '-out', nc.cert, '-days', '30', '-subj', '/CN=Constrained CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-addext', 'nameConstraints=critical,permitted;DNS:.example.com'])
    const refused = await runCli(['certs', 'issue', '--ca-cert', nc.cert, '--ca-key', nc.key, '--domain', 'platform.other.org', '--out', join(dir, 'nc-out'), '--json'])
    assert.equal(refused.code, 2, refused.stdout)
    assert.match(refused.json.error.message, /outside the names "CN=Constrained CA" permits/)
    assert.match(refused.json.error.hint, /nameConstraints/)
    assert.ok(!existsSync(join(dir, 'nc-out', 'platform.other.org.crt')), 'nothing written')
    const issued = await runCli(['certs', 'issue', '--ca-cert', nc.cert, '--ca-key', nc.key, '--domain', 'platform.example.com', '--out', join(dir, 'nc-out'), '--json'])
    assert.equal(issued.code, 0, issued.stdout)
    const judged = await openssl(['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', nc.cert, issued.json.cert])
    assert.equal(judged.code, 0, judged.stderr)
    // the same CA made to sign an outside name by openssl: openssl refuses the result, and so does the review
    const csr = join(dir, 'outside.csr')
    const ext = join(dir, 'outside.ext')
    const leaf = join(dir, 'outside.crt')
    await opensslOk(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'outside.key'), '-out', csr, '-subj', '/CN=x.other.org'])
    await writeFile(ext, 'subjectAltName=DNS:x.other.org\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n')
    await opensslOk(['x509', '-req', '-in', csr, '-CA', nc.cert, '-CAkey', nc.key, '-set_serial', '0x2b7e151628aed2a6abf7158809cf4f3c', '-out', leaf, '-days', '10', '-extfile', ext])
    assert.notEqual((await openssl(['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', nc.cert, leaf])).code, 0)
    const review = await runCli(['certs', 'inspect', leaf, '--ca', nc.cert, '--domain', 'x.other.org', '--json'])
    assert.equal(review.code, 1)
    assert.ok(review.json.findings.some((f: {check: string; severity: string; message: string}) => f.check === 'chain' && f.severity === 'fail' && /permits \(\.example\.com\)/.test(f.message)), JSON.stringify(review.json.findings))
  })

  it('refuses more than 398 days without --allow-long-validity, and says why', async () => {
    const args = ['certs', 'issue', '--ca-cert', ca.cert, '--ca-key', ca.key, '--domain', 'long.example.com', '--days', '800', '--out', join(dir, 'long'), '--json']
    const refused = await runCli(args)
    assert.equal(refused.code, 2)
    assert.equal(refused.json.error.subject, '--days')
    assert.match(refused.json.error.message, /398/)
    assert.ok(!existsSync(join(dir, 'long')), 'nothing written')
    const allowed = await runCli([...args, '--allow-long-validity'])
    assert.equal(allowed.code, 0, allowed.stderr)
  })

  it('refuses a CSR asking for DNS:* or *.com or for email/URI names (never dropped in silence), and a CSR with CN=.. cannot write outside --out', async () => {
    for (const [name, san] of [['star', 'DNS:*'], ['tld', 'DNS:*.com'], ['email', 'DNS:ok.example.com,email:ops@example.com'], ['uri', 'DNS:ok.example.com,URI:https://example.com/']] as const) {
      const csr = join(dir, `${name}.csr`)
      await opensslOk(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, `${name}.key`), '-out', csr, '-subj', '/CN=ok.example.com', '-addext', `subjectAltName=${san}`])
      const r = await runCli(['certs', 'issue', '--ca-cert', ca.cert, '--ca-key', ca.key, '--csr', csr, '--out', join(dir, name), '--json'])
      assert.equal(r.code, 3, r.stdout)
      assert.equal(r.json.error.code, 'CSR_INVALID')
      assert.ok(!existsSync(join(dir, name)))
    }
    const csr = join(dir, 'dots.csr')
    await opensslOk(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'dots.key'), '-out', csr, '-subj', '/CN=..', '-addext', 'subjectAltName=DNS:dots.example.com'])
    const out = join(dir, 'deep', 'out')
    const r = await runCli(['certs', 'issue', '--ca-cert', ca.cert, '--ca-key', ca.key, '--csr', csr, '--out', out, '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.cert, join(out, 'dots.example.com.crt'))
    assert.ok(!existsSync(join(dir, '..crt')) && !existsSync(join(dir, 'deep', '..crt')))
    assert.match(await readFile(r.json.cert, 'utf8'), /BEGIN CERTIFICATE/)
  })

  it('a CSR signed with RSA-PSS (openssl req -sigopt rsa_padding_mode:pss): its signature verifies, the review passes it and certs issue certifies it; a tampered one is refused', async () => {
    const key = join(dir, 'pss.key')
    const csr = join(dir, 'pss.csr')
    await opensslOk(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=pss.example.com', '-addext', 'subjectAltName=DNS:pss.example.com', '-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:32', '-sha256'])
    await opensslOk(['req', '-in', csr, '-verify', '-noout'])
    const review = await runCli(['certs', 'inspect', csr, '--json'])
    assert.deepEqual(review.json.findings.filter((f: {check: string}) => f.check === 'csr-signature').map((f: {severity: string}) => f.severity), ['ok'], JSON.stringify(review.json.findings))
    const issued = await runCli(['certs', 'issue', '--ca-cert', ca.cert, '--ca-key', ca.key, '--csr', csr, '--out', join(dir, 'pss-out'), '--json'])
    assert.equal(issued.code, 0, issued.stdout)
    const derFile = join(dir, 'pss.csr.der')
    await opensslOk(['req', '-in', csr, '-outform', 'DER', '-out', derFile])
    const bytes = await readFile(derFile)
    bytes.writeUInt8((bytes.at(-3) ?? 0) ^ 1, bytes.length - 3)
    const tampered = join(dir, 'pss-tampered.csr.der')
    await writeFile(tampered, bytes)
    const refused = await runCli(['certs', 'issue', '--ca-cert', ca.cert, '--ca-key', ca.key, '--csr', tampered, '--out', join(dir, 'pss-bad'), '--json'])
    assert.equal(refused.code, 3, refused.stdout)
    assert.equal(refused.json.error.code, 'CSR_INVALID')
  })
})
