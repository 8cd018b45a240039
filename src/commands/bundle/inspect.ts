import {Args, Flags} from '@oclif/core'

import {inspectBundle, type InspectResult} from '../../bundle/inspect.js'
import {readBundleSbom} from '../../sbom/read.js'
import type {ImageExtension} from '../../images/contribute.js'
import {formatBytes} from '../../ui/progress.js'
import {renderTable} from '../../ui/table.js'
import {s3ReadFlags, useS3ReadFlags} from '../flags.js'
import {BaseCommand} from '../base.js'

/** with --sbom, the CycloneDX document itself is the result */
export type BundleInspectResult = InspectResult | Record<string, unknown>

export default class BundleInspect extends BaseCommand {
  static override summary = 'Show what a bundle holds: images, files, profile, signer, sizes.'
  static override description = 'Reads SHA256SUMS, the signer and manifest.json and walks every tar header as `bundle verify` does (only the hashing is skipped), so it refuses what verify refuses and still answers in moments for a plain tar of tens of gigabytes. It does not decide trust: run `bundle verify` for that.'
  static override examples = ['<%= config.bin %> <%= command.id %> demo.tar', '<%= config.bin %> <%= command.id %> demo.tar --json', '<%= config.bin %> <%= command.id %> demo.tar --sbom > sbom.cdx.json']

  static override args = {
    bundle: Args.string({required: true, description: 'bundle file, or - for stdin, or s3://BUCKET/KEY'}),
  }

  static override flags = {
    ...s3ReadFlags,
    sbom: Flags.boolean({description: 'print the bundle\'s CycloneDX 1.6 SBOM (sbom.cdx.json, checked against its SHA256SUMS line) instead of the summary'}),
  }

  async run(): Promise<BundleInspectResult> {
    const {args, flags} = await this.parse(BundleInspect)
    useS3ReadFlags(flags)
    if (flags.sbom) {
      const sbom = await readBundleSbom(args.bundle)
      this.out(sbom.text.trimEnd())
      return sbom.document
    }
    const r = await inspectBundle(args.bundle)
    this.out(`name      ${r.name} ${r.version}`)
    this.out(`created   ${r.created} by ${r.tool.name} ${r.tool.version}`)
    this.out(`signer    ${r.signer.subject ? `${r.signer.subject.replaceAll('\n', ', ')} ` : ''}${r.signer.fingerprint} (${r.signer.kind}; not verified here: run bundle verify)`)
    if (r.profile) this.out(`profile   ${r.profile.name}`)
    if (r.base) this.out(`since     ${r.base.name} ${r.base.version} (sha256:${r.base.sha256}): ${r.base.omitted.length} entries left out, the site must already have them`)
    for (const [key, value] of Object.entries(r.extensions ?? {})) this.out(`${key.padEnd(9)} ${summarize(value)}`)
    if (r.images.length > 0) {
      this.out('')
      // each image's referrers (signatures, attestations, SBOMs) on the lines under it
      const carried = new Map(((r.extensions?.images ?? []) as ImageExtension[]).map((e) => [e.ref, e.referrers ?? []]))
      this.out(renderTable(['IMAGE', 'PLATFORMS', 'SIZE', 'DIGEST'], r.images.flatMap((i) => [[i.ref, i.platforms.join(','), formatBytes(i.size), i.digest], ...(carried.get(i.ref) ?? []).map((x) => [`  ${x.kind} (${x.artifactType})`, `-> ${x.subject.slice(0, 19)}`, formatBytes(x.size + x.blobs.reduce((n, b) => n + b.size, 0)), x.digest])])))
    }
    if (r.charts.length > 0) {
      this.out('')
      this.out(renderTable(['CHART', 'VERSION', 'IMAGES', 'ARCHIVE', 'DIGEST'], r.charts.map((c) => [c.name, c.version, String(c.images.length), c.archive, c.digest])))
    }
    const files = r.files.filter((f) => f.role !== 'image-blob')
    if (files.length > 0) {
      this.out('')
      this.out(renderTable(['FILE', 'ROLE', 'SIZE', 'SHA256'], files.map((f) => [f.path, f.role, formatBytes(f.size), f.sha256])))
    }
    this.out('')
    this.out(`total     ${r.totals.entries} entries, ${r.totals.images} images (${formatBytes(r.totals.imageBytes)}), ${formatBytes(r.totals.bytes)}`)
    return r
  }
}

/** One line per build step's summary: scalars as k=v, lists of scalars joined, lists of records counted. */
function summarize(value: unknown): string {
  if (Array.isArray(value)) return `${value.length} entr${value.length === 1 ? 'y' : 'ies'}`
  if (value === null || typeof value !== 'object') return String(value)
  return Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => {
      if (Array.isArray(v)) {
        if (v.every((x) => typeof x !== 'object')) return `${k}=${v.join(',')}`
        // switches (the services a tier carries): name them, on and off
        const switches = v as {id?: string; enabled?: unknown}[]
        if (switches.every((x) => typeof x?.id === 'string' && typeof x.enabled === 'boolean')) {
          const on = switches.filter((x) => x.enabled).map((x) => x.id)
          const off = switches.filter((x) => !x.enabled).map((x) => x.id)
          return `${k} on=${on.join(',') || '-'} ${k} off=${off.join(',') || '-'}`
        }
        return `${k}=${v.length}`
      }
      return typeof v === 'object' ? `${k}=${Object.keys(v as object).length} fields` : `${k}=${String(v)}`
    })
    .join(' ')
}
