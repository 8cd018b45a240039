import {execFile} from 'node:child_process'
import {constants} from 'node:fs'
import {access, copyFile, mkdir, writeFile} from 'node:fs/promises'
import {delimiter, isAbsolute, join, resolve} from 'node:path'
import {promisify} from 'node:util'
import {parse as parseYaml, stringify} from 'yaml'

import type {BuildContext} from '../bundle/build-context.js'
import {fileEntry, bufferEntry, type EntrySource} from '../bundle/entry.js'
import type {BlobFetcher} from '../images/fetcher.js'
import type {ResolvedImage} from '../images/resolve.js'
import type {RegistryPool} from '../registry/client.js'
import {formatReference, parseReference} from '../registry/reference.js'
import type {ReferrerRecord} from '../referrers/model.js'
import type {SpecChart, SpecImage} from '../spec/schema.js'
import {AirlockError} from '../ui/errors.js'
import {readSmallFile} from '../util/fs.js'
import {readChartArchive, type ChartMetadata} from './archive.js'
import {chartToArtifact} from './artifact.js'
import {discoverImages, ImageFindings, imagesInRendered, type FoundImage} from './discover.js'
import {fetchChart, ociChartReference, type FetchedChart} from './fetch.js'
import {chartTag} from './media-types.js'
import {getValue, mergeValues, valueAt, type Values} from './values.js'

const run = promisify(execFile)

/** Per-chart facts kept in manifest.json `extensions.charts` for `bundle inspect`, `images list` and `images push`. */
export interface ChartExtension {
  name: string
  version: string
  appVersion?: string
  /** as the spec names it */
  source: string
  /** its name in images/index.json (org.opencontainers.image.ref.name): HOST/PATH/NAME:TAG */
  ref: string
  /** the OCI manifest digest in images/ (unchanged from the registry for an OCI chart) */
  digest: string
  /** SHA-256 of the chart archive (the content layer) */
  contentDigest: string
  /** the archive as a bundle file: charts/NAME-VERSION.tgz */
  archive: string
  /** the value path that points the chart's images at a registry, and the template push fills */
  registryValue?: string
  /**
   * the repository path below the registry host that the registry value held at build
   * (`ghcr.io/wallaroolabs` -> `wallaroolabs`): images push keeps it below the site registry
   */
  registryPath?: string
  siteValues?: string
  /** every image the chart needs, with where each was found */
  images: FoundImage[]
  /** how discovery ran: "values and annotations", "... and helm template", "off" */
  discovery: string
  /** an OCI chart's signatures and other referrers, carried beside it as an image's are */
  referrers?: ReferrerRecord[]
}

/** A chart image to resolve with spec.images. */
export interface ChartImageRequest {
  specRef: string
  /** the chart's spec entry: bundles/x.yaml#spec.charts[2] */
  subject: string
  platforms: string[]
  /** where the image was found, for errors: "values image.repository" */
  foundIn: string
  /** the chart entry's own `images:` item, when it is a map: its verify and excludeReferrers apply */
  entry?: Exclude<SpecImage, string>
}

export interface ChartPlan {
  /** the chart artifacts, stored in images/ beside the images */
  artifacts: ResolvedImage[]
  images: ChartImageRequest[]
  entries: EntrySource[]
  extension: ChartExtension[]
  notes: string[]
  /** OCI charts for the lock file: ref -> manifest digest */
  locks: {ref: string; name: string; digest: string}[]
}

export interface PlanEnv {
  pool: RegistryPool
  fetcher: BlobFetcher
  /** digests of an earlier --lock, by ref */
  locked: Map<string, string>
  /** platforms a chart's images get when the chart entry names none */
  platforms: string[]
}

/** The key an OCI chart has in the lock file: oci://HOST/PATH/NAME:VERSION. */
export function chartLockKey(chart: SpecChart): string | undefined {
  return chart.ref !== undefined && chart.version !== undefined ? `${chart.ref}:${chart.version}` : undefined
}

/**
 * The name a chart gets in the layout, which `images push` maps to the site registry:
 * an OCI chart keeps its reference; a repository chart is HOST/PATH/NAME of the repository URL; a
 * local chart is localhost/charts/NAME. The tag is the version, with "+" written "_" as Helm does.
 */
function layoutName(chart: SpecChart, metadata: ChartMetadata, subject: string): string {
  const tag = chartTag(metadata.version)
  const lower = metadata.name.toLowerCase()
  if (chart.ref !== undefined) return formatReference(ociChartReference(chart.ref, chart.version as string, subject))
  if (chart.repo !== undefined) {
    const url = new URL(chart.repo)
    const path = url.pathname.replace(/^\/+|\/+$/g, '').toLowerCase()
    try {
      return formatReference(parseReference(`${url.host}/${path ? `${path}/` : ''}${lower}:${tag}`))
    } catch {
      // a repository path that is no registry path (upper case, odd characters): name it as a local chart
    }
  }
  return formatReference(parseReference(`localhost/charts/${lower}:${tag}`, subject))
}

async function loadUserValues(chart: SpecChart, subject: string, baseDir: string): Promise<{values: Values; files: string[]}> {
  const items = chart.values === undefined ? [] : Array.isArray(chart.values) ? chart.values : [chart.values]
  let values: Values = {}
  const files: string[] = []
  for (const [i, item] of items.entries()) {
    const where = `${subject}.values${Array.isArray(chart.values) ? `[${i}]` : ''}`
    let doc: unknown = item
    if (typeof item === 'string') {
      const file = isAbsolute(item) ? item : resolve(baseDir, item)
      let text: string
      try {
        text = (await readSmallFile(file, {what: 'values file', maxBytes: 8 << 20})).toString('utf8')
      } catch (error) {
        if (error instanceof AirlockError) throw new AirlockError(error.code, `${where}: ${error.message}`, {subject: where, hint: 'values files are relative to the spec file'})
        throw error
      }
      try {
        doc = parseYaml(text, {maxAliasCount: 100, version: '1.1'}) ?? {} // as helm -f reads it (YAML 1.1)
      } catch (error) {
        throw new AirlockError('SPEC_INVALID', `${where}: ${file} is not YAML: ${(error as Error).message.split('\n')[0]}`, {subject: where, hint: 'a values file is a YAML map, as for helm -f'})
      }
      files.push(file)
    }
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new AirlockError('SPEC_INVALID', `${where}: values must be a map`, {subject: where, hint: 'a values file is a YAML map, as for helm -f'})
    values = mergeValues(values, doc as Values, true)
  }
  return {values, files}
}

/** `helm` on PATH, or undefined: discovery then works from values and annotations only. */
export async function findHelm(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'helm')
    if (await access(candidate, constants.X_OK).then(() => true, () => false)) return candidate
  }
  return undefined
}

/**
 * `helm template` with the user's values: every pod-spec image of what would be installed. A
 * failure does not fail the build (a chart may need values only the site has); it is a note, and
 * the images found without helm stay.
 */
async function renderWithHelm(helm: string, file: string, userValues: Values, chart: string, workDir: string, index: number, found: ImageFindings): Promise<string | undefined> {
  const valuesFile = join(workDir, 'charts', `${index}-values.json`)
  await mkdir(join(workDir, 'charts'), {recursive: true})
  await writeFile(valuesFile, JSON.stringify(userValues))
  try {
    const {stdout} = await run(helm, ['template', 'airlock', file, '--values', valuesFile], {timeout: 120_000, maxBuffer: 64 << 20, env: {...process.env, HELM_NO_PLUGINS: '1'}})
    imagesInRendered(stdout, chart, found)
    return undefined
  } catch (error) {
    const e = error as {stderr?: string; message: string}
    return `${chart}: helm template failed (${(e.stderr ?? e.message).trim().split('\n')[0]}); its images are those found in values and annotations`
  }
}

function checkMetadata(chart: SpecChart, fetched: FetchedChart, metadata: ChartMetadata, subject: string): void {
  const wantName = chart.ref !== undefined ? chart.ref.split('/').pop() : chart.name
  if (wantName !== undefined && metadata.name !== wantName) {
    throw new AirlockError('INPUT_INVALID', `${subject}: ${fetched.source} holds chart ${metadata.name}, not ${wantName}`, {subject, hint: 'check the chart name in the spec'})
  }
  if (chart.version !== undefined && metadata.version !== chart.version) {
    throw new AirlockError('INPUT_INVALID', `${subject}: ${fetched.source} holds ${metadata.name} version ${metadata.version}, not ${chart.version}`, {subject: `${subject}.version`, hint: 'the archive is not the version the spec names'})
  }
}

/**
 * The path part of a registry value: `ghcr.io/wallaroolabs` -> `wallaroolabs`, `quay.io` -> ``,
 * `wallaroolabs` (a Docker Hub namespace) -> `wallaroolabs`. `images push` keeps an image's repository
 * path below the site registry, so the site's value is HOST[/PREFIX] followed by this path.
 */
export function registryPathOf(value: unknown): string {
  if (typeof value !== 'string') return ''
  const parts = value.trim().replace(/^[a-z]+:\/\//, '').split('/').filter(Boolean)
  if (parts.length > 0 && (/[.:]/.test(parts[0] as string) || parts[0] === 'localhost')) parts.shift()
  return parts.join('/').toLowerCase()
}

function siteValuesTemplate(name: string, registryValue: string, registryPath: string): string {
  return [
    `# Values for helm install/upgrade of ${name} that point its images at the site registry.`,
    '# airlock images push --registry HOST[/PREFIX] prints this with SITE_REGISTRY filled in',
    '# (and writes it with --values-dir); by hand: replace ${SITE_REGISTRY} with HOST[/PREFIX].',
    stringify(valueAt(registryValue, `\${SITE_REGISTRY}${registryPath ? `/${registryPath}` : ''}`)).trimEnd(),
    '',
  ].join('\n')
}

/**
 * spec.charts: each chart fetched, turned into (or kept as) a Helm OCI artifact for images/, its
 * archive for charts/, and the images it needs found. Nothing is written into the bundle here: the
 * images step stores the artifacts and resolves the images with its own.
 */
export async function planCharts(ctx: BuildContext, env: PlanEnv): Promise<ChartPlan> {
  const charts = ctx.loaded.spec.spec.charts
  const plan: ChartPlan = {artifacts: [], images: [], entries: [], extension: [], notes: [], locks: []}
  const ca = ctx.options.caFile ? (await readSmallFile(ctx.options.caFile, {what: 'CA file'})).toString('utf8') : undefined
  const helm = charts.some((c) => c.discover) ? await findHelm() : undefined
  const byName = new Map<string, {digest: string; i: number}>()
  const archives = new Map<string, {sha256: string; i: number}>()
  for (const [i, chart] of charts.entries()) {
    const subject = `${ctx.loaded.path}#spec.charts[${i}]`
    ctx.progress(`fetching chart ${chart.ref ?? chart.name ?? chart.source}`)
    const lockKey = chartLockKey(chart)
    const fetched = await fetchChart(chart, subject, {pool: env.pool, fetcher: env.fetcher, workDir: ctx.workDir, baseDir: ctx.loaded.baseDir, ca, ...(lockKey && env.locked.has(lockKey) ? {lockedDigest: env.locked.get(lockKey)} : {})}, i)
    const tree = await readChartArchive(fetched.file, `${subject} (${fetched.source})`)
    checkMetadata(chart, fetched, tree.metadata, subject)
    const name = layoutName(chart, tree.metadata, subject)
    // An OCI chart is kept as it is (its blobs were registered when fetched); a .tgz becomes one.
    const made = fetched.oci ? undefined : await chartToArtifact(fetched, tree.metadata, ctx.now, join(ctx.workDir, `chart-layout-${i}`))
    const origin = fetched.oci ? {kind: 'registry' as const, registry: fetched.oci.ref.registry, repository: fetched.oci.ref.repository} : {kind: 'layout' as const, dir: (made as {layoutDir: string}).layoutDir}
    const {manifest, blobs} = fetched.oci ?? (made as NonNullable<typeof made>)
    if (made) for (const b of blobs) env.fetcher.register(b.digest, b.size, origin, `chart ${name} blob ${b.digest}`)
    const first = byName.get(name)
    if (first && first.digest !== manifest.digest) throw new AirlockError('SPEC_INVALID', `${subject}: ${name} is also spec.charts[${first.i}], with other content`, {subject, hint: 'list each chart version once'})
    if (!first) {
      byName.set(name, {digest: manifest.digest, i})
      plan.artifacts.push({specRef: fetched.source, name, sourceDigest: manifest.digest, top: manifest, documents: [manifest], blobs, origin, platforms: []})
    }
    if (fetched.oci && lockKey) plan.locks.push({ref: lockKey, name, digest: manifest.digest})
    if (chart.repo !== undefined && !fetched.indexDigest) plan.notes.push(`${subject}: ${fetched.source.split(' ')[0]}/index.yaml gives no digest for ${tree.metadata.name} ${tree.metadata.version}; the archive is carried as downloaded`)

    // Images: the spec's own list, then what discovery finds.
    const found = new ImageFindings()
    // the entry's own images: a reference that does not parse is the user's mistake, not a note;
    // each keeps its own platforms, verify and excludeReferrers, as in spec.images
    const listed = new Map<string, {subject: string; entry?: Exclude<SpecImage, string>}>()
    chart.images.forEach((img, j) => {
      const text = typeof img === 'string' ? img : img.ref
      const where = `${subject}.images[${j}]`
      let ref: string
      try {
        ref = formatReference(parseReference(text.trim(), where))
      } catch (error) {
        if (!(error instanceof AirlockError)) throw error
        throw new AirlockError('SPEC_INVALID', `${where}: ${text} is not an image reference (${error.message})`, {subject: where, hint: 'write REGISTRY/REPOSITORY:TAG or @sha256:DIGEST'})
      }
      if (!listed.has(ref)) listed.set(ref, {subject: where, ...(typeof img === 'string' ? {} : {entry: img})})
      found.add(text, {chart: tree.metadata.name, how: 'spec', where: `spec.charts[${i}].images[${j}]`})
    })
    let discovery = 'off'
    if (chart.discover) {
      const {values: userValues} = await loadUserValues(chart, subject, ctx.loaded.baseDir)
      const result = discoverImages({tree, userValues, ...(chart.registryValue ? {registryValue: chart.registryValue} : {})}, found)
      plan.notes.push(...result.notes)
      discovery = 'values and annotations'
      if (helm) {
        const note = await renderWithHelm(helm, fetched.file, userValues, tree.metadata.name, ctx.workDir, i, found)
        if (note) plan.notes.push(note)
        else discovery = 'values, annotations and helm template'
      }
      for (const s of found.skipped) plan.notes.push(`${subject}: ${s.source.chart} ${s.source.how} ${s.source.where}: "${s.text}" is not an image reference; skipped`)
    }
    const images = found.list()
    for (const img of images) {
      const own = listed.get(img.ref)
      plan.images.push({
        specRef: img.ref,
        subject: own?.subject ?? subject,
        foundIn: img.foundIn.map((s) => `${s.chart}: ${s.how} ${s.where}`).join('; '),
        platforms: own?.entry?.platforms ?? chart.platforms ?? env.platforms,
        ...(own?.entry ? {entry: own.entry} : {}),
      })
    }

    const base = `${tree.metadata.name}-${tree.metadata.version}`
    const archive = `charts/${base}.tgz`
    // its own copy: the layout's blob file is removed once it is written into images/
    const copy = join(ctx.workDir, 'charts', `${i}-archive.tgz`)
    await mkdir(join(ctx.workDir, 'charts'), {recursive: true})
    await copyFile(fetched.file, copy)
    const sameArchive = archives.get(archive)
    if (sameArchive && sameArchive.sha256 !== fetched.sha256) {
      throw new AirlockError('SPEC_INVALID', `${subject}: ${tree.metadata.name} ${tree.metadata.version} is also spec.charts[${sameArchive.i}], with another archive`, {subject, hint: 'two different archives claim the same chart name and version; list one of them'})
    }
    if (!sameArchive) {
      archives.set(archive, {sha256: fetched.sha256, i})
      plan.entries.push({...(await fileEntry(archive, copy, 'chart')), label: `chart ${name} archive`})
    }
    let siteValues: string | undefined
    let registryPath = ''
    if (chart.registryValue) {
      // what the value is when the chart renders: the user's values over the chart's own
      const {values: userValues} = await loadUserValues(chart, subject, ctx.loaded.baseDir)
      registryPath = registryPathOf(getValue(mergeValues(tree.values, userValues), chart.registryValue))
      siteValues = `charts/${base}.site-values.yaml`
      if (!plan.entries.some((e) => e.path === siteValues)) plan.entries.push(bufferEntry(siteValues, siteValuesTemplate(tree.metadata.name, chart.registryValue, registryPath), 'chart'))
    }
    plan.extension.push({
      name: tree.metadata.name,
      version: tree.metadata.version,
      ...(tree.metadata.appVersion ? {appVersion: tree.metadata.appVersion} : {}),
      source: fetched.source,
      ref: name,
      digest: manifest.digest,
      contentDigest: `sha256:${fetched.sha256}`,
      archive,
      ...(chart.registryValue ? {registryValue: chart.registryValue, ...(registryPath ? {registryPath} : {}), siteValues} : {}),
      images,
      discovery,
    })
  }
  if (!helm && charts.some((c) => c.discover)) plan.notes.push('charts: no helm on PATH, so images were found from values, annotations and images.lock only (docs/charts.md)')
  return plan
}
