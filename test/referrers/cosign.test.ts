import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {readdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {loadCosignKey, verifyCosignSignature} from '../../src/referrers/cosign.js'
import type {FoundReferrer} from '../../src/referrers/discover.js'
import {rejectsWithCode} from '../support/assert.js'
import {craftTar, readTarEntries} from '../support/bundles.js'
import {runCli} from '../support/cli.js'
import {tempDir} from '../support/registry.js'
import {cosignSignature, getSupplyFixture, pushArtifact, writeSpec, type Artifact, type SupplyFixture} from './fixture.js'

const run = promisify(execFile)
const env = {REGISTRY_AUTH_FILE: '/nonexistent', XDG_RUNTIME_DIR: '/nonexistent', DOCKER_CONFIG: '/nonexistent', AIRLOCK_REGISTRY_BACKOFF_MS: '20'}

/** A signature artifact as discovery hands it over, for checks that need no registry. */
function found(a: Artifact, subject: string): FoundReferrer {
  return {bytes: a.bytes, record: {digest: a.digest, mediaType: a.mediaType, size: a.size, artifactType: 'application/vnd.oci.image.config.v1+json', kind: 'signature', subject, via: 'cosign-tag', tag: `${subject.replace(':', '-')}.sig`, blobs: a.blobs}}
}

function readerOf(a: Artifact) {
  return async (digest: string) => {
    const b = a.blobs.find((x) => x.digest === digest)
    if (!b) throw new Error(`no blob ${digest}`)
    return b.data
  }
}

describe('upstream cosign signatures at build', function () {
  this.timeout(180_000)
  let f: SupplyFixture

  before(async () => {
    f = await getSupplyFixture()
  })

  const build = async (spec: string, out: string) => runCli(['bundle', 'build', spec, '--key', f.keys.key, '--out', out, '--insecure-registry', f.upstream.host, '--json'], {env})

  it('a signature that does not verify with the required key fails the build naming the image (exit 3), and leaves no file', async () => {
    const dir = await tempDir('cosign-wrong')
    const spec = await writeSpec(dir, [`{ref: "${f.upstream.host}/team/signed:1.0", verify: {cosignKey: ${f.otherPub}}}`])
    const out = join(dir, 'wrong.tar')
    const r = await build(spec, out)
    assert.equal(r.code, 3, r.stdout + r.stderr)
    assert.equal(r.json.error.code, 'SIGNATURE_INVALID')
    assert.equal(r.json.error.subject, `${spec}#spec.images[0]`)
    assert.match(r.json.error.message, /team\/signed:1\.0/)
    assert.deepEqual((await readdir(dir)).filter((n) => n.startsWith('wrong.tar')), [])
  })

  it('spec.verify requires every image to be signed: an image without a signature fails with SIGNATURE_MISSING', async () => {
    const dir = await tempDir('cosign-missing')
    const spec = await writeSpec(dir, [`${f.upstream.host}/team/signed:1.0`, `${f.upstream.host}/team/multi:1.0`], `  verify: {cosignKey: ${f.cosignPub}}\n`)
    const r = await build(spec, join(dir, 'missing.tar'))
    assert.equal(r.code, 3, r.stdout + r.stderr)
    assert.equal(r.json.error.code, 'SIGNATURE_MISSING')
    assert.equal(r.json.error.subject, `${spec}#spec.images[1]`)
  })

  it('an image entry\'s own verify wins over spec.verify', async () => {
    const dir = await tempDir('cosign-own')
    const spec = await writeSpec(dir, [`{ref: "${f.upstream.host}/team/signed:1.0", verify: {cosignKey: ${f.cosignPub}}}`], `  verify: {cosignKey: ${f.otherPub}}\n`)
    const r = await build(spec, join(dir, 'own.tar'))
    assert.equal(r.code, 0, r.stdout + r.stderr)
  })

  it('a genuine signature by the key over another image, re-tagged onto this one, fails (replayed signature)', async () => {
    // the publisher's real signature of team/signed, pushed as the .sig of team/plain
    const replay = await cosignSignature(await tempDir('replay'), f.cosignKey, `${f.upstream.host}/team/signed`, f.signed.manifest.digest)
    await pushArtifact(f.upstream.host, 'team/plain', replay, `${f.unsigned.manifest.digest.replace(':', '-')}.sig`)
    const dir = await tempDir('cosign-replay')
    const spec = await writeSpec(dir, [`{ref: "${f.upstream.host}/team/plain:1.0", verify: {cosignKey: ${f.cosignPub}}}`])
    const r = await build(spec, join(dir, 'replay.tar'))
    assert.equal(r.code, 3, r.stdout + r.stderr)
    assert.equal(r.json.error.code, 'SIGNATURE_INVALID')
    assert.match(r.json.error.message, new RegExp(`signs ${f.signed.manifest.digest}`))
  })

  it('verifies RSA keys (PKCS#1 v1.5, SHA-256, as cosign signs) and refuses keys cosign does not use', async () => {
    const dir = await tempDir('cosign-rsa')
    await run('openssl', ['genrsa', '-out', join(dir, 'rsa.key'), '3072'])
    await run('openssl', ['rsa', '-in', join(dir, 'rsa.key'), '-pubout', '-out', join(dir, 'rsa.pub')])
    const digest = f.signed.manifest.digest
    const sig = await cosignSignature(dir, join(dir, 'rsa.key'), 'example.com/app', digest)
    const key = await loadCosignKey(join(dir, 'rsa.pub'), 'k')
    const ok = await verifyCosignSignature({name: 'example.com/app', digest, subject: 's', key, keyPath: 'rsa.pub', found: [found(sig, digest)], readBlob: readerOf(sig)})
    assert.equal(ok.signature, sig.digest)
    assert.equal(ok.dockerReference, 'example.com/app')
    // one altered byte of the payload: the signature no longer verifies
    const altered: Artifact = {...sig, blobs: sig.blobs.map((b) => (b.mediaType.includes('simplesigning') ? {...b, data: Buffer.from(b.data.toString().replace('cosign container', 'cosign-container'))} : b))}
    await rejectsWithCode(verifyCosignSignature({name: 'example.com/app', digest, subject: 's', key, keyPath: 'rsa.pub', found: [found(altered, digest)], readBlob: readerOf(altered)}), 'SIGNATURE_INVALID', 's')

    await run('openssl', ['ecparam', '-name', 'secp384r1', '-genkey', '-noout', '-out', join(dir, 'p384.key')])
    await run('openssl', ['ec', '-in', join(dir, 'p384.key'), '-pubout', '-out', join(dir, 'p384.pub')])
    await rejectsWithCode(loadCosignKey(join(dir, 'p384.pub'), 'spec.verify.cosignKey'), 'KEY_INVALID', 'spec.verify.cosignKey')
    await writeFile(join(dir, 'junk.pub'), 'not a key\n')
    await rejectsWithCode(loadCosignKey(join(dir, 'junk.pub'), 'spec.verify.cosignKey'), 'KEY_INVALID', 'spec.verify.cosignKey')
  })

  it('bundle verify checks referrer blobs like every blob: one altered byte of a signature payload fails it (exit 3)', async () => {
    const dir = await tempDir('referrer-tamper')
    const spec = await writeSpec(dir, [`${f.upstream.host}/team/signed:1.0`])
    const good = join(dir, 'good.tar')
    const b = await build(spec, good)
    assert.equal(b.code, 0, b.stderr + b.stdout)
    const ok = await runCli(['bundle', 'verify', good, '--trust', f.keys.pub, '--json'])
    assert.equal(ok.code, 0, ok.stderr)
    const payload = f.signature.blobs.find((x) => x.mediaType.includes('simplesigning'))!
    const path = `supply-1.0.0/images/blobs/sha256/${payload.digest.slice(7)}`
    const entries = await readTarEntries(good)
    const target = entries.find((e) => e.path === path)
    assert.ok(target?.body, `${path} is in the bundle`)
    const body = Buffer.from(target.body)
    body[10] = (body[10] as number) ^ 0x01
    target.body = body
    const bad = join(dir, 'bad.tar')
    await writeFile(bad, craftTar(entries))
    const r = await runCli(['bundle', 'verify', bad, '--trust', f.keys.pub, '--json'])
    assert.equal(r.code, 3, r.stdout)
    assert.equal(r.json.error.code, 'DIGEST_MISMATCH')
    assert.match(r.json.error.subject, new RegExp(payload.digest.slice(7)))
  })
})
