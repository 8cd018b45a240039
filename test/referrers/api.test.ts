/*
 * A registry with the OCI 1.1 referrers API: Debian's docker-registry 2.8 has none, so the test puts
 * a small front in front of one that implements what distribution 3 and Zot do: it answers
 * GET /v2/NAME/referrers/DIGEST from the manifests pushed with a `subject`, and acknowledges such a
 * PUT with the OCI-Subject header. Everything else goes to the real registry.
 */
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {writeFile} from 'node:fs/promises'
import {createServer, request, type IncomingMessage, type ServerResponse} from 'node:http'
import {join} from 'node:path'

import {runCli} from '../support/cli.js'
import {makeImage, makeLayer, onCleanup, seed, startRegistry, tempDir, writeLayout, type Registry} from '../support/registry.js'
import {getSupplyFixture, pushArtifact, sbomReferrer, type SupplyFixture} from './fixture.js'

const env = {REGISTRY_AUTH_FILE: '/nonexistent', XDG_RUNTIME_DIR: '/nonexistent', DOCKER_CONFIG: '/nonexistent', AIRLOCK_REGISTRY_BACKOFF_MS: '20'}

interface ApiRegistry {
  host: string
  /** repository -> subject digest -> descriptors, as the API lists them */
  listed: Map<string, Map<string, Record<string, unknown>[]>>
  /** the request lines seen */
  seen: string[]
}

async function withReferrersApi(backend: Registry): Promise<ApiRegistry> {
  const listed = new Map<string, Map<string, Record<string, unknown>[]>>()
  const seen: string[] = []
  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer, extra: Record<string, string> = {}) => {
    const [host, port] = backend.host.split(':')
    const up = request({host, port: Number(port), method: req.method, path: req.url, headers: {...req.headers, host: backend.host}}, (r) => {
      res.writeHead(r.statusCode ?? 502, {...r.headers, ...extra})
      r.pipe(res)
    })
    up.end(body)
  }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const url = req.url ?? '/'
      seen.push(`${req.method} ${url.split('?')[0]}`)
      const api = /^\/v2\/(.+)\/referrers\/(sha256:[0-9a-f]{64})$/.exec(url.split('?')[0] as string)
      if (api && req.method === 'GET') {
        const manifests = listed.get(api[1] as string)?.get(api[2] as string) ?? []
        res.writeHead(200, {'content-type': 'application/vnd.oci.image.index.v1+json'}).end(JSON.stringify({schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests}))
        return
      }
      const put = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url)
      if (put && req.method === 'PUT') {
        const doc = JSON.parse(body.toString()) as {subject?: {digest: string}; artifactType?: string; config?: {mediaType: string}; annotations?: Record<string, string>}
        if (doc.subject) {
          const repo = listed.get(put[1] as string) ?? new Map()
          listed.set(put[1] as string, repo)
          const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`
          const list = repo.get(doc.subject.digest) ?? []
          if (!list.some((d: {digest?: string}) => d.digest === digest)) list.push({mediaType: req.headers['content-type'], digest, size: body.length, artifactType: doc.artifactType ?? doc.config?.mediaType, ...(doc.annotations ? {annotations: doc.annotations} : {})})
          repo.set(doc.subject.digest, list)
          forward(req, res, body, {'oci-subject': doc.subject.digest})
          return
        }
      }
      forward(req, res, body)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  onCleanup(() => new Promise<void>((r) => {
    server.closeAllConnections()
    server.close(() => r())
  }))
  return {host: `127.0.0.1:${(server.address() as {port: number}).port}`, listed, seen}
}

describe('referrers with a registry that has the referrers API', function () {
  this.timeout(180_000)
  let f: SupplyFixture
  let upstream: ApiRegistry
  let site: ApiRegistry
  let image: ReturnType<typeof makeImage>
  let sbom: ReturnType<typeof sbomReferrer>

  before(async () => {
    f = await getSupplyFixture()
    const [a, b] = await Promise.all([startRegistry(), startRegistry()])
    ;[upstream, site] = await Promise.all([withReferrersApi(a), withReferrersApi(b)])
    const dir = await tempDir('referrers-api')
    image = makeImage([makeLayer('api-app', 8_000)], {os: 'linux', architecture: 'amd64'}, 'api')
    await writeLayout(join(dir, 'layout'), [{tag: 'app', image}])
    await seed(join(dir, 'layout'), 'app', `${upstream.host}/team/app:1.0`)
    // pushed with its subject: the API lists it, and there is no tag schema index at all
    sbom = sbomReferrer(image.manifest, 'api')
    await pushArtifact(upstream.host, 'team/app', sbom)
  })

  it('finds a referrer through the API, and images push leaves the listing to a site registry that has it', async () => {
    const dir = await tempDir('referrers-api-build')
    const spec = join(dir, 'spec.yaml')
    await writeFile(spec, `apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: api, version: 1.0.0}\nspec:\n  images: ["${upstream.host}/team/app:1.0"]\n`)
    const out = join(dir, 'api.tar')
    const b = await runCli(['bundle', 'build', spec, '--key', f.keys.key, '--out', out, '--insecure-registry', upstream.host, '--json'], {env})
    assert.equal(b.code, 0, b.stderr + b.stdout)
    const listed = await runCli(['images', 'list', out, '--json'])
    assert.deepEqual(listed.json.images[0].referrers.map((r: {digest: string; via: string; kind: string}) => [r.digest, r.via, r.kind]), [[sbom.digest, 'referrers-api', 'sbom']])

    const p = await runCli(['images', 'push', out, '--registry', site.host, '--insecure-registry', site.host, '--trust', f.keys.pub, '--json'], {env})
    assert.equal(p.code, 0, p.stderr + p.stdout)
    assert.deepEqual(p.json.referrers, {pushed: 1, present: 0, tagged: 0, tagSchemaUpdates: 0})
    // the site's API answers the same query as upstream's, and no tag schema index was written
    const answer = (await (await fetch(`http://${site.host}/v2/team/app/referrers/${image.manifest.digest}`)).json()) as {manifests: {digest: string; artifactType: string}[]}
    assert.deepEqual(answer.manifests.map((m) => [m.digest, m.artifactType]), [[sbom.digest, 'application/spdx+json']])
    assert.ok(!site.seen.some((line) => line === `PUT /v2/team/app/manifests/${image.manifest.digest.replace(':', '-')}`), 'no tag schema index')
    const tagSchema = await fetch(`http://${site.host}/v2/team/app/manifests/${image.manifest.digest.replace(':', '-')}`, {method: 'HEAD'})
    assert.equal(tagSchema.status, 404)
  })
})
