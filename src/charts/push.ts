import {mkdir} from 'node:fs/promises'
import {join} from 'node:path'
import {stringify} from 'yaml'

import type {BundleManifest} from '../bundle/format.js'
import {AirlockError, fromFsError} from '../ui/errors.js'
import {writeFileAtomic} from '../util/fs.js'
import type {ChartExtension} from './plan.js'
import {valueAt} from './values.js'

/** A chart `images push` put into the site registry. */
export interface PushedChart {
  name: string
  version: string
  /** HOST/PATH/NAME:TAG@sha256:... */
  destination: string
  digest: string
  /** what a site admin runs: helm pull oci://HOST/PATH/NAME --version X */
  pull: string
  /** for a chart with a registry value: the values pointing its images at the site registry */
  siteValues?: {registryValue: string; registry: string; yaml: string; file?: string}
}

/** The charts of a bundle (manifest.json extensions.charts), by their name in images/index.json. */
export function bundleCharts(manifest: BundleManifest | undefined): Map<string, ChartExtension> {
  const list = (manifest?.extensions?.charts ?? []) as ChartExtension[]
  return new Map(Array.isArray(list) ? list.filter((c) => typeof c?.ref === 'string').map((c) => [c.ref, c]) : [])
}

/**
 * Describes one pushed chart, and with `valuesDir` writes its site values file there
 * (NAME-VERSION.site-values.yaml). The registry value is HOST[/PREFIX]: images keep their
 * repository paths below it, as `images push` maps them.
 */
export async function describePushedChart(chart: ChartExtension, dest: {host: string; prefix: string}, repository: string, tag: string, digest: string, valuesDir?: string): Promise<PushedChart> {
  const out: PushedChart = {
    name: chart.name,
    version: chart.version,
    destination: `${dest.host}/${repository}:${tag}@${digest}`,
    digest,
    pull: `helm pull oci://${dest.host}/${repository} --version ${chart.version}`,
  }
  if (chart.registryValue) {
    // HOST[/PREFIX], then the path the value had upstream, as images push keeps repository paths
    const registry = [dest.host, dest.prefix, typeof chart.registryPath === 'string' ? chart.registryPath : ''].filter(Boolean).join('/')
    const yaml = `# ${chart.name} ${chart.version}: its images at the site registry (written by airlock images push)\n${stringify(valueAt(chart.registryValue, registry))}`
    out.siteValues = {registryValue: chart.registryValue, registry, yaml}
    if (valuesDir) {
      if (/[/\\]|^\.\.?$/.test(`${chart.name}-${chart.version}`)) throw new AirlockError('MANIFEST_INVALID', `chart name ${chart.name} ${chart.version} is not a file name`, {subject: chart.ref})
      const file = join(valuesDir, `${chart.name}-${chart.version}.site-values.yaml`)
      await mkdir(valuesDir, {recursive: true}).catch((error: unknown) => {
        throw fromFsError(error, valuesDir, 'folder')
      })
      await writeFileAtomic(file, yaml, {force: true})
      out.siteValues.file = file
    }
  }
  return out
}
