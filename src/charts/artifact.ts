import {createHash} from 'node:crypto'
import {copyFile, mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import type {Blob, Document} from '../images/resolve.js'
import {blobPath} from '../oci/digest.js'
import {MT} from '../oci/media-types.js'
import type {ChartMetadata} from './archive.js'
import {HELM} from './media-types.js'

// Chart.yaml fields in the order Helm's Go Metadata struct marshals them: a config airlock writes
// reads like the one `helm push` writes for the same chart.
const METADATA_ORDER = ['name', 'home', 'sources', 'version', 'description', 'keywords', 'maintainers', 'icon', 'apiVersion', 'condition', 'tags', 'appVersion', 'deprecated', 'annotations', 'kubeVersion', 'dependencies', 'type']

/** The Helm config blob: Chart.yaml as JSON, as `helm push` makes it. */
export function chartConfig(metadata: ChartMetadata): Buffer {
  const out: Record<string, unknown> = {}
  for (const key of METADATA_ORDER) {
    const v = metadata[key]
    if (v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0)) continue
    out[key] = key === 'annotations' && typeof v === 'object' ? Object.fromEntries(Object.entries(v as Record<string, string>).sort(([a], [b]) => (a < b ? -1 : 1))) : v
  }
  return Buffer.from(JSON.stringify(out))
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
