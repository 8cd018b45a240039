import {Args} from '@oclif/core'

import {listBundleImages, type ListResult} from '../../images/list.js'
import {formatBytes} from '../../ui/progress.js'
import {renderTable} from '../../ui/table.js'
import {s3ReadFlags, useS3ReadFlags} from '../flags.js'
import {BaseCommand} from '../base.js'

export type ImagesListResult = ListResult

export default class ImagesList extends BaseCommand {
  static override summary = 'List the images of a bundle: reference, digest, platforms, size, shared bytes.'
  static override description = 'Reads manifest.json and walks every tar header as bundle verify does (only the hashing is skipped), so it refuses what verify refuses and still answers in moments for a plain tar of any size. It does not verify the bundle: run bundle verify for that.'
  static override examples = ['<%= config.bin %> <%= command.id %> demo.tar', '<%= config.bin %> <%= command.id %> demo.tar --json']

  static override args = {
    bundle: Args.string({required: true, description: 'bundle file (.tar or .tar.gz), or - for stdin, or s3://BUCKET/KEY'}),
  }

  static override flags = {...s3ReadFlags}

  async run(): Promise<ImagesListResult> {
    const {args, flags} = await this.parse(ImagesList)
    useS3ReadFlags(flags)
    const result = await listBundleImages(args.bundle)
    this.out(
      renderTable(
        ['REFERENCE', 'DIGEST', 'PLATFORMS', 'SIZE', 'SHARED'],
        result.images.flatMap((i) => [
          [i.name ?? i.ref, i.digest.slice(0, 19), i.platforms.join(','), formatBytes(i.size), formatBytes(i.sharedBytes ?? 0)],
          // referrers under their image: kind, digest, what they refer to
          ...(i.referrers ?? []).map((r) => [`  ${r.kind}`, r.digest.slice(0, 19), `-> ${r.subject.slice(0, 19)}`, formatBytes(r.size + r.blobs.reduce((n, b) => n + b.size, 0)), '']),
        ]),
      ),
    )
    if (result.charts.length > 0) {
      this.out('')
      this.out(renderTable(['CHART', 'VERSION', 'REFERENCE', 'DIGEST'], result.charts.map((c) => [c.name, c.version, c.ref, c.digest.slice(0, 19)])))
      this.out('')
      this.out(renderTable(['CHART', 'IMAGE', 'FOUND IN'], result.charts.flatMap((c) => c.images.map((i) => [c.name, i.ref, i.foundIn.map((s) => `${s.chart}: ${s.how} ${s.where}`).join('; ')]))))
    }
    for (const i of result.images) if (i.signature) this.out(`${i.name ?? i.ref}: cosign signature checked at build with ${i.signature.key}`)
    this.out(`${result.images.length} image${result.images.length === 1 ? '' : 's'}${result.charts.length > 0 ? `, ${result.charts.length} chart${result.charts.length === 1 ? '' : 's'}` : ''}, ${formatBytes(result.totalBytes)} stored`)
    return result
  }
}
