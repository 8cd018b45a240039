import {parse as parseYaml} from 'yaml'

import {formatReference, parseReference} from '../registry/reference.js'
import type {ChartNode} from './archive.js'
import {effectiveCharts, getValue, type EffectiveChart, type Values} from './values.js'

/** Where one image was found. */
export interface ImageSource {
  /** the chart it belongs to: "app", "app/charts/redis" (with "as ALIAS" for an aliased subchart) */
  chart: string
  /** annotation helm.sh/images | annotation artifacthub.io/images | images.lock | values | helm template | spec */
  how: string
  /** the value path (image.repository), the lock entry, or the rendered object (Deployment/x) */
  where: string
}

export interface FoundImage {
  /** the full reference, normalised (docker.io/library/nginx:1.25) */
  ref: string
  foundIn: ImageSource[]
}

/** Collects findings by normalised reference, in the order first found. */
export class ImageFindings {
  private readonly byRef = new Map<string, FoundImage>()
  /** references that looked like images but did not parse, with where */
  readonly skipped: {text: string; source: ImageSource}[] = []

  add(text: string, source: ImageSource): void {
    let ref: string
    try {
      ref = formatReference(parseReference(text.trim()))
    } catch {
      this.skipped.push({text, source})
      return
    }
    const found = this.byRef.get(ref)
    if (!found) this.byRef.set(ref, {ref, foundIn: [source]})
    else if (!found.foundIn.some((s) => s.chart === source.chart && s.how === source.how && s.where === source.where)) found.foundIn.push(source)
  }

  list(): FoundImage[] {
    return [...this.byRef.values()]
  }
}

function label(c: EffectiveChart): string {
  return c.key === c.node.metadata.name ? c.node.path : `${c.node.path} (as ${c.key})`
}

/**
 * `helm.sh/images` and `artifacthub.io/images` hold a YAML list of `{name, image}` (Artifact Hub's
 * format) or of plain references.
 */
function fromAnnotations(node: ChartNode, chart: string, found: ImageFindings, notes: string[]): void {
  for (const key of ['helm.sh/images', 'artifacthub.io/images']) {
    const text = node.metadata.annotations?.[key]
    if (typeof text !== 'string') continue
    let list: unknown
    try {
      list = parseYaml(text, {maxAliasCount: 10})
    } catch {
      notes.push(`${chart}: annotation ${key} is not YAML; ignored`)
      continue
    }
    if (!Array.isArray(list)) {
      notes.push(`${chart}: annotation ${key} is not a list; ignored`)
      continue
    }
    list.forEach((item, i) => {
      const image = typeof item === 'string' ? item : (item as {image?: unknown})?.image
      if (typeof image === 'string') found.add(image, {chart, how: `annotation ${key}`, where: `[${i}]${typeof item === 'object' && typeof (item as {name?: unknown}).name === 'string' ? ` ${(item as {name: string}).name}` : ''}`})
    })
  }
}

/** images.lock as the Distribution Tooling for Helm writes it: `images: [{name, image, digests}]`. */
function fromImagesLock(node: ChartNode, chart: string, found: ImageFindings): void {
  const images = (node.imagesLock as {images?: unknown} | undefined)?.images
  if (!Array.isArray(images)) return
  images.forEach((item, i) => {
    const image = (item as {image?: unknown})?.image
    if (typeof image === 'string') found.add(image, {chart, how: 'images.lock', where: `images[${i}]`})
  })
}

const IMAGE_KEY = /(^|[a-z])image$/i
const HAS_HOST = /^[^/]+[.:][^/]*\//

function scalar(v: unknown): string | undefined {
  if (typeof v === 'string' && v !== '') return v
  if (typeof v === 'number') return String(v)
  return undefined
}

/**
 * Image references in a value tree, at any depth:
 *  - `{repository, tag?, digest?, registry?}` maps (Bitnami writes `{registry, repository, tag,
 *    digest}`; most charts `{repository, tag}`); a missing tag is the chart's appVersion, as
 *    `.Values.image.tag | default .Chart.AppVersion` makes it; a repository without a registry host
 *    takes the chart's registry value (`registryValue`) when the spec names one;
 *  - strings under a key ending in "image" (`image: nginx:1.25`, `initImage: ...`) that carry a tag
 *    or digest, or take one from a sibling `tag`/`imageTag`/`digest`, and a sibling `registry` when
 *    they name no registry host (ingress-nginx writes `{registry, image, tag, digest}`).
 */
function imagesInValues(values: Values, appVersion: string | undefined, registry: string | undefined): {text: string; where: string}[] {
  // Bitnami's common.images.image (and the many charts written after it): a non-empty
  // global.imageRegistry replaces every image map's registry
  const g = getValue(values, 'global.imageRegistry')
  const globalRegistry = typeof g === 'string' && g !== '' && !/\s/.test(g) ? g : undefined
  const out: {text: string; where: string}[] = []
  const walk = (node: unknown, path: string, depth: number) => {
    if (depth > 64 || node === null || typeof node !== 'object') return
    if (Array.isArray(node)) {
      node.forEach((v, i) => walk(v, `${path}[${i}]`, depth + 1))
      return
    }
    const map = node as Values
    const repository = scalar(map.repository)
    if (repository && !/\s/.test(repository)) {
      const digest = scalar(map.digest)
      const tag = scalar(map.tag) ?? (digest ? undefined : appVersion)
      const hasHost = HAS_HOST.test(repository)
      const host = (globalRegistry && (map.registry !== undefined || !hasHost) ? globalRegistry : undefined) ?? scalar(map.registry) ?? (hasHost ? undefined : registry)
      const tagged = /:[^/]*$/.test(repository)
      if (tag || digest || tagged) {
        const name = `${host ? `${host.replace(/\/+$/, '')}/` : ''}${repository}`
        out.push({text: `${name}${tag && !tagged ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`, where: `${path ? `${path}.` : ''}repository`})
      }
    }
    for (const [k, v] of Object.entries(map)) {
      const here = path ? `${path}.${k}` : k
      if (typeof v === 'string' && IMAGE_KEY.test(k)) {
        if (v === '' || /\s/.test(v)) continue
        const last = v.split('/').pop() ?? ''
        const sibling = scalar(map.tag) ?? scalar(map.imageTag)
        // ingress-nginx's shape: {registry, image: ingress-nginx/controller, tag, digest}
        const siblingRegistry = repository === undefined && !HAS_HOST.test(v) ? (globalRegistry && map.registry !== undefined ? globalRegistry : scalar(map.registry)) : undefined
        const name = siblingRegistry ? `${siblingRegistry.replace(/\/+$/, '')}/${v}` : v
        const digest = v.includes('@') ? undefined : scalar(map.digest)
        if (/[:@]/.test(last)) out.push({text: `${name}${digest ? `@${digest}` : ''}`, where: here})
        else if (sibling || digest) out.push({text: `${name}${sibling ? `:${sibling}` : ''}${digest ? `@${digest}` : ''}`, where: here})
        continue
      }
      walk(v, here, depth + 1)
    }
  }
  walk(values, '', 0)
  return out
}

export interface DiscoverInput {
  tree: ChartNode
  /** the user's values, merged in order */
  userValues: Values
  /** the spec's value path of the chart's registry (imageRegistry) */
  registryValue?: string
}

/**
 * What a chart needs, found without rendering it: annotations, images.lock, and image references
 * in every rendering chart's effective values (the user's values included). A value set only by
 * the user is reported as "user values" so a reader sees why an image is in the bundle.
 */
export function discoverImages(input: DiscoverInput, found = new ImageFindings()): {found: ImageFindings; notes: string[]; charts: EffectiveChart[]} {
  const notes: string[] = []
  const charts = effectiveCharts(input.tree, input.userValues)
  const seen = new Set<ChartNode>()
  for (const c of charts) {
    if (!seen.has(c.node)) {
      seen.add(c.node)
      // a dependency Chart.yaml names but the archive does not carry (not vendored with helm dependency build)
      const missing = (c.node.metadata.dependencies ?? []).filter((d) => typeof d?.name === 'string' && !c.node.children.some((k) => k.metadata.name === d.name))
      for (const d of missing) notes.push(`${c.node.path}: dependency ${d.name} is not in the archive's charts/ folder, so its images are not found; package the chart after helm dependency build, or list them under images:`)
      fromAnnotations(c.node, c.node.path, found, notes)
      fromImagesLock(c.node, c.node.path, found)
    }
    const registryOf = (values: Values) => {
      const v = input.registryValue ? getValue(values, input.registryValue) : undefined
      return typeof v === 'string' && v !== '' ? v : undefined
    }
    // Only the effective values count (a default the user overrides is not needed); an image is
    // credited to the chart's values.yaml when it is there as it is, else to whoever set it.
    const appVersion = c.node.metadata.appVersion
    const own = new Set(imagesInValues(c.node.values, appVersion, registryOf(c.node.values)).map((i) => `${i.where}=${i.text}`))
    const setBy = c === charts[0] ? 'user values' : 'values from the parent chart or the user'
    for (const i of imagesInValues(c.values, appVersion, registryOf(c.values))) {
      found.add(i.text, {chart: label(c), how: own.has(`${i.where}=${i.text}`) ? 'values' : setBy, where: i.where})
    }
  }
  return {found, notes, charts}
}

/** Pod-spec images in `helm template` output: containers, initContainers, ephemeralContainers. */
export function imagesInRendered(yamlText: string, chart: string, found: ImageFindings): void {
  const docs = yamlText.split(/^---\s*$/m)
  for (const text of docs) {
    let doc: unknown
    try {
      doc = parseYaml(text, {maxAliasCount: 100})
    } catch {
      continue
    }
    if (!doc || typeof doc !== 'object') continue
    const d = doc as {kind?: string; metadata?: {name?: string}}
    const what = `${d.kind ?? 'object'}/${d.metadata?.name ?? '?'}`
    const walk = (node: unknown, depth: number) => {
      if (depth > 64 || node === null || typeof node !== 'object') return
      if (Array.isArray(node)) {
        for (const v of node) walk(v, depth + 1)
        return
      }
      const map = node as Record<string, unknown>
      for (const key of ['containers', 'initContainers', 'ephemeralContainers']) {
        const list = map[key]
        if (!Array.isArray(list)) continue
        for (const c of list) {
          const image = (c as {image?: unknown})?.image
          if (typeof image === 'string' && image !== '') found.add(image, {chart, how: 'helm template', where: `${what} ${key}`})
        }
      }
      for (const v of Object.values(map)) walk(v, depth + 1)
    }
    walk(doc, 0)
  }
}
