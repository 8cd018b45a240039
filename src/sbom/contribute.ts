import type {Contribution} from '../bundle/build-context.js'
import {bufferEntry, type EntrySource} from '../bundle/entry.js'
import type {InventoryEntry} from '../bundle/format.js'
import {toolVersion} from '../util/version.js'
import {SBOM_FILE, type SbomChart} from './model.js'

export interface SbomContext {
  name: string
  version: string
  created: Date
  specSha256?: string
  parts: Contribution[]
  /** manifest.json extensions: charts described there count when no step gave them to the SBOM */
  extensions: Record<string, unknown>
  files: InventoryEntry[]
}

/** Charts named by the charts step in manifest.json `extensions.charts`, read leniently: name required. */
function chartsFromExtensions(extensions: Record<string, unknown>): SbomChart[] {
  const charts = extensions.charts
  const list = Array.isArray(charts) ? charts : Array.isArray((charts as {charts?: unknown} | undefined)?.charts) ? (charts as {charts: unknown[]}).charts : []
  return list.filter((c): c is SbomChart => typeof c === 'object' && c !== null && typeof (c as SbomChart).name === 'string')
}

/**
 * sbom.cdx.json, made after every other step so that it lists what the bundle holds. The CycloneDX
 * library is loaded only here, when a bundle is built.
 */
export async function contributeSbom(ctx: SbomContext): Promise<EntrySource> {
  const {renderBundleSbom} = await import('./write.js')
  const given = ctx.parts.flatMap((p) => p.sbom?.charts ?? [])
  const text = renderBundleSbom({
    name: ctx.name,
    version: ctx.version,
    created: ctx.created,
    toolVersion: toolVersion(),
    ...(ctx.specSha256 ? {specSha256: ctx.specSha256} : {}),
    images: ctx.parts.flatMap((p) => p.sbom?.images ?? []),
    charts: given.length > 0 ? given : chartsFromExtensions(ctx.extensions),
    files: ctx.files,
    layoutDir: 'images',
  })
  return bufferEntry(SBOM_FILE, text, 'sbom')
}
