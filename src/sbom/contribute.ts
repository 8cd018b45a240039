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

/**
 * Charts named by the charts step in manifest.json `extensions.charts` (src/charts/plan.ts
 * ChartExtension), read leniently: name required. The chart is its archive (contentDigest, the
 * charts/ file), stored in the layout as the OCI artifact `digest` under `ref`.
 */
function chartsFromExtensions(extensions: Record<string, unknown>): SbomChart[] {
  const charts = extensions.charts
  const list: unknown[] = Array.isArray(charts) ? charts : Array.isArray((charts as {charts?: unknown} | undefined)?.charts) ? (charts as {charts: unknown[]}).charts : []
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined)
  return list.flatMap((raw): SbomChart[] => {
    if (typeof raw !== 'object' || raw === null) return []
    const c = raw as Record<string, unknown>
    const name = str(c.name)
    if (!name) return []
    const images = Array.isArray(c.images) ? c.images.map((i) => str((i as {ref?: unknown})?.ref)).filter((r): r is string => r !== undefined) : []
    const fields: [keyof SbomChart, string | undefined][] = [['version', str(c.version)], ['digest', str(c.digest)], ['sha256', str(c.contentDigest) ?? str(c.sha256)], ['path', str(c.archive) ?? str(c.path)], ['ref', str(c.ref)]]
    return [{name, ...Object.fromEntries(fields.filter(([, v]) => v !== undefined)), ...(images.length > 0 ? {images} : {})}]
  })
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
