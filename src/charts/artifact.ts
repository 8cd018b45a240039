import {createHash} from 'node:crypto'
import {copyFile, mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import type {Blob, Document} from '../images/resolve.js'
import {blobPath} from '../oci/digest.js'
import {MT} from '../oci/media-types.js'
import type {ChartMetadata} from './archive.js'
import {HELM} from './media-types.js'

// Chart.yaml as Helm's Go structs marshal it (pkg/chart/metadata.go, dependency.go): fields in
// declaration order, empty ones left out (a dependency's repository is always written), unknown keys
// dropped, map keys sorted. A config airlock writes is byte-identical to the one `helm push` writes.
type Field = [key: string, kind: 'string' | 'strings' | 'bool' | 'map' | 'any' | 'maintainers' | 'dependencies', always?: true]
const METADATA: Field[] = [['name', 'string'], ['home', 'string'], ['sources', 'strings'], ['version', 'string'], ['description', 'string'], ['keywords', 'strings'], ['maintainers', 'maintainers'], ['icon', 'string'], ['apiVersion', 'string'], ['condition', 'string'], ['tags', 'string'], ['appVersion', 'string'], ['deprecated', 'bool'], ['annotations', 'map'], ['kubeVersion', 'string'], ['dependencies', 'dependencies'], ['type', 'string']]
const MAINTAINER: Field[] = [['name', 'string'], ['email', 'string'], ['url', 'string']]
const DEPENDENCY: Field[] = [['name', 'string', true], ['version', 'string'], ['repository', 'string', true], ['condition', 'string'], ['tags', 'strings'], ['enabled', 'bool'], ['import-values', 'any'], ['alias', 'string']]

/** Go's encoding/json: map keys sorted, key order of structs as declared. */
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys)
  if (v === null || typeof v !== 'object') return v
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]))
}

function goStruct(src: unknown, fields: Field[]): Record<string, unknown> {
  const from = src !== null && typeof src === 'object' ? (src as Record<string, unknown>) : {}
  const out: Record<string, unknown> = {}
  for (const [key, kind, always] of fields) {
    const v = from[key]
    let value: unknown
    if (kind === 'string') value = typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : ''
    else if (kind === 'bool') value = v === true
    else if (kind === 'strings') value = Array.isArray(v) ? v.map((x) => String(x)) : []
    else if (kind === 'map') value = v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x)])) : {}
    else if (kind === 'maintainers') value = Array.isArray(v) ? v.map((m) => goStruct(m, MAINTAINER)) : []
    else if (kind === 'dependencies') value = Array.isArray(v) ? v.map((d) => goStruct(d, DEPENDENCY)) : []
    else value = Array.isArray(v) ? v : []
    const empty = value === '' || value === false || (Array.isArray(value) && value.length === 0) || (kind === 'map' && Object.keys(value as object).length === 0)
    if (!empty || always) out[key] = kind === 'any' || kind === 'map' ? sortKeys(value) : value
  }
  return out
}

/** The Helm config blob: Chart.yaml as JSON, as `helm push` makes it (Go escapes <, > and & in strings). */
export function chartConfig(metadata: ChartMetadata): Buffer {
  const json = JSON.stringify(goStruct(metadata, METADATA)).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
  return Buffer.from(json)
}

/** The manifest annotations `helm push` sets (title, version, description, url, source, authors, created). */
function chartAnnotations(m: ChartMetadata, created: Date): Record<string, string> {
  const a: Record<string, string> = {}
  const maintainers = Array.isArray(m.maintainers) ? (m.maintainers as {name?: string; email?: string}[]) : []
  const authors = maintainers.map((x) => (x?.email ? `${x.name ?? ''} (${x.email})` : (x?.name ?? ''))).filter(Boolean).join(', ')
  if (m.description) a['org.opencontainers.image.description'] = String(m.description)
  if (authors) a['org.opencontainers.image.authors'] = authors
  a['org.opencontainers.image.created'] = created.toISOString().replace(/\.\d{3}Z$/, 'Z')
  if (Array.isArray(m.sources) && typeof m.sources[0] === 'string') a['org.opencontainers.image.source'] = m.sources[0]
  a['org.opencontainers.image.title'] = m.name
  if (typeof m.home === 'string' && m.home) a['org.opencontainers.image.url'] = m.home
  a['org.opencontainers.image.version'] = m.version
  // helm push copies the chart's own annotations too, never over the ones above
  for (const [k, v] of Object.entries(m.annotations ?? {})) if (!Object.hasOwn(a, k) && v !== undefined && v !== null) a[k] = String(v)
  return a
}

function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`
}

export interface ChartArtifact {
  manifest: Document
  blobs: Blob[]
  /** an OCI layout folder holding the blobs, for the blob fetcher to stream from */
  layoutDir: string
}

/**
 * A chart from a .tgz (classic repository or local file) as the OCI artifact `helm push` would make:
 * the config is Chart.yaml as JSON, the one layer is the archive byte for byte. The blobs are put in
 * a scratch layout so the images step streams them into the bundle like any other blob.
 */
export async function chartToArtifact(tgz: {file: string; sha256: string; size: number}, metadata: ChartMetadata, created: Date, layoutDir: string): Promise<ChartArtifact> {
  const config = chartConfig(metadata)
  const configDesc = {mediaType: HELM.config, digest: sha256(config), size: config.length}
  const contentDesc = {mediaType: HELM.content, digest: `sha256:${tgz.sha256}`, size: tgz.size}
  const manifest = Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: MT.ociManifest, config: configDesc, layers: [contentDesc], annotations: chartAnnotations(metadata, created)}))
  await mkdir(join(layoutDir, 'blobs', 'sha256'), {recursive: true})
  await writeFile(join(layoutDir, blobPath(configDesc.digest)), config)
  await copyFile(tgz.file, join(layoutDir, blobPath(contentDesc.digest)))
  return {manifest: {bytes: manifest, mediaType: MT.ociManifest, size: manifest.length, digest: sha256(manifest)}, blobs: [configDesc, contentDesc], layoutDir}
}
