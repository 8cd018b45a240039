import assert from 'node:assert/strict'
import {join} from 'node:path'

import {runCli} from '../support/cli.js'
import {startFaultProxy, startStorageHost} from '../support/registry.js'
import {authEnv, getFixture, writeImageSpec, type Fixture} from './fixture.js'

describe('image transfer faults', function () {
  this.timeout(180_000)
  let f: Fixture
  let env: NodeJS.ProcessEnv

  before(async () => {
    f = await getFixture()
    env = authEnv(f.authFile)
  })

  async function build(proxyHost: string, name: string, image = 'team/app1:1.0', extraEnv: NodeJS.ProcessEnv = {}) {
    const spec = await writeImageSpec(f.dir, [`${proxyHost}/${image}`])
    const out = join(f.dir, `${name}.tar`)
    const r = await runCli(['bundle', 'build', spec, '--key', f.keys.key, '--out', out, '--insecure-registry', proxyHost, '--json'], {env: {...env, ...extraEnv}})
    return {r, out}
  }

  it('a flipped byte in a blob stops the build with DIGEST_MISMATCH naming the image and digest (exit 3)', async () => {
    const layer = f.app1.layers[2]!.digest
    const proxy = await startFaultProxy(f.plain.host, {flip: layer})
    const {r, out} = await build(proxy.host, 'flip')
    assert.equal(r.code, 3, r.stderr)
    assert.equal(r.json.error.code, 'DIGEST_MISMATCH')
    assert.ok(r.json.error.subject.includes(`${proxy.host}/team/app1:1.0`), r.json.error.subject)
    assert.ok(r.json.error.subject.includes(layer), r.json.error.subject)
    const {existsSync} = await import('node:fs')
    assert.equal(existsSync(out) || existsSync(`${out}.partial`), false)
  })

  it('a connection dropped mid-blob is resumed and the build succeeds', async () => {
    const layer = f.app1.layers[0]!.digest
    const proxy = await startFaultProxy(f.plain.host, {drop: {digest: layer, times: 2}})
    const {r} = await build(proxy.host, 'drop')
    assert.equal(r.code, 0, r.stderr + r.stdout)
    assert.equal(proxy.blobGets.get(layer), 3)
    assert.equal(r.json.images[0].digest, f.app1.manifest.digest)
  })

  it('a connection that keeps dropping fails after the retry bound (exit 4)', async () => {
    const layer = f.app1.layers[0]!.digest
    const proxy = await startFaultProxy(f.plain.host, {drop: {digest: layer, times: 100}})
    const {r} = await build(proxy.host, 'drop-always', 'team/app1:1.0', {AIRLOCK_RETRY_ATTEMPTS: '3'})
    assert.equal(r.code, 4, r.stderr)
    assert.equal(r.json.error.code, 'REGISTRY_ERROR')
    assert.equal(proxy.blobGets.get(layer), 3)
  })

  it('follows a blob redirect to a storage host without sending it the registry Authorization', async () => {
    const storage = await startStorageHost(f.tokened.dir)
    const proxy = await startFaultProxy(f.tokened.host, {redirectTo: storage.origin})
    const {r} = await build(proxy.host, 'redirect', 'private/app2:1.0')
    assert.equal(r.code, 0, r.stderr + r.stdout)
    assert.equal(r.json.images[0].digest, f.app2.manifest.digest)
    assert.ok([...proxy.blobGets.values()].length >= 4, 'blobs went through the redirect')
    assert.deepEqual(storage.sawAuthorization, [])
  })
})
