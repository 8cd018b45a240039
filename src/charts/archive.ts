import {createReadStream} from 'node:fs'
import {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {Parser, type ReadEntry} from 'tar'
import {parse as parseYaml} from 'yaml'

import {AirlockError} from '../ui/errors.js'

/** Chart.yaml, as far as airlock reads it. */
export interface ChartMetadata {
  apiVersion?: string
  name: string
  version: string
  appVersion?: string
  description?: string
  annotations?: Record<string, string>
  dependencies?: {name: string; alias?: string; condition?: string; tags?: string[]; version?: string; repository?: string}[]
  [key: string]: unknown
}

/** One chart of an archive: the chart itself or a subchart under charts/ (unpacked or a nested .tgz). */
export interface ChartNode {
  /** where it sits: "app", "app/charts/redis" */
  path: string
  metadata: ChartMetadata
  values: Record<string, unknown>
  /** images.lock of the Distribution Tooling for Helm, when the chart carries one */
  imagesLock?: unknown
  children: ChartNode[]
}

// A chart archive is read, never unpacked: only these few small files are kept in memory.
const MAX_TEXT = 8 << 20
const MAX_NESTED = 64 << 20
/** uncompressed bytes read from one archive, nested ones included: a gzip bomb stops here */
const MAX_TOTAL = 1 << 30
const MAX_DEPTH = 6
const CHART_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,249}$/
const CHART_VERSION = /^v?[0-9A-Za-z][0-9A-Za-z.+-]{0,127}$/

interface Collected {
  chartYaml?: Buffer
  values?: Buffer
  imagesLock?: Buffer
  /** apiVersion v1 charts list their dependencies here, not in Chart.yaml */
  requirements?: Buffer
  nested: {name: string; data: Buffer}[]
}

/**
 * Splits an archive path into the chart folder it belongs to and the file inside that chart:
 * `app/charts/redis/values.yaml` -> ["app/charts/redis", "values.yaml"]. A subchart folder is always
 * `charts/NAME` right below a chart folder, so templates/charts/... is not mistaken for one.
 */
function splitChartPath(path: string): {chart: string; rest: string[]} | undefined {
  const segs = path.replace(/^\.\//, '').split('/').filter((s) => s !== '' && s !== '.')
  if (segs.length < 2 || segs.includes('..')) return undefined
  let i = 1
  while (segs[i] === 'charts' && i + 2 < segs.length) i += 2
  return {chart: segs.slice(0, i).join('/'), rest: segs.slice(i)}
}

async function readBody(entry: ReadEntry, max: number, what: string, subject: string): Promise<Buffer> {
  if ((entry.size ?? 0) > max) {
    entry.resume()
    throw new AirlockError('INPUT_INVALID', `${subject}: ${what} is ${entry.size} bytes, more than a chart file can be`, {subject, hint: 'this is not a Helm chart archive, or a hostile one'})
  }
  const chunks: Buffer[] = []
  for await (const c of entry as AsyncIterable<Buffer>) chunks.push(c)
  return Buffer.concat(chunks)
}

async function collect(source: Readable, subject: string, budget: {left: number}): Promise<Map<string, Collected>> {
  const charts = new Map<string, Collected>()
  const reads: Promise<void>[] = []
  const parser = new Parser({strict: true})
  parser.on('entry', (entry: ReadEntry) => {
    budget.left -= entry.size ?? 0
    if (budget.left < 0) {
      entry.resume()
      parser.abort(new AirlockError('INPUT_INVALID', `${subject}: the chart archive unpacks to more than ${MAX_TOTAL} bytes`, {subject, hint: 'a Helm chart is small; this archive is not one'}))
      return
    }
    const where = entry.type === 'File' || entry.type === 'OldFile' ? splitChartPath(entry.path) : undefined
    if (!where) {
      entry.resume()
      return
    }
    const c = charts.get(where.chart) ?? {nested: []}
    charts.set(where.chart, c)
    const file = where.rest.join('/')
    const take = (max: number, set: (b: Buffer) => void) => {
      const read = readBody(entry, max, entry.path, subject).then(set)
      read.catch(() => {}) // reported by Promise.all below, once the archive has been walked
      reads.push(read)
    }
    if (file === 'Chart.yaml') take(MAX_TEXT, (b) => (c.chartYaml = b))
    else if (file === 'values.yaml') take(MAX_TEXT, (b) => (c.values = b))
    else if (file === 'images.lock') take(MAX_TEXT, (b) => (c.imagesLock = b))
    else if (file === 'requirements.yaml') take(MAX_TEXT, (b) => (c.requirements = b))
    else if (where.rest.length === 2 && where.rest[0] === 'charts' && /\.tgz$/.test(where.rest[1] as string)) take(MAX_NESTED, (b) => c.nested.push({name: where.rest[1] as string, data: b}))
    else entry.resume()
  })
  try {
    await pipeline(source, parser)
    await Promise.all(reads)
  } catch (error) {
    if (error instanceof AirlockError) throw error
    throw new AirlockError('INPUT_INVALID', `${subject} is not a Helm chart archive (.tgz): ${(error as Error).message}`, {subject, hint: 'make one with helm package, or check the download', cause: error})
  }
  return charts
}

function parseYamlFile(data: Buffer, subject: string): unknown {
  try {
    // Helm reads charts with go-yaml v2, which is YAML 1.1: `enabled: no` is false, as Helm renders it
    return parseYaml(data.toString('utf8'), {maxAliasCount: 100, version: '1.1'})
  } catch (error) {
    throw new AirlockError('INPUT_INVALID', `${subject} is not valid YAML: ${(error as Error).message.split('\n')[0]}`, {subject, hint: 'fix the chart, or tell the chart\'s maintainers', cause: error})
  }
}

function checkMetadata(doc: unknown, subject: string): ChartMetadata {
  const m = doc as ChartMetadata | null
  if (!m || typeof m !== 'object' || typeof m.name !== 'string' || m.name === '' || (typeof m.version !== 'string' && typeof m.version !== 'number')) {
    throw new AirlockError('INPUT_INVALID', `${subject} has no name and version`, {subject, hint: 'every chart\'s Chart.yaml names it and gives its version'})
  }
  const version = String(m.version)
  // the name and version become file and registry names (charts/NAME-VERSION.tgz): Helm's own rules
  if (!CHART_NAME.test(m.name) || !CHART_VERSION.test(version)) {
    throw new AirlockError('INPUT_INVALID', `${subject}: chart name ${JSON.stringify(m.name)} or version ${JSON.stringify(version)} is not one Helm accepts`, {subject, hint: 'a chart name is letters, digits, ".", "_" and "-"; a version is SemVer 2 (1.2.3)'})
  }
  return {...m, version, ...(m.appVersion === undefined ? {} : {appVersion: String(m.appVersion)})}
}

function asValues(doc: unknown): Record<string, unknown> {
  return doc && typeof doc === 'object' && !Array.isArray(doc) ? (doc as Record<string, unknown>) : {}
}

async function readTree(source: Readable, subject: string, depth: number, budget: {left: number}): Promise<ChartNode> {
  const charts = await collect(source, subject, budget)
  const nodes = new Map<string, ChartNode>()
  for (const [dir, c] of charts) {
    if (!c.chartYaml) continue
    const metadata = checkMetadata(parseYamlFile(c.chartYaml, `${subject}: ${dir}/Chart.yaml`), `${subject}: ${dir}/Chart.yaml`)
    // Helm 2 (apiVersion v1) charts name their subcharts' conditions and aliases in requirements.yaml;
    // Helm 3 reads it into the chart's metadata whatever the apiVersion, so it wins here too
    if (c.requirements) {
      const deps = (parseYamlFile(c.requirements, `${subject}: ${dir}/requirements.yaml`) as {dependencies?: unknown} | null)?.dependencies
      if (Array.isArray(deps)) metadata.dependencies = deps as ChartMetadata['dependencies']
    }
    nodes.set(dir, {
      path: dir,
      metadata,
      values: c.values ? asValues(parseYamlFile(c.values, `${subject}: ${dir}/values.yaml`)) : {},
      ...(c.imagesLock ? {imagesLock: parseYamlFile(c.imagesLock, `${subject}: ${dir}/images.lock`)} : {}),
      children: [],
    })
  }
  const roots = [...nodes.keys()].filter((d) => !d.includes('/'))
  if (roots.length !== 1) {
    throw new AirlockError('INPUT_INVALID', `${subject}: ${roots.length === 0 ? 'no Chart.yaml in a top folder' : `${roots.length} top folders with a Chart.yaml`}; a chart archive holds one chart folder`, {subject, hint: 'make the archive with helm package'})
  }
  for (const [dir, node] of nodes) {
    const parent = dir.includes('/') ? nodes.get(dir.split('/').slice(0, -2).join('/')) : undefined
    parent?.children.push(node)
  }
  for (const [dir, c] of charts) {
    const owner = nodes.get(dir)
    if (!owner) continue
    for (const n of c.nested) {
      if (depth >= MAX_DEPTH) throw new AirlockError('INPUT_INVALID', `${subject}: subcharts nested more than ${MAX_DEPTH} deep`, {subject})
      owner.children.push(await readTree(Readable.from([n.data]), `${subject}: ${dir}/charts/${n.name}`, depth + 1, budget))
    }
  }
  return nodes.get(roots[0] as string) as ChartNode
}

/**
 * Reads a chart archive (gzip tar, as `helm package` writes) in one streaming pass: every chart's
 * Chart.yaml, values.yaml and images.lock, subcharts at any depth whether unpacked under charts/
 * or packed as charts/NAME-VERSION.tgz. Templates are not read: image discovery without helm works
 * from values and annotations (src/charts/discover.ts).
 */
export async function readChartArchive(file: string, subject: string): Promise<ChartNode> {
  const tree = await readTree(createReadStream(file, {highWaterMark: 1 << 20}), subject, 0, {left: MAX_TOTAL})
  // a subchart folder's path under the top one: "app/charts/redis" however it was packed
  const fix = (n: ChartNode, path: string) => {
    n.path = path
    for (const c of n.children) fix(c, `${path}/charts/${c.metadata.name}`)
  }
  fix(tree, tree.metadata.name)
  return tree
}
