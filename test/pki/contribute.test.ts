import {strict as assert} from 'node:assert'
import {spawnSync} from 'node:child_process'
import {mkdir, readFile, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {makeTempDir, removeTempDir, runCli} from '../support/cli.js'
import {opensslOk} from './support.js'

/*
 * spec.tls through a real `bundle build`: what lands under tls/, checked with tar and openssl, and the
 * private key beside the bundle (0600), never inside it.
 */

const DOMAIN = 'wallaroo.example.com'

function tarList(bundle: string): string[] {
  const run = spawnSync('tar', ['-tf', bundle], {encoding: 'utf8'})
  assert.equal(run.status, 0, run.stderr)
  return run.stdout.split('\n').filter(Boolean)
}

function tarExtract(bundle: string, to: string): void {
  const run = spawnSync('tar', ['-xf', bundle, '-C', to], {encoding: 'utf8'})
  assert.equal(run.status, 0, run.stderr)
}

async function writeSpec(dir: string, tls: string): Promise<string> {
  const path = join(dir, 'spec.yaml')
  await writeFile(path, `apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: tlsdemo, version: 1.0.0}\nspec:\n  tls: ${tls}\n`)
  return path
}

describe('bundle build with spec.tls', function () {
  this.timeout(180_000)
  let dir: string
  let signKey: string

  after(() => removeTempDir(dir))
  before(async () => {
    dir = await makeTempDir()
    const keys = await runCli(['keys', 'generate', '--out', join(dir, 'sign'), '--json'])
    assert.equal(keys.code, 0, keys.stderr)
    signKey = keys.json.privateKey
  })

  async function build(name: string, tls: string, extra: string[] = []): Promise<{run: Awaited<ReturnType<typeof runCli>>; out: string; bundle: string; root: string}> {
    const out = join(dir, name)
    await mkdir(out, {recursive: true})
    const spec = await writeSpec(out, tls)
    const bundle = join(out, 'bundle.tar')
    const run = await runCli(['bundle', 'build', spec, '--key', signKey, '--out', bundle, ...extra])
    return {run, out, bundle, root: join(out, 'x', 'tlsdemo-1.0.0')}
  }

  async function assertKeyBeside(out: string, bundle: string, stderr: string): Promise<void> {
    const key = join(out, `${DOMAIN}.key`)
    assert.equal((await stat(key)).mode & 0o777, 0o600)
    assert.ok(stderr.includes(key), 'the build prints where the key is')
    await opensslOk(['pkey', '-check', '-noout', '-in', key])
    const tar = await readFile(bundle)
    assert.ok(!tar.includes(Buffer.from('PRIVATE KEY')), 'no private key inside the bundle')
    const pem = await readFile(key, 'utf8')
    for (const line of pem.split('\n').filter((l) => l && !l.startsWith('-----'))) assert.ok(!tar.includes(Buffer.from(line)))
  }

  it('mode csr: tls/D.csr and tls/REVIEW.md; openssl req -verify accepts the CSR', async () => {
    const {run, out, bundle, root} = await build('csr', `{domain: ${DOMAIN}, sans: [api.${DOMAIN}, 10.0.0.5], mode: csr, subject: "O=Acme Inc,C=US"}`)
    assert.equal(run.code, 0, run.stderr)
    const entries = tarList(bundle)
    assert.ok(entries.includes(`tlsdemo-1.0.0/tls/${DOMAIN}.csr`))
    assert.ok(entries.includes('tlsdemo-1.0.0/tls/REVIEW.md'))
    assert.ok(!entries.some((e) => e.endsWith('.key')))
    await mkdir(join(out, 'x'))
    tarExtract(bundle, join(out, 'x'))
    const text = await opensslOk(['req', '-in', join(root, 'tls', `${DOMAIN}.csr`), '-verify', '-noout', '-text'])
    assert.match(text, /verify OK/)
    assert.match(text, /Public-Key: \(3072 bit\)/, 'RSA 3072 by default')
    assert.match(text, /DNS:wallaroo\.example\.com, DNS:api\.wallaroo\.example\.com, IP Address:10\.0\.0\.5/)
    const review = await readFile(join(root, 'tls', 'REVIEW.md'), 'utf8')
    assert.match(review, /Verdict: \*\*(PASS|WARN)\*\*/)
    assert.match(review, /\| ok \| csr-signature \|/)
    const manifest = JSON.parse(await readFile(join(root, 'manifest.json'), 'utf8'))
    assert.equal(manifest.files.find((f: {path: string}) => f.path === `tls/${DOMAIN}.csr`)?.role, 'tls')
    await assertKeyBeside(out, bundle, run.stderr)
  })

  it('mode self-signed: certificate, chain and one-off CA; openssl verify -x509_strict passes', async () => {
    const {run, out, bundle, root} = await build('self', `{domain: ${DOMAIN}, mode: self-signed, keyType: ecdsa-p256, days: 90}`)
    assert.equal(run.code, 0, run.stderr)
    const entries = tarList(bundle)
    for (const name of [`${DOMAIN}.crt`, `${DOMAIN}.fullchain.pem`, 'ca.crt', 'REVIEW.md']) assert.ok(entries.includes(`tlsdemo-1.0.0/tls/${name}`), name)
    await mkdir(join(out, 'x'))
    tarExtract(bundle, join(out, 'x'))
    const verified = await opensslOk(['verify', '-CAfile', join(root, 'tls', 'ca.crt'), '-purpose', 'sslserver', '-x509_strict', join(root, 'tls', `${DOMAIN}.crt`)])
    assert.match(verified, /OK/)
    const review = await readFile(join(root, 'tls', 'REVIEW.md'), 'utf8')
    assert.match(review, /\| ok \| chain \|/)
    assert.match(review, /\| ok \| key-match \|/)
    await assertKeyBeside(out, bundle, run.stderr)
    const verify = await runCli(['bundle', 'verify', bundle, '--trust', join(dir, 'sign.pub'), '--json'])
    assert.equal(verify.code, 0, verify.stdout)
  })

  it('mode ca: issued by --tls-ca-cert/--tls-ca-key, chain to that CA', async () => {
    const ca = await runCli(['certs', 'ca', '--name', 'Org CA', '--key-type', 'ecdsa-p256', '--out', join(dir, 'orgca'), '--json'])
    assert.equal(ca.code, 0, ca.stderr)
    const {run, out, bundle, root} = await build('ca', `{domain: ${DOMAIN}, mode: ca, keyType: ecdsa-p256}`, ['--tls-ca-cert', ca.json.cert, '--tls-ca-key', ca.json.key])
    assert.equal(run.code, 0, run.stderr)
    await mkdir(join(out, 'x'))
    tarExtract(bundle, join(out, 'x'))
    assert.equal(await readFile(join(root, 'tls', 'ca.crt'), 'utf8'), await readFile(ca.json.cert, 'utf8'))
    await opensslOk(['verify', '-CAfile', ca.json.cert, '-purpose', 'sslserver', '-x509_strict', join(root, 'tls', `${DOMAIN}.fullchain.pem`)])
    await assertKeyBeside(out, bundle, run.stderr)
  })

  it('mode ca without the CA flags is a usage error naming the flag; an existing key is never replaced', async () => {
    const missing = await build('noflags', `{domain: ${DOMAIN}, mode: ca}`, ['--json'])
    assert.equal(missing.run.code, 2)
    assert.equal(missing.run.json.error.subject, '--tls-ca-cert')
    const out = join(dir, 'again')
    await mkdir(out, {recursive: true})
    await writeFile(join(out, `${DOMAIN}.key`), 'an earlier key\n', {mode: 0o600})
    const again = await build('again', `{domain: ${DOMAIN}, mode: csr, keyType: ecdsa-p256}`, ['--json'])
    assert.equal(again.run.code, 2)
    assert.equal(again.run.json.error.code, 'FILE_EXISTS')
    assert.equal(again.run.json.error.subject, join(out, `${DOMAIN}.key`))
    assert.equal(await readFile(join(out, `${DOMAIN}.key`), 'utf8'), 'an earlier key\n')
  })
})
