/*
 * Helm charts made in code for the chart tests: archives written with node-tar the way `helm
 * package` lays them out, a chart pushed to a real docker-registry as an OCI artifact through the
 * distribution API, and a classic chart repository (index.yaml) served over HTTPS on 127.0.0.1.
 */
import {createHash} from 'node:crypto'
import {mkdir, readFile, rm, writeFile} from 'node:fs/promises'
import {createServer} from 'node:https'
import {dirname, join} from 'node:path'
import {create as createTar} from 'tar'
import {stringify} from 'yaml'

import {cleanupAll, onCleanup, tempDir, type Pki} from '../support/registry.js'

// Registries, servers and folders the chart tests start are undone with everything else the suite
// started, once at the end (a describe-level cleanupAll would also stop the other areas' shared fixtures).
after(async () => {
  await cleanupAll()
})

export interface ChartDef {
  name: string
  version: string
  appVersion?: string
  annotations?: Record<string, string>
  dependencies?: {name: string; version: string; alias?: string; condition?: string}[]
  values?: Record<string, unknown>
  /** extra files inside the chart folder (templates/..., images.lock) */
  files?: Record<string, string>
  /** subcharts unpacked under charts/NAME/ */
  subcharts?: ChartDef[]
  /** subcharts packed as charts/NAME-VERSION.tgz */
  packed?: ChartDef[]
}

async function writeChartDir(dir: string, def: ChartDef): Promise<void> {
  await mkdir(join(dir, 'templates'), {recursive: true})
  const meta = {apiVersion: 'v2', name: def.name, version: def.version, ...(def.appVersion ? {appVersion: def.appVersion} : {}), description: `${def.name} for tests`, ...(def.annotations ? {annotations: def.annotations} : {}), ...(def.dependencies ? {dependencies: def.dependencies} : {})}
  await writeFile(join(dir, 'Chart.yaml'), stringify(meta))
  await writeFile(join(dir, 'values.yaml'), stringify(def.values ?? {}))
  await writeFile(join(dir, 'templates', 'deployment.yaml'), 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}-{{ .Chart.Name }}\nspec:\n  template:\n    spec:\n      containers:\n        - name: main\n          image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"\n')
  for (const [path, text] of Object.entries(def.files ?? {})) {
    await mkdir(dirname(join(dir, path)), {recursive: true})
    await writeFile(join(dir, path), text)
  }
  for (const sub of def.subcharts ?? []) await writeChartDir(join(dir, 'charts', sub.name), sub)
  for (const sub of def.packed ?? []) {
    await mkdir(join(dir, 'charts'), {recursive: true})
    await makeChartArchive(join(dir, 'charts'), sub)
  }
}

/** NAME-VERSION.tgz in `outDir`, one top folder NAME/ as helm package writes it. */
export async function makeChartArchive(outDir: string, def: ChartDef): Promise<string> {
  const work = join(outDir, `.work-${def.name}-${Math.random().toString(36).slice(2, 8)}`)
  await writeChartDir(join(work, def.name), def)
  const file = join(outDir, `${def.name}-${def.version}.tgz`)
  await createTar({gzip: true, file, cwd: work, portable: true, mtime: new Date('2025-01-01T00:00:00Z')}, [def.name])
  await rm(work, {recursive: true, force: true})
  return file
}

export const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`

export const HELM_CONFIG = 'application/vnd.cncf.helm.config.v1+json'
export const HELM_CONTENT = 'application/vnd.cncf.helm.chart.content.v1.tar+gzip'

async function putBlob(host: string, repository: string, data: Buffer): Promise<string> {
  const digest = sha256(data)
  const start = await fetch(`http://${host}/v2/${repository}/blobs/uploads/`, {method: 'POST'})
  if (start.status !== 202) throw new Error(`upload start: ${start.status}`)
  const location = new URL(start.headers.get('location') as string, `http://${host}`)
  location.searchParams.set('digest', digest)
  const put = await fetch(location, {method: 'PUT', body: new Uint8Array(data), headers: {'content-type': 'application/octet-stream'}})
  if (put.status !== 201) throw new Error(`upload: ${put.status} ${await put.text()}`)
  return digest
}

/**
 * Pushes a chart archive to a plain-HTTP registry as `helm push` does: config = Chart.yaml as JSON,
 * one content layer = the archive, the version as the tag. Returns the manifest digest.
 */
export async function pushChart(host: string, repository: string, tgz: string, metadata: Record<string, unknown>): Promise<{digest: string; manifest: Buffer}> {
  const content = await readFile(tgz)
  const config = Buffer.from(JSON.stringify(metadata))
  await putBlob(host, repository, config)
  await putBlob(host, repository, content)
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {mediaType: HELM_CONFIG, digest: sha256(config), size: config.length},
    layers: [{mediaType: HELM_CONTENT, digest: sha256(content), size: content.length}],
    annotations: {'org.opencontainers.image.title': String(metadata.name), 'org.opencontainers.image.version': String(metadata.version), 'org.opencontainers.image.created': '2025-01-01T00:00:00Z'},
  }))
  const res = await fetch(`http://${host}/v2/${repository}/manifests/${String(metadata.version).replaceAll('+', '_')}`, {method: 'PUT', body: new Uint8Array(manifest), headers: {'content-type': 'application/vnd.oci.image.manifest.v1+json'}})
  if (res.status !== 201) throw new Error(`manifest: ${res.status} ${await res.text()}`)
  return {digest: sha256(manifest), manifest}
}

export interface ChartRepo {
  url: string
  /** request paths seen */
  requests: string[]
  files: Map<string, Buffer>
  stop(): Promise<void>
}

/** A classic chart repository over HTTPS: index.yaml and the archives, from memory; behind basic auth when given. */
export async function startChartRepo(pki: Pki, files: Record<string, Buffer | string>, basicAuth?: {user: string; password: string}): Promise<ChartRepo> {
  const map = new Map(Object.entries(files).map(([k, v]) => [k, Buffer.from(v)]))
  const requests: string[] = []
  const [cert, key] = await Promise.all([readFile(pki.serverCert), readFile(pki.serverKey)])
  const server = createServer({cert, key}, (req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string
    requests.push(path)
    if (basicAuth && req.headers.authorization !== `Basic ${Buffer.from(`${basicAuth.user}:${basicAuth.password}`).toString('base64')}`) {
      res.writeHead(401, {'www-authenticate': 'Basic realm="charts"'}).end('unauthorized')
      return
    }
    const body = map.get(path)
    if (!body) {
      res.writeHead(404).end('not found')
      return
    }
    res.writeHead(200, {'content-type': path.endsWith('.yaml') ? 'text/yaml' : 'application/gzip', 'content-length': body.length}).end(body)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as {port: number}).port
  const stop = () =>
    new Promise<void>((r) => {
      server.closeAllConnections()
      server.close(() => r())
    })
  onCleanup(stop)
  return {url: `https://127.0.0.1:${port}/stable`, requests, files: map, stop}
}

/** index.yaml as `helm repo index` writes it, for one or more archives. */
export function repoIndex(entries: {name: string; version: string; appVersion?: string; url: string; digest?: string}[]): string {
  const byName: Record<string, unknown[]> = {}
  for (const e of entries) (byName[e.name] ??= []).push({apiVersion: 'v2', name: e.name, version: e.version, ...(e.appVersion ? {appVersion: e.appVersion} : {}), urls: [e.url], created: '2025-01-01T00:00:00Z', ...(e.digest ? {digest: e.digest} : {})})
  return stringify({apiVersion: 'v1', entries: byName, generated: '2025-01-01T00:00:00Z'})
}

export {tempDir}
