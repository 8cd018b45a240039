import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {mkdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {makeKeys, readTarEntries} from '../support/bundles.js'
import {runCli} from '../support/cli.js'
import {inspectDigest, skopeo, startRegistry} from '../support/registry.js'
import {authEnv, getFixture, type Fixture} from '../images/fixture.js'

/** A spec with images and files (name -> content written beside it). */
async function writeSpec(dir: string, version: string, images: string[], files: Record<string, string>): Promise<string> {
  await mkdir(join(dir, 'src'), {recursive: true})
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, 'src', name), content)
  const spec = join(dir, `spec-${version}.yaml`)
  await writeFile(
    spec,
    [
      'apiVersion: airlock.dev/v1',
      'kind: Bundle',
      `metadata: {name: diff, version: ${version}}`,
      'spec:',
      ...(images.length > 0 ? ['  images:', ...images.map((i) => `    - ${i}`)] : []),
      '  files:',
      ...Object.keys(files).map((n) => `    - {source: ./src/${n}, as: ${n}}`),
      '',
    ].join('\n'),
  )
  return spec
}

const hex = (d: string) => d.slice('sha256:'.length)
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

describe('bundle build --since (differential bundles)', function () {
  this.timeout(240_000)
  let f: Fixture
  let env: NodeJS.ProcessEnv
  let dir: string
  let v1: string
  let v2: string
  let built: any // eslint-disable-line @typescript-eslint/no-explicit-any

  before(async () => {
    f = await getFixture()
    env = authEnv(f.authFile)
    dir = join(f.dir, 'since')
    await mkdir(dir, {recursive: true})
    const app1 = `${f.plain.host}/team/app1:1.0`
    const app2 = `${f.plain.host}/team/app2:1.0`
    const s1 = await writeSpec(dir, '1.0.0', [app1], {'same.txt': 'unchanged between releases\n', 'old.txt': 'v1 only\n'})
    v1 = join(dir, 'v1.tar')
    const r1 = await runCli(['bundle', 'build', s1, '--key', f.keys.key, '--out', v1, '--insecure-registry', f.plain.host, '--json'], {env})
    assert.equal(r1.code, 0, r1.stderr + r1.stdout)
    // v2: app1 unchanged, app2 shares app1's two base layers, one file unchanged, one new.
    await writeFile(join(dir, 'src', 'new.txt'), 'v2 only\n')
    const s2 = await writeSpec(dir, '2.0.0', [app1, app2], {'same.txt': 'unchanged between releases\n', 'new.txt': 'v2 only\n'})
    v2 = join(dir, 'v2.tar')
    const r2 = await runCli(['bundle', 'build', s2, '--key', f.keys.key, '--out', v2, '--insecure-registry', f.plain.host, '--since', v1, '--json'], {env})
    assert.equal(r2.code, 0, r2.stderr + r2.stdout)
    built = r2.json
  })

  it('leaves out the layers and files the old bundle carries, and records the old bundle', async () => {
    const base = built.base
    assert.equal(base.name, 'diff')
    assert.equal(base.version, '1.0.0')
    assert.equal(base.sha256, sha256(await readFile(v1)))
    assert.equal(base.verified, false)
    const shared = [...f.app1.layers.map((l) => `images/blobs/sha256/${hex(l.digest)}`), 'files/same.txt'].sort()
    assert.deepEqual(base.omitted.map((o: {path: string}) => o.path).sort(), shared)
    for (const l of f.app1.layers) assert.equal(base.omitted.find((o: {path: string}) => o.path.endsWith(hex(l.digest))).size, l.size)

    const paths = (await readTarEntries(v2)).map((e) => e.path.replace(/^diff-2\.0\.0\//, ''))
    for (const p of shared) assert.ok(!paths.includes(p), `${p} must not be in v2`)
    // manifests, configs, the index and the new layer are all there
    for (const d of [f.app1.manifest, f.app1.config, f.app2.manifest, f.app2.config, f.app2.layers[2]!]) assert.ok(paths.includes(`images/blobs/sha256/${hex(d.digest)}`), d.digest)
    assert.ok(paths.includes('images/index.json'))
    assert.ok(paths.includes('files/new.txt'))
    const manifest = JSON.parse((await readTarEntries(v2)).find((e) => e.path.endsWith('/manifest.json'))!.body!.toString())
    assert.deepEqual(manifest.base, base)
  })

  it('stays signed and verifiable on its own', async () => {
    const r = await runCli(['bundle', 'verify', v2, '--trust', f.keys.pub, '--json'])
    assert.equal(r.code, 0, r.stderr + r.stdout)
    assert.equal(r.json.verified, true)
  })

  it('says in bundle inspect what it was built since and what it leaves out', async () => {
    const r = await runCli(['bundle', 'inspect', v2, '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(r.json.base, built.base)
    const human = await runCli(['bundle', 'inspect', v2])
    assert.match(human.stdout, /since\s+diff 1\.0\.0/)
  })

  it('refuses to push into a registry that lacks the left-out blobs, naming each one (exit 4), and pushes once the base is there', async () => {
    const empty = await startRegistry()
    const push = (bundle: string) => runCli(['images', 'push', bundle, '--registry', `${empty.host}/site`, '--insecure-registry', empty.host, '--trust', f.keys.pub, '--json'], {env})
    const refused = await push(v2)
    assert.equal(refused.code, 4, refused.stderr + refused.stdout)
    assert.equal(refused.json.error.code, 'REGISTRY_NOT_FOUND')
    for (const l of f.app1.layers) assert.ok(refused.json.error.message.includes(l.digest), `names ${l.digest}`)
    assert.ok(refused.json.error.message.includes('team/app2:1.0'), 'names the images that need them')
    assert.match(refused.json.error.subject, new RegExp(`^${empty.host}/site/team/app[12]@sha256:`))
    // nothing was pushed before the check failed
    await assert.rejects(inspectDigest(`${empty.host}/site/team/app2:1.0`))

    const first = await push(v1)
    assert.equal(first.code, 0, first.stderr + first.stdout)
    const second = await push(v2)
    assert.equal(second.code, 0, second.stderr + second.stdout)
    assert.equal(second.json.base.blobsChecked, 5, 'three layers in app1, the two shared base layers in app2')
    assert.ok(second.json.blobs.mounted >= 2, 'app2 mounts the base layers from app1')
    assert.equal(await inspectDigest(`${empty.host}/site/team/app2:1.0`), f.app2.manifest.digest)
    await skopeo(['copy', '--quiet', '--src-tls-verify=false', `docker://${empty.host}/site/team/app2:1.0`, `oci:${join(dir, 'pulled')}:app2`])
    const index = JSON.parse(await readFile(join(dir, 'pulled', 'index.json'), 'utf8'))
    assert.equal(index.manifests[0].digest, f.app2.manifest.digest)
  })

  it('pushes a differential bundle split into parts, from its split index', async () => {
    const partsDir = join(dir, 'parts')
    await mkdir(partsDir, {recursive: true})
    const copy = join(partsDir, 'v2.tar')
    await writeFile(copy, await readFile(v2))
    const split = await runCli(['bundle', 'split', copy, '--size', '100K', '--json'])
    assert.equal(split.code, 0, split.stderr + split.stdout)
    const registry = await startRegistry()
    const push = (bundle: string) => runCli(['images', 'push', bundle, '--registry', registry.host, '--insecure-registry', registry.host, '--trust', f.keys.pub, '--json'], {env})
    assert.equal((await push(v1)).code, 0)
    const r = await push(split.json.index)
    assert.equal(r.code, 0, r.stderr + r.stdout)
    assert.equal(await inspectDigest(`${registry.host}/team/app2:1.0`), f.app2.manifest.digest)
    await skopeo(['copy', '--quiet', '--src-tls-verify=false', `docker://${registry.host}/team/app2:1.0`, `oci:${join(partsDir, 'pulled')}:app2`])
  })

  it('chains: a bundle built --since a differential bundle also leaves out what that one left out', async () => {
    const s3 = await writeSpec(dir, '3.0.0', [`${f.plain.host}/team/app2:1.0`], {'same.txt': 'unchanged between releases\n'})
    const v3 = join(dir, 'v3.tar')
    const r = await runCli(['bundle', 'build', s3, '--key', f.keys.key, '--out', v3, '--insecure-registry', f.plain.host, '--since', v2, '--since-trust', f.keys.pub, '--json'], {env})
    assert.equal(r.code, 0, r.stderr + r.stdout)
    assert.equal(r.json.base.verified, true)
    const omitted = r.json.base.omitted.map((o: {path: string}) => o.path)
    // base-1 and base-2 were left out of v2 already; app-2's layer and same.txt come from v2 itself
    for (const l of f.app2.layers) assert.ok(omitted.includes(`images/blobs/sha256/${hex(l.digest)}`), l.digest)
    assert.ok(omitted.includes('files/same.txt'))
  })

  it('refuses a --since bundle signed by someone else when --since-trust is given (exit 3)', async () => {
    const other = await makeKeys(dir, 'other')
    const s = await writeSpec(dir, '4.0.0', [], {'same.txt': 'unchanged between releases\n'})
    const r = await runCli(['bundle', 'build', s, '--key', f.keys.key, '--out', join(dir, 'v4.tar'), '--since', v1, '--since-trust', other.pub, '--json'])
    assert.equal(r.code, 3, r.stderr + r.stdout)
    assert.equal(r.json.error.code, 'SIGNER_UNTRUSTED')
  })

  it('refuses a --since file that is not a bundle (exit 3) and one that does not exist (exit 2)', async () => {
    const s = await writeSpec(dir, '5.0.0', [], {'same.txt': 'x\n'})
    const junk = join(dir, 'junk.tar')
    await writeFile(junk, Buffer.alloc(4096, 1))
    const bad = await runCli(['bundle', 'build', s, '--key', f.keys.key, '--out', join(dir, 'v5.tar'), '--since', junk, '--json'])
    assert.equal(bad.code, 3, bad.stderr + bad.stdout)
    assert.equal(bad.json.error.subject, junk)
    const gone = await runCli(['bundle', 'build', s, '--key', f.keys.key, '--out', join(dir, 'v5.tar'), '--since', join(dir, 'nope.tar'), '--json'])
    assert.equal(gone.code, 2, gone.stderr + gone.stdout)
    assert.equal(gone.json.error.code, 'FILE_NOT_FOUND')
  })
})
