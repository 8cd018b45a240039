import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {buildTestBundle} from '../support/bundles.js'
import {runCli} from '../support/cli.js'
import {inspectDigest, skopeo} from '../support/registry.js'
import {authEnv, getFixture, writeImageSpec, type Fixture} from './fixture.js'

const run = promisify(execFile)

describe('images push', function () {
  this.timeout(180_000)
  let f: Fixture
  let bundle: string
  let env: NodeJS.ProcessEnv

  before(async () => {
    f = await getFixture()
    env = authEnv(f.authFile)
    const spec = await writeImageSpec(f.dir, [`${f.plain.host}/team/app1:1.0`, `${f.plain.host}/team/app2:1.0`, `{ref: "${f.plain.host}/team/tool:2.0", platforms: [all]}`, `{ref: "${f.plain.host}/team/tool@${f.indexDigest}", platforms: [linux/arm64]}`])
    bundle = join(f.dir, 'push.tar')
    const r = await runCli(['bundle', 'build', spec, '--key', f.keys.key, '--out', bundle, '--insecure-registry', f.plain.host, '--json'], {env})
    assert.equal(r.code, 0, r.stderr + r.stdout)
  })

  it('lists the images with digests, platforms and shared bytes', async () => {
    const r = await runCli(['images', 'list', bundle, '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(r.json.images.map((i: {digest: string}) => i.digest).slice(0, 3), [f.app1.manifest.digest, f.app2.manifest.digest, f.indexDigest])
    const shared = f.app1.layers[0]!.size + f.app1.layers[1]!.size
    assert.ok(r.json.images[0].sharedBytes >= shared)
    assert.deepEqual(r.json.images[3].platforms, ['linux/arm64/v8'])
  })

  it('pushes every image with its digest into a TLS registry with basic auth; a second run uploads nothing', async () => {
    const args = ['images', 'push', bundle, '--registry', `${f.secure.host}/mirror`, '--registry-ca', f.pki.caCert, '--trust', f.keys.pub, '--json']
    const r = await runCli(args, {env: {...env, AIRLOCK_UPLOAD_CHUNK_BYTES: '100000'}})
    assert.equal(r.code, 0, r.stderr + r.stdout)
    assert.equal(r.json.verified, true)
    assert.ok(r.json.blobs.mounted >= 2, 'app2 mounts the base layers app1 uploaded')
    const dest = r.json.images.map((i: {destination: string}) => i.destination)
    assert.equal(dest[0], `${f.secure.host}/mirror/team/app1:1.0@${f.app1.manifest.digest}`)
    const auth = {creds: 'airlock:secret-pass', certDir: f.certDir}
    assert.equal(await inspectDigest(`${f.secure.host}/mirror/team/app1:1.0`, auth), f.app1.manifest.digest)
    assert.equal(await inspectDigest(`${f.secure.host}/mirror/team/app2:1.0`, auth), f.app2.manifest.digest)
    assert.equal(await inspectDigest(`${f.secure.host}/mirror/team/tool:2.0`, auth), f.indexDigest)
    // The arm64-only image was bundled as a narrowed index: its new digest is reported and pushed.
    const narrowed = r.json.images[3]
    assert.equal(narrowed.digestChanged, true)
    assert.equal(narrowed.sourceDigest, f.indexDigest)
    assert.equal(await inspectDigest(`${f.secure.host}/mirror/team/tool@${narrowed.digest}`, auth), narrowed.digest)
    // Everything is readable: skopeo copies the multi-arch image back out, every blob included.
    await skopeo(['copy', '--all', '--quiet', '--src-creds', 'airlock:secret-pass', '--src-cert-dir', f.certDir, `docker://${f.secure.host}/mirror/team/tool:2.0`, `oci:${join(f.dir, 'pulled')}:tool`])

    const again = await runCli(args, {env})
    assert.equal(again.code, 0, again.stderr)
    assert.deepEqual(again.json.blobs, {uploaded: 0, uploadedBytes: 0, mounted: 0, present: r.json.blobs.uploaded + r.json.blobs.mounted + r.json.blobs.present})
    assert.equal(again.json.manifests.pushed, 0)
  })

  it('pushes into an anonymous plain-HTTP registry without a prefix, with --no-verify', async () => {
    const r = await runCli(['images', 'push', bundle, '--registry', f.plain.host, '--insecure-registry', f.plain.host, '--no-verify', '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.verified, false)
    assert.equal(await inspectDigest(`${f.plain.host}/team/app2:1.0`), f.app2.manifest.digest)
  })

  it('pushes into a bearer-token registry with push scopes', async () => {
    const r = await runCli(['images', 'push', bundle, '--registry', `${f.tokened.host}/site`, '--insecure-registry', f.tokened.host, '--trust', f.keys.pub, '--json'], {env})
    assert.equal(r.code, 0, r.stderr + r.stdout)
    assert.ok(f.tokens.requests.some((q) => q.scopes.includes('repository:site/team/app1:pull,push')))
    assert.equal(await inspectDigest(`${f.tokened.host}/site/team/app1:1.0`, {creds: 'airlock:secret-pass'}), f.app1.manifest.digest)
  })

  it('refuses a gzip bundle with a hint to decompress it (exit 2)', async () => {
    await run('sh', ['-c', `gzip -c '${bundle}' > '${bundle}.gz'`])
    const r = await runCli(['images', 'push', `${bundle}.gz`, '--registry', f.plain.host, '--no-verify', '--json'])
    assert.equal(r.code, 2)
    assert.equal(r.json.error.code, 'INPUT_INVALID')
    assert.match(r.json.error.hint, /gzip -d/)
  })

  it('requires a trusted signer unless --no-verify (exit 2), and refuses an untrusted one (exit 3)', async () => {
    const none = await runCli(['images', 'push', bundle, '--registry', f.plain.host, '--json'])
    assert.equal(none.code, 2)
    assert.equal(none.json.error.code, 'USAGE')
    const other = await runCli(['images', 'push', bundle, '--registry', f.plain.host, '--trust-fingerprint', `sha256:${'0'.repeat(64)}`, '--json'])
    assert.equal(other.code, 3, other.stderr + other.stdout)
  })

  it('pushes nothing from a bundle without images, and says so', async () => {
    const dir = join(f.dir, 'no-images')
    const {mkdir} = await import('node:fs/promises')
    await mkdir(dir)
    const plain = await buildTestBundle(dir, f.keys)
    const r = await runCli(['images', 'push', plain, '--registry', f.plain.host, '--insecure-registry', f.plain.host, '--trust', f.keys.pub, '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(r.json.images, [])
  })

  it('refuses a malformed --registry (exit 2)', async () => {
    const r = await runCli(['images', 'push', bundle, '--registry', 'host:5000/Bad Prefix', '--no-verify', '--json'])
    assert.equal(r.code, 2)
    assert.equal(r.json.error.subject, '--registry')
  })
})
