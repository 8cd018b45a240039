/*
 * Charts airlock has not made itself: packaged and pushed by the real helm (with a provenance
 * file), Helm 2 charts, rich Chart.yaml files, and a classic repository behind basic auth.
 */
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {mkdir, readFile, rm, writeFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {promisify} from 'node:util'

import {readChartArchive} from '../../src/charts/archive.js'
import {chartConfig} from '../../src/charts/artifact.js'
import {makeKeys, type TestKeys} from '../support/bundles.js'
import {runCli} from '../support/cli.js'
import {makeImage, makeLayer, makePki, seed, skopeo, startRegistry, tempDir, writeLayout, type Pki, type Registry} from '../support/registry.js'
import {cosignSignature, pushArtifact} from '../referrers/fixture.js'
import {HELM_CONTENT, repoIndex, sha256, startChartRepo} from './fixture.js'

const run = promisify(execFile)
const PROV = 'application/vnd.cncf.helm.chart.provenance.v1.prov'

/* eslint-disable @typescript-eslint/no-explicit-any */
describe('charts made and pushed by helm itself', function () {
  this.timeout(180_000)
  let dir: string
  let keys: TestKeys
  let pki: Pki
  let src: Registry
  let site: Registry
  let helmEnv: NodeJS.ProcessEnv
  const ENV: NodeJS.ProcessEnv = {XDG_RUNTIME_DIR: '/nonexistent', DOCKER_CONFIG: '/nonexistent', AIRLOCK_REGISTRY_BACKOFF_MS: '20'}

  before(async () => {
    dir = await tempDir('charts-interop')
    keys = await makeKeys(dir)
    pki = await makePki()
    ;[src, site] = await Promise.all([startRegistry(), startRegistry()])
    const home = join(dir, 'helm-home')
    helmEnv = {...process.env, HELM_CACHE_HOME: join(home, 'cache'), HELM_CONFIG_HOME: join(home, 'config'), HELM_DATA_HOME: join(home, 'data'), HELM_REGISTRY_CONFIG: join(home, 'registry.json')}
    ENV.REGISTRY_AUTH_FILE = join(dir, 'no-auth.json')
    // builds see no helm: what these check is found without it
    await mkdir(join(dir, 'no-helm-bin'))
    ENV.PATH = join(dir, 'no-helm-bin')
  })
  after(async () => {
    await Promise.all([src?.stop(), site?.stop()])
    await rm(dir, {recursive: true, force: true})
  })

  /** A chart folder from files, packaged with `helm package`: the archive's path. */
  async function helmPackage(files: Record<string, string>): Promise<string> {
    const root = join(dir, `src-${Math.random().toString(36).slice(2, 8)}`)
    for (const [path, text] of Object.entries(files)) {
      await mkdir(dirname(join(root, path)), {recursive: true})
      await writeFile(join(root, path), text)
    }
    const top = Object.keys(files)[0]?.split('/')[0] as string
    const out = (await run('helm', ['package', join(root, top), '-d', dir], {env: helmEnv})).stdout
    return out.trim().split(': ').pop() as string
  }

  async function build(name: string, charts: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<{code: number; json?: any; out: string; stderr: string; stdout: string}> {
    const spec = join(dir, `${name}.yaml`)
    await writeFile(spec, `apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: ${name}, version: 1.0.0}\nspec:\n  images: []\n  charts:\n${charts}`)
    const out = join(dir, `${name}.tar`)
    const r = await runCli(['bundle', 'build', spec, '--out', out, '--key', keys.key, '--insecure-registry', src.host, '--ca-file', pki.caCert, '--json'], {env: {...process.env, ...ENV, ...extraEnv}})
    return {...r, out}
  }

  const manifestOf = async (out: string, name: string) => JSON.parse((await run('tar', ['-xOf', out, `${name}-1.0.0/manifest.json`])).stdout)

  it('the config of a chart airlock turns into an artifact is byte-identical to helm push, for a rich Chart.yaml and a Helm 2 chart', async () => {
    const rich = await helmPackage({
      'rich/Chart.yaml': 'apiVersion: v2\nname: rich\nversion: 1.0.0-rc.1+b2\nappVersion: "3.1"\nkubeVersion: ">=1.20.0-0"\ntype: application\ndeprecated: false\ndescription: "a & b <c>"\nhome: https://h.example\nsources: [https://s1.example, https://s2.example]\nkeywords: [a, b]\nicon: https://i.example/x.png\nmaintainers:\n  - name: Ann\n    email: a@example.com\n    url: https://a.example\n  - name: Bob\nannotations:\n  z: "1"\n  a: "2"\ndependencies:\n  - name: sub\n    version: 1.0.0\n    condition: sub.enabled\n    alias: s2\n    tags: [t]\n    import-values: [child]\n',
      'rich/values.yaml': 'a: 1\n',
      'rich/charts/sub/Chart.yaml': 'apiVersion: v2\nname: sub\nversion: 1.0.0\n',
    })
    const old = await helmPackage({
      'old/Chart.yaml': 'apiVersion: v1\nname: old\nversion: 1.0.0\nappVersion: "3.1"\n',
      'old/requirements.yaml': 'dependencies:\n  - name: redis\n    version: 1.0.0\n    condition: redis.enabled\n    alias: cache\n',
      'old/charts/redis/Chart.yaml': 'apiVersion: v1\nname: redis\nversion: 1.0.0\n',
    })
    for (const [tgz, tag] of [[rich, 'rich:1.0.0-rc.1_b2'], [old, 'old:1.0.0']] as const) {
      await run('helm', ['push', tgz, `oci://${src.host}/pushed`, '--plain-http'], {env: helmEnv})
      const theirs = JSON.parse(await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${src.host}/pushed/${tag}`]))
      const config = Buffer.from(await (await fetch(`http://${src.host}/v2/pushed/${tag.split(':')[0]}/blobs/${theirs.config.digest}`)).arrayBuffer())
      assert.equal(chartConfig((await readChartArchive(tgz, tgz)).metadata).toString(), config.toString())
      // the local .tgz built into a bundle: the same config, and helm push's annotation keys (the chart's own included)
      const b = await build(`cfg-${tag.split(':')[0]}`, `    - {source: "${tgz}"}`)
      assert.equal(b.code, 0, b.stderr + b.stdout)
      const chart = (await manifestOf(b.out, `cfg-${tag.split(':')[0]}`)).extensions.charts[0]
      const ours = JSON.parse((await run('tar', ['-xOf', b.out, `cfg-${tag.split(':')[0]}-1.0.0/images/blobs/sha256/${chart.digest.slice(7)}`])).stdout)
      assert.deepEqual(ours.config, theirs.config)
      assert.deepEqual(ours.layers, theirs.layers)
      assert.deepEqual(Object.keys(ours.annotations).sort(), Object.keys(theirs.annotations).sort())
    }
  })

  it('carries a chart helm push put in a registry with its provenance file and its cosign signature, digests unchanged, and helm pull gets it from the site', async () => {
    const tgz = await helmPackage({
      'signed/Chart.yaml': 'apiVersion: v2\nname: signed\nversion: 2.0.0\n',
      'signed/values.yaml': 'image: {repository: busybox}\n',
      'signed/templates/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n',
    })
    const prov = `-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nname: signed\nversion: 2.0.0\n...\nfiles:\n  signed-2.0.0.tgz: ${sha256(await readFile(tgz))}\n-----BEGIN PGP SIGNATURE-----\n\nwsBcBAEBCgAQBQJ\n-----END PGP SIGNATURE-----\n`
    await writeFile(`${tgz}.prov`, prov)
    await run('helm', ['push', tgz, `oci://${src.host}/helm`, '--plain-http'], {env: helmEnv})
    const upstream = await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${src.host}/helm/signed:2.0.0`])
    const parsed = JSON.parse(upstream)
    assert.deepEqual(parsed.layers.map((l: any) => l.mediaType).sort(), [HELM_CONTENT, PROV].sort())

    // the chart signed as cosign sign signs it: a .sig beside it, made here with openssl
    await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', join(dir, 'chart-cosign.key')])
    const sig = await cosignSignature(dir, join(dir, 'chart-cosign.key'), `${src.host}/helm/signed`, sha256(upstream))
    const sigTag = `${sha256(upstream).replace(':', '-')}.sig`
    await pushArtifact(src.host, 'helm/signed', sig, sigTag)

    const b = await build('prov', `    - {ref: "oci://${src.host}/helm/signed", version: 2.0.0, discover: false}`)
    assert.equal(b.code, 0, b.stderr + b.stdout)
    const chart = (await manifestOf(b.out, 'prov')).extensions.charts[0]
    assert.equal(chart.digest, sha256(upstream))
    assert.deepEqual(chart.referrers.map((r: any) => [r.digest, r.kind, r.tag]), [[sig.digest, 'signature', sigTag]])
    const listing = (await run('tar', ['-tf', b.out])).stdout
    for (const blob of [parsed.config, ...parsed.layers]) assert.ok(listing.includes(`prov-1.0.0/images/blobs/sha256/${blob.digest.slice(7)}`), blob.mediaType)

    const p = await runCli(['images', 'push', b.out, '--registry', `${site.host}/mirror`, '--insecure-registry', site.host, '--trust', keys.pub, '--json'], {env: {...process.env, ...ENV}})
    assert.equal(p.code, 0, p.stderr + p.stdout)
    assert.equal(await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${site.host}/mirror/helm/signed:2.0.0`]), upstream)
    assert.equal(sha256(await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${site.host}/mirror/helm/signed:${sigTag}`])), sig.digest)
    const to = join(dir, 'pulled-prov')
    await mkdir(to)
    await run('helm', ['pull', `oci://${site.host}/mirror/helm/signed`, '--version', '2.0.0', '--prov', '--plain-http', '-d', to], {env: helmEnv})
    assert.deepEqual(await readFile(join(to, 'signed-2.0.0.tgz')), await readFile(tgz))
    assert.equal(await readFile(join(to, 'signed-2.0.0.tgz.prov'), 'utf8'), prov)
  })

  it('a registry value with a path (ghcr.io/wallaroolabs) points the chart at the same path under the site registry, where images push put its images', async () => {
    const layout = join(dir, 'layout')
    await writeLayout(layout, [{tag: 'api', image: makeImage([makeLayer('wl-api', 5_000)], undefined, 'api')}])
    await seed(layout, 'api', `${src.host}/wallaroolabs/api:1.0`)
    const tgz = await helmPackage({
      'wl/Chart.yaml': 'apiVersion: v2\nname: wl\nversion: 2025.1.0\n',
      'wl/values.yaml': `imageRegistry: ${src.host}/wallaroolabs\napi:\n  image: {repository: api, tag: "1.0"}\n`,
      'wl/templates/deploy.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          image: "{{ .Values.imageRegistry }}/{{ .Values.api.image.repository }}:{{ .Values.api.image.tag }}"\n',
    })
    const b = await build('wl', `    - {source: "${tgz}", registryValue: imageRegistry}`)
    assert.equal(b.code, 0, b.stderr + b.stdout)
    const template = (await run('tar', ['-xOf', b.out, 'wl-1.0.0/charts/wl-2025.1.0.site-values.yaml'])).stdout
    assert.match(template, /^imageRegistry: \$\{SITE_REGISTRY\}\/wallaroolabs$/m)
    const valuesDir = join(dir, 'site-values')
    const p = await runCli(['images', 'push', b.out, '--registry', `${site.host}/platform`, '--insecure-registry', site.host, '--trust', keys.pub, '--values-dir', valuesDir, '--json'], {env: {...process.env, ...ENV}})
    assert.equal(p.code, 0, p.stderr + p.stdout)
    assert.equal(p.json.charts[0].siteValues.registry, `${site.host}/platform/wallaroolabs`)
    // what a site admin runs: helm template from the site registry with the written values; the image it names is there
    const rendered = (await run('helm', ['template', 'wl', `oci://${site.host}/platform/charts/wl`, '--version', '2025.1.0', '--plain-http', '-f', join(valuesDir, 'wl-2025.1.0.site-values.yaml')], {env: helmEnv})).stdout
    const image = /image: "([^"]+)"/.exec(rendered)?.[1] as string
    assert.equal(image, `${site.host}/platform/wallaroolabs/api:1.0`)
    assert.equal(JSON.parse(await skopeo(['inspect', '--tls-verify=false', `docker://${image}`])).Labels.label, 'api')
  })

  describe('a classic repository behind basic auth', () => {
    let tgz: string
    let repoUrl: string
    before(async () => {
      tgz = await helmPackage({'locked/Chart.yaml': 'apiVersion: v2\nname: locked\nversion: 1.1.0\n', 'locked/values.yaml': 'x: 1\n'})
      const data = await readFile(tgz)
      const older = await helmPackage({'locked/Chart.yaml': 'apiVersion: v2\nname: locked\nversion: 1.0.0\n'})
      const repo = await startChartRepo(pki, {
        '/stable/index.yaml': repoIndex([
          {name: 'locked', version: '1.0.0', url: 'locked-1.0.0.tgz'},
          // an absolute URL on the same host, elsewhere than the index
          {name: 'locked', version: '1.1.0', url: 'PLACEHOLDER', digest: sha256(data).slice(7)},
        ]),
        '/archive/locked-1.1.0.tgz': data,
        '/stable/locked-1.0.0.tgz': await readFile(older),
      }, {user: 'rel', password: 'p@ss:word'})
      repoUrl = repo.url
      repo.files.set('/stable/index.yaml', Buffer.from((repo.files.get('/stable/index.yaml') as Buffer).toString().replace('PLACEHOLDER', `${new URL(repo.url).origin}/archive/locked-1.1.0.tgz`)))
    })

    it('takes the credentials from the URL or the registry credentials file, and never writes the password into the bundle', async () => {
      const withCreds = repoUrl.replace('https://', 'https://rel:p%40ss%3Aword@')
      const a = await build('auth-url', `    - {repo: "${withCreds}", name: locked, version: 1.1.0}`)
      assert.equal(a.code, 0, a.stderr + a.stdout)
      const text = (await run('tar', ['-xOf', a.out, 'auth-url-1.0.0/manifest.json'])).stdout
      assert.ok(!text.includes('p@ss') && !text.includes('p%40ss'), 'the password is not in manifest.json')
      assert.equal(JSON.parse(text).extensions.charts[0].source, `${repoUrl} locked 1.1.0`)
      assert.equal(JSON.parse(text).extensions.charts[0].contentDigest, sha256(await readFile(tgz)))

      const authFile = join(dir, 'auth.json')
      await writeFile(authFile, JSON.stringify({auths: {[new URL(repoUrl).host]: {auth: Buffer.from('rel:p@ss:word').toString('base64')}}}))
      const b = await build('auth-file', `    - {repo: "${repoUrl}", name: locked, version: 1.1.0}`, {REGISTRY_AUTH_FILE: authFile})
      assert.equal(b.code, 0, b.stderr + b.stdout)

      const c = await build('auth-none', `    - {repo: "${repoUrl}", name: locked, version: 1.1.0}`)
      assert.equal(c.code, 4, c.stderr + c.stdout)
      assert.equal(c.json.error.code, 'REGISTRY_AUTH')
      assert.match(c.json.error.hint, /credentials/)
    })
  })

  it('refuses an index.yaml that sends the archive over plain http, naming the spec entry', async () => {
    const repo = await startChartRepo(pki, {'/stable/index.yaml': repoIndex([{name: 'plain', version: '1.0.0', url: 'http://127.0.0.1:1/plain-1.0.0.tgz'}])})
    const r = await build('plainhttp', `    - {repo: "${repo.url}", name: plain, version: 1.0.0}`)
    assert.equal(r.code, 2, r.stderr + r.stdout)
    assert.equal(r.json.error.code, 'INPUT_INVALID')
    assert.equal(r.json.error.subject, `${join(dir, 'plainhttp.yaml')}#spec.charts[0].repo`)
    assert.match(r.json.error.message, /only https/)
    await repo.stop()
  })
})
