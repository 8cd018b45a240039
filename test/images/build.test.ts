import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {createHash} from 'node:crypto'
import {mkdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {REPO_ROOT} from '../support/paths.js'
import {runCli} from '../support/cli.js'
import {seed, skopeo, startFaultProxy} from '../support/registry.js'
import {authEnv, getFixture, PASSWORD, USER, writeImageSpec, type Fixture} from './fixture.js'

const run = promisify(execFile)

async function tarNames(file: string): Promise<string[]> {
  const {stdout} = await run('tar', ['-tf', file], {maxBuffer: 16 << 20})
  return stdout.trim().split('\n')
}

describe('bundle build with images', function () {
  this.timeout(180_000)
  let f: Fixture
  let flags: string[]
  let env: NodeJS.ProcessEnv

  before(async () => {
    f = await getFixture()
    flags = ['--key', f.keys.key, '--registry-ca', f.pki.caCert, '--insecure-registry', f.plain.host, '--insecure-registry', f.tokened.host, '--json']
    env = authEnv(f.authFile)
  })

  it('pulls from basic-auth TLS, anonymous HTTP and bearer-token registries into one OCI layout that skopeo reads', async () => {
    const spec = await writeImageSpec(f.dir, [`${f.secure.host}/team/app1:1.0`, `{ref: "${f.plain.host}/team/tool:2.0", platforms: [all]}`, `${f.tokened.host}/private/app2:1.0`])
    const out = join(f.dir, 'three.tar')
    const before = f.tokens.requests.length
    const r = await runCli(['bundle', 'build', spec, '--out', out, ...flags], {env})
    assert.equal(r.code, 0, r.stderr + r.stdout)
    assert.deepEqual(r.json.images.map((i: {digest: string}) => i.digest), [f.app1.manifest.digest, f.indexDigest, f.app2.manifest.digest])
    assert.deepEqual(r.json.images[1].platforms, ['linux/amd64', 'linux/arm64/v8'])

    // Shared base layers are stored once.
    const names = await tarNames(out)
    const base = `imgs-1.0.0/images/blobs/sha256/${f.app1.layers[0]?.digest.slice(7)}`
    assert.equal(names.filter((n) => n === base).length, 1)

    // The bearer token was asked for with this repository's pull scope, once, and reused for its blobs.
    const asked = f.tokens.requests.slice(before).filter((q) => q.scopes.includes('repository:private/app2:pull'))
    assert.equal(asked.length, 1)
    assert.equal(asked[0]?.user, USER)

    // skopeo reads every image out of the extracted layout by its full source name.
    const x = join(f.dir, 'three-x')
    await mkdir(x)
    await run('tar', ['-xf', out, '-C', x])
    const layout = join(x, 'imgs-1.0.0', 'images')
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8'))
    assert.deepEqual(index.manifests.map((m: {annotations: Record<string, string>}) => m.annotations['org.opencontainers.image.ref.name']), [`${f.secure.host}/team/app1:1.0`, `${f.plain.host}/team/tool:2.0`, `${f.tokened.host}/private/app2:1.0`])
    for (const [name, digest] of [[`${f.secure.host}/team/app1:1.0`, f.app1.manifest.digest], [`${f.tokened.host}/private/app2:1.0`, f.app2.manifest.digest], [`${f.plain.host}/team/tool:2.0`, f.indexDigest]] as const) {
      const raw = await skopeo(['inspect', '--raw', `oci:${layout}:${name}`])
      assert.equal(`sha256:${createHash('sha256').update(raw).digest('hex')}`, digest)
    }
    await skopeo(['copy', '--all', '--quiet', `oci:${layout}:${f.plain.host}/team/tool:2.0`, `oci:${join(f.dir, 'three-copy')}:tool`])
  })

  it('narrows an index to the requested platform (linux/arm64/v8) and records the source digest', async () => {
    const spec = await writeImageSpec(f.dir, [`${f.plain.host}/team/tool:2.0`], '  platforms: [linux/arm64/v8]\n')
    const out = join(f.dir, 'arm.tar')
    const r = await runCli(['bundle', 'build', spec, '--out', out, ...flags], {env})
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(r.json.images[0].platforms, ['linux/arm64/v8'])
    assert.notEqual(r.json.images[0].digest, f.indexDigest)
    const names = await tarNames(out)
    assert.ok(names.includes(`imgs-1.0.0/images/blobs/sha256/${f.arm64.layers[0]?.digest.slice(7)}`))
    assert.ok(!names.includes(`imgs-1.0.0/images/blobs/sha256/${f.amd64.layers[1]?.digest.slice(7)}`), 'the amd64 layer is not bundled')
    const list = await runCli(['images', 'list', out, '--json'])
    assert.equal(list.json.images[0].sourceDigest, f.indexDigest)
  })

  it('--platform overrides spec.platforms', async () => {
    const spec = await writeImageSpec(f.dir, [`${f.plain.host}/team/tool:2.0`], '  platforms: [linux/amd64]\n')
    const r = await runCli(['bundle', 'build', spec, '--out', join(f.dir, 'override.tar'), '--platform', 'linux/arm64', ...flags], {env})
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(r.json.images[0].platforms, ['linux/arm64/v8'])
  })

  it('fails with PLATFORM_MISSING naming the image and the platform', async () => {
    const spec = await writeImageSpec(f.dir, [`${f.plain.host}/team/tool:2.0`], '  platforms: [linux/s390x]\n')
    const out = join(f.dir, 'nope.tar')
    const r = await runCli(['bundle', 'build', spec, '--out', out, ...flags], {env})
    assert.equal(r.code, 2)
    assert.equal(r.json.error.code, 'PLATFORM_MISSING')
    assert.match(r.json.error.subject, /spec\.images\[0\]$/)
    assert.match(r.json.error.message, /team\/tool:2\.0.*linux\/s390x/)
  })

  it('fails with REGISTRY_NOT_FOUND on an unknown tag (exit 4)', async () => {
    const spec = await writeImageSpec(f.dir, [`${f.plain.host}/team/app1:9.9`])
    const r = await runCli(['bundle', 'build', spec, '--out', join(f.dir, 'unknown.tar'), ...flags], {env})
    assert.equal(r.code, 4)
    assert.equal(r.json.error.code, 'REGISTRY_NOT_FOUND')
    assert.equal(r.json.error.subject, `${f.plain.host}/team/app1:9.9`)
  })

  it('fails with REFERENCE_INVALID naming the spec path of a malformed reference (exit 2)', async () => {
    const spec = await writeImageSpec(f.dir, ['ok/image:1', 'Bad/UPPER:case'])
    const r = await runCli(['bundle', 'build', spec, '--out', join(f.dir, 'bad.tar'), ...flags], {env})
    assert.equal(r.code, 2)
    assert.equal(r.json.error.code, 'REFERENCE_INVALID')
    assert.equal(r.json.error.subject, `${spec}#spec.images[1]`)
  })

  for (const which of ['secure', 'tokened'] as const) {
    it(`fails with REGISTRY_AUTH naming the registry and the credentials file on wrong credentials (${which}, exit 4)`, async () => {
      const host = f[which].host
      const authFile = join(f.dir, `wrong-${which}.json`)
      await writeFile(authFile, JSON.stringify({auths: {[host]: {auth: Buffer.from(`${USER}:wrong`).toString('base64')}}}))
      const spec = await writeImageSpec(f.dir, [which === 'secure' ? `${host}/team/app1:1.0` : `${host}/private/app2:1.0`])
      const r = await runCli(['bundle', 'build', spec, '--out', join(f.dir, `wrong-${which}.tar`), ...flags], {env: authEnv(authFile)})
      assert.equal(r.code, 4, r.stderr)
      assert.equal(r.json.error.code, 'REGISTRY_AUTH')
      assert.equal(r.json.error.subject, host)
      assert.ok(r.json.error.message.includes(authFile), r.json.error.message)
    })
  }

  it('reads credentials from ~/.docker/config.json when no other file has them', async () => {
    const home = join(f.dir, 'home')
    await mkdir(join(home, '.docker'), {recursive: true})
    await writeFile(join(home, '.docker', 'config.json'), JSON.stringify({auths: {[`https://${f.secure.host}`]: {auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}}}))
    const spec = await writeImageSpec(f.dir, [`${f.secure.host}/team/app2:1.0`])
    const r = await runCli(['bundle', 'build', spec, '--out', join(f.dir, 'home.tar'), ...flags], {env: {HOME: home, REGISTRY_AUTH_FILE: '', XDG_RUNTIME_DIR: '', DOCKER_CONFIG: ''}})
    assert.equal(r.code, 0, r.stderr + r.stdout)
  })

  it('refuses a TLS registry whose CA was not given, with a --registry-ca hint (exit 4)', async () => {
    const spec = await writeImageSpec(f.dir, [`${f.secure.host}/team/app1:1.0`])
    const r = await runCli(['bundle', 'build', spec, '--key', f.keys.key, '--out', join(f.dir, 'noca.tar'), '--json'], {env})
    assert.equal(r.code, 4)
    assert.equal(r.json.error.code, 'REMOTE_UNREACHABLE')
    assert.match(r.json.error.hint, /--registry-ca/)
  })

  it('a lock file that is there but cannot be read stops the build (exit 2) instead of building unpinned', async () => {
    const spec = await writeImageSpec(f.dir, [`${f.plain.host}/team/tool:2.0`])
    // the suite runs as root, who reads any file: a folder under the lock's name cannot be read by anyone
    await mkdir(spec.replace(/\.yaml$/, '.lock.yaml'))
    const r = await runCli(['bundle', 'build', spec, '--out', join(f.dir, 'unreadable-lock.tar'), ...flags], {env})
    assert.equal(r.code, 2, r.stdout + r.stderr)
    assert.equal(r.json.error.subject, spec.replace(/\.yaml$/, '.lock.yaml'))
  })

  it('with --cache, a second build downloads no blob; --lock pins tags to the digests it resolved', async () => {
    const proxy = await startFaultProxy(f.plain.host, {})
    await seed(f.layout, 'app1', `${f.plain.host}/lockme/app:1`)
    const spec = await writeImageSpec(f.dir, [`${proxy.host}/lockme/app:1`, `${proxy.host}/team/app2:1.0`])
    const cache = join(f.dir, 'cache')
    const common = ['--cache', cache, '--key', f.keys.key, '--insecure-registry', proxy.host, '--json']
    const r1 = await runCli(['bundle', 'build', spec, '--out', join(f.dir, 'c1.tar'), '--lock', ...common], {env})
    assert.equal(r1.code, 0, r1.stderr)
    const firstGets = [...proxy.blobGets.values()].reduce((a, b) => a + b, 0)
    assert.ok(firstGets >= 5)
    const lock = await readFile(spec.replace(/\.yaml$/, '.lock.yaml'), 'utf8')
    assert.ok(lock.includes(f.app1.manifest.digest))

    // The tag moves; the lock keeps the build on what it resolved before, from the cache.
    await seed(f.layout, 'app2', `${f.plain.host}/lockme/app:1`)
    const r2 = await runCli(['bundle', 'build', spec, '--out', join(f.dir, 'c2.tar'), ...common], {env})
    assert.equal(r2.code, 0, r2.stderr)
    assert.equal(r2.json.images[0].digest, f.app1.manifest.digest)
    assert.equal([...proxy.blobGets.values()].reduce((a, b) => a + b, 0), firstGets, 'no blob downloaded again')
    const [a, b] = await Promise.all([readFile(join(f.dir, 'c1.tar')), readFile(join(f.dir, 'c2.tar'))])
    assert.equal(a.length, b.length)
  })

  it('bundles local oci: and oci-archive: sources', async () => {
    const archive = join(f.dir, 'app2.oci.tar')
    await skopeo(['copy', '--quiet', `oci:${f.layout}:app2`, `oci-archive:${archive}:quay.io/team/app2:3`])
    const spec = await writeImageSpec(f.dir, [`oci:${f.layout}:app1`, `oci-archive:${archive}`])
    const r = await runCli(['bundle', 'build', spec, '--out', join(f.dir, 'local.tar'), ...flags], {env})
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(r.json.images.map((i: {digest: string}) => i.digest), [f.app1.manifest.digest, f.app2.manifest.digest])
    const list = await runCli(['images', 'list', join(f.dir, 'local.tar'), '--json'])
    assert.deepEqual(list.json.images.map((i: {name: string}) => i.name), ['localhost/layout:app1', 'quay.io/team/app2:3'])
  })

  it('builds the offline demo bundle with the image shipped in the repository', async () => {
    const out = join(f.dir, 'demo.tar')
    const r = await runCli(['bundle', 'build', join(REPO_ROOT, 'bundles', 'demo.yaml'), '--key', f.keys.key, '--out', out, '--json'], {env: {...env, HOME: f.dir}})
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.images.length, 1)
    const v = await runCli(['bundle', 'verify', out, '--trust', f.keys.pub, '--json'])
    assert.equal(v.code, 0, v.stderr)
    assert.equal(v.json.images, 1)
  })
})
