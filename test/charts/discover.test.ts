import assert from 'node:assert/strict'
import {rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {gzipSync} from 'node:zlib'

import {readChartArchive} from '../../src/charts/archive.js'
import {discoverImages, ImageFindings, imagesInRendered} from '../../src/charts/discover.js'
import {mergeValues} from '../../src/charts/values.js'
import {rejectsWithCode} from '../support/assert.js'
import {craftTar} from '../support/bundles.js'
import {tempDir} from '../support/registry.js'
import {makeChartArchive, type ChartDef} from './fixture.js'

const R = 'reg.example:5000'

const webapp: ChartDef = {
  name: 'webapp',
  version: '1.2.3',
  appVersion: '2.0.0',
  annotations: {
    'artifacthub.io/images': `- name: proxy\n  image: ${R}/team/proxy:1.0\n`,
    'helm.sh/images': `- ${R}/team/annotated:1.0\n`,
  },
  dependencies: [
    {name: 'cache', version: '0.1.0', condition: 'cache.enabled'},
    {name: 'metrics', version: '0.2.0', condition: 'metrics.enabled'},
  ],
  values: {
    image: {registry: R, repository: 'team/app', tag: '1.0'},
    sidecar: {image: `${R}/team/sidecar:1.0`, pullPolicy: 'IfNotPresent'},
    worker: {image: {repository: `${R}/team/worker`}},
    cache: {enabled: true, image: {tag: '1.1'}},
    metrics: {enabled: false},
  },
  subcharts: [
    {
      name: 'cache',
      version: '0.1.0',
      appVersion: '7.0',
      values: {image: {repository: `${R}/team/cache`, tag: '0.9'}},
      files: {'images.lock': `apiVersion: v0\nkind: ImagesLock\nimages:\n  - name: exporter\n    image: ${R}/team/exporter:1.0\n    digests: []\n`},
    },
  ],
  packed: [{name: 'metrics', version: '0.2.0', values: {image: {repository: `${R}/team/metrics`, tag: '1.0'}}}],
}

describe('chart image discovery', () => {
  let dir: string
  let archive: string
  before(async () => {
    dir = await tempDir('charts-discover')
    archive = await makeChartArchive(dir, webapp)
  })
  after(() => rm(dir, {recursive: true, force: true}))

  it('finds images in annotations, images.lock and values at any depth, saying where each was found', async () => {
    const tree = await readChartArchive(archive, 'webapp.tgz')
    assert.deepEqual(tree.children.map((c) => c.path).sort(), ['webapp/charts/cache', 'webapp/charts/metrics'])
    const {found} = discoverImages({tree, userValues: {}})
    const where = Object.fromEntries(found.list().map((i) => [i.ref, i.foundIn.map((s) => `${s.chart}|${s.how}|${s.where}`)]))
    assert.deepEqual(where, {
      [`${R}/team/proxy:1.0`]: ['webapp|annotation artifacthub.io/images|[0] proxy'],
      [`${R}/team/annotated:1.0`]: ['webapp|annotation helm.sh/images|[0]'],
      [`${R}/team/app:1.0`]: ['webapp|values|image.repository'],
      [`${R}/team/sidecar:1.0`]: ['webapp|values|sidecar.image'],
      // no tag: the chart's appVersion, as `.Values.image.tag | default .Chart.AppVersion` renders it
      [`${R}/team/worker:2.0.0`]: ['webapp|values|worker.image.repository'],
      [`${R}/team/exporter:1.0`]: ['webapp/charts/cache|images.lock|images[0]'],
      // the parent sets cache.image.tag: the subchart's own 0.9 is not what would be installed
      [`${R}/team/cache:1.1`]: ['webapp/charts/cache|values from the parent chart or the user|image.repository'],
    })
  })

  it("takes the user's values over the chart's, and enables a subchart its condition disabled", async () => {
    const tree = await readChartArchive(archive, 'webapp.tgz')
    const {found} = discoverImages({tree, userValues: {image: {tag: '1.5'}, metrics: {enabled: true}, cache: {enabled: false}}})
    const refs = found.list().map((i) => i.ref)
    assert.ok(refs.includes(`${R}/team/app:1.5`))
    assert.ok(!refs.includes(`${R}/team/app:1.0`))
    assert.deepEqual(found.list().find((i) => i.ref === `${R}/team/app:1.5`)?.foundIn, [{chart: 'webapp', how: 'user values', where: 'image.repository'}])
    // the packed subchart (charts/metrics-0.2.0.tgz) renders now; the cache subchart does not
    assert.deepEqual(found.list().find((i) => i.ref === `${R}/team/metrics:1.0`)?.foundIn, [{chart: 'webapp/charts/metrics', how: 'values', where: 'image.repository'}])
    assert.ok(!refs.some((r) => r.includes('/team/cache:') || r.includes('/team/exporter:')))
  })

  it('puts a registry value in front of repositories that name no registry', async () => {
    const site = await makeChartArchive(dir, {name: 'site', version: '0.1.0', values: {imageRegistry: 'ghcr.io/acme', api: {image: {repository: 'api', tag: '3'}}, ui: {image: {repository: 'quay.io/acme/ui', tag: '4'}}}})
    const {found} = discoverImages({tree: await readChartArchive(site, 'site.tgz'), userValues: {}, registryValue: 'imageRegistry'})
    assert.deepEqual(found.list().map((i) => i.ref), ['ghcr.io/acme/api:3', 'quay.io/acme/ui:4'])
  })

  it('refuses an archive that is no chart: not gzip, no Chart.yaml, two top folders, an oversized values.yaml', async () => {
    const plain = join(dir, 'plain.tgz')
    await writeFile(plain, 'just text, no tar')
    await rejectsWithCode(readChartArchive(plain, 'plain.tgz'), 'INPUT_INVALID', 'plain.tgz')
    const none = join(dir, 'none.tgz')
    await writeFile(none, gzipSync(craftTar([{path: 'x/README.md', body: Buffer.from('hi')}])))
    await rejectsWithCode(readChartArchive(none, 'none.tgz'), 'INPUT_INVALID', 'none.tgz')
    const two = join(dir, 'two.tgz')
    const chartYaml = (n: string) => Buffer.from(`apiVersion: v2\nname: ${n}\nversion: 1.0.0\n`)
    await writeFile(two, gzipSync(craftTar([{path: 'a/Chart.yaml', body: chartYaml('a')}, {path: 'b/Chart.yaml', body: chartYaml('b')}])))
    await rejectsWithCode(readChartArchive(two, 'two.tgz'), 'INPUT_INVALID', 'two.tgz')
    const big = join(dir, 'big.tgz')
    await writeFile(big, gzipSync(craftTar([{path: 'a/Chart.yaml', body: chartYaml('a')}, {path: 'a/values.yaml', body: Buffer.alloc(9 << 20, 0x20)}])))
    await rejectsWithCode(readChartArchive(big, 'big.tgz'), 'INPUT_INVALID', 'big.tgz')
  })

  it('reads a Helm 2 chart (apiVersion v1): requirements.yaml conditions and aliases decide what renders', async () => {
    const old = join(dir, 'old.tgz')
    const file = (path: string, text: string) => ({path, body: Buffer.from(text)})
    await writeFile(old, gzipSync(craftTar([
      file('old/Chart.yaml', 'apiVersion: v1\nname: old\nversion: 1.0.0\n'),
      file('old/requirements.yaml', 'dependencies:\n  - name: redis\n    version: 1.0.0\n    condition: redis.enabled\n  - name: db\n    version: 1.0.0\n    alias: pg\n'),
      file('old/values.yaml', `redis: {enabled: false}\npg: {image: {tag: "2.0"}}\n`),
      file('old/charts/redis/Chart.yaml', 'apiVersion: v1\nname: redis\nversion: 1.0.0\n'),
      file('old/charts/redis/values.yaml', `image: {repository: ${R}/team/redis, tag: "7"}\n`),
      file('old/charts/db/Chart.yaml', 'apiVersion: v1\nname: db\nversion: 1.0.0\n'),
      file('old/charts/db/values.yaml', `image: {repository: ${R}/team/postgres, tag: "1.0"}\n`),
    ])))
    const {found} = discoverImages({tree: await readChartArchive(old, 'old.tgz'), userValues: {}})
    // redis is disabled; db renders as pg, with the tag its parent gives it under that alias
    assert.deepEqual(found.list().map((i) => [i.ref, i.foundIn.map((s) => s.chart)]), [[`${R}/team/postgres:2.0`, ['old/charts/db (as pg)']]])
  })

  it('puts global.imageRegistry in front of every image map, as Bitnami charts render it', async () => {
    const bitnami = await makeChartArchive(dir, {
      name: 'bitnamiish',
      version: '1.0.0',
      values: {global: {imageRegistry: ''}, image: {registry: 'docker.io', repository: 'bitnami/nginx', tag: '1.25'}, metrics: {image: {repository: 'bitnami/exporter', tag: '0.1'}}},
    })
    const tree = await readChartArchive(bitnami, 'bitnamiish.tgz')
    // an empty global changes nothing
    assert.deepEqual(discoverImages({tree, userValues: {}}).found.list().map((i) => i.ref), ['docker.io/bitnami/nginx:1.25', 'docker.io/bitnami/exporter:0.1'])
    const {found} = discoverImages({tree, userValues: {global: {imageRegistry: 'mirror.example:5000'}}})
    assert.deepEqual(found.list().map((i) => [i.ref, i.foundIn[0]?.how]), [['mirror.example:5000/bitnami/nginx:1.25', 'user values'], ['mirror.example:5000/bitnami/exporter:0.1', 'user values']])
  })

  it('refuses a chart whose name or version would escape charts/ in the bundle', async () => {
    for (const [name, version] of [['../../evil', '1.0.0'], ['ok', '1.0.0/../../x']]) {
      const bad = join(dir, 'bad.tgz')
      await writeFile(bad, gzipSync(craftTar([{path: 'ok/Chart.yaml', body: Buffer.from(`apiVersion: v2\nname: "${name}"\nversion: "${version}"\n`)}])))
      await rejectsWithCode(readChartArchive(bad, 'bad.tgz'), 'INPUT_INVALID', 'bad.tgz: ok/Chart.yaml')
    }
  })

  it('reads ingress-nginx\'s image shape: {registry, image, tag, digest}', async () => {
    const digest = `sha256:${'c'.repeat(64)}`
    const chart = await makeChartArchive(dir, {
      name: 'ingressish',
      version: '4.9.0',
      values: {controller: {image: {registry: 'registry.k8s.io', image: 'ingress-nginx/controller', tag: 'v1.9.4', digest, pullPolicy: 'IfNotPresent'}}, defaultBackend: {image: {registry: 'registry.k8s.io', image: 'defaultbackend-amd64', tag: '1.5'}}},
    })
    const {found} = discoverImages({tree: await readChartArchive(chart, 'ingressish.tgz'), userValues: {}})
    assert.deepEqual(found.list().map((i) => [i.ref, i.foundIn[0]?.where]), [
      [`registry.k8s.io/ingress-nginx/controller:v1.9.4@${digest}`, 'controller.image.image'],
      ['registry.k8s.io/defaultbackend-amd64:1.5', 'defaultBackend.image.image'],
    ])
  })

  it('says when a dependency is not in the archive, since its images cannot be found', async () => {
    const chart = await makeChartArchive(dir, {name: 'unvendored', version: '1.0.0', dependencies: [{name: 'redis', version: '18.0.0'}], values: {image: {repository: `${R}/team/app`, tag: '1'}}})
    const {notes} = discoverImages({tree: await readChartArchive(chart, 'unvendored.tgz'), userValues: {}})
    assert.equal(notes.length, 1)
    assert.match(notes[0] as string, /^unvendored: dependency redis is not in the archive's charts\/ folder/)
  })

  it('takes pod-spec images from what helm template renders: init and ephemeral containers, CronJobs, several documents', () => {
    const found = new ImageFindings()
    imagesInRendered([
      '---\n# Source: x/templates/cron.yaml\napiVersion: batch/v1\nkind: CronJob\nmetadata: {name: backup}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          initContainers: [{name: w, image: "busybox:1.36"}]\n          containers: [{name: b, image: "reg.example/backup:2@sha256:' + 'd'.repeat(64) + '"}]\n',
      '---\napiVersion: v1\nkind: Pod\nmetadata: {name: dbg}\nspec:\n  ephemeralContainers: [{name: e, image: "reg.example/debug:1"}]\n  containers: [{name: m, image: "nginx:1.25"}]\n',
      '---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {image: "not/an-image:1"}\n',
    ].join(''), 'x', found)
    assert.deepEqual(found.list().map((i) => [i.ref, i.foundIn[0]?.where]).sort(), [
      ['docker.io/library/busybox:1.36', 'CronJob/backup initContainers'],
      ['docker.io/library/nginx:1.25', 'Pod/dbg containers'],
      [`reg.example/backup:2@sha256:${'d'.repeat(64)}`, 'CronJob/backup containers'],
      ['reg.example/debug:1', 'Pod/dbg ephemeralContainers'],
    ])
  })

  it('a null in the user\'s values deletes the chart\'s default, also for a subchart and across several values files', async () => {
    const tree = await readChartArchive(archive, 'webapp.tgz')
    // as helm -f a.yaml -f b.yaml: the second file nulls what the chart sets; a third sets a tag the null does not touch
    const {found} = discoverImages({tree, userValues: mergeValues(mergeValues({}, {sidecar: {image: null}}, true), {cache: {image: null}}, true)})
    const refs = found.list().map((i) => i.ref)
    assert.ok(!refs.includes(`${R}/team/sidecar:1.0`))
    assert.ok(!refs.some((r) => r.startsWith(`${R}/team/cache:`)), refs.join(' '))
    assert.ok(refs.includes(`${R}/team/app:1.0`))
  })

  it('reads values as Helm does (YAML 1.1): a condition set to "no" disables the subchart', async () => {
    const yes = join(dir, 'yesno.tgz')
    const file = (path: string, text: string) => ({path, body: Buffer.from(text)})
    await writeFile(yes, gzipSync(craftTar([
      file('yesno/Chart.yaml', 'apiVersion: v2\nname: yesno\nversion: 1.0.0\ndependencies:\n  - {name: sub, version: 1.0.0, condition: sub.enabled}\n'),
      file('yesno/values.yaml', 'sub:\n  enabled: no\n'),
      file('yesno/charts/sub/Chart.yaml', 'apiVersion: v2\nname: sub\nversion: 1.0.0\n'),
      file('yesno/charts/sub/values.yaml', `image: {repository: ${R}/team/sub, tag: "1"}\n`),
    ])))
    assert.deepEqual(discoverImages({tree: await readChartArchive(yes, 'yesno.tgz'), userValues: {}}).found.list(), [])
  })
})
