import {Args, Flags} from '@oclif/core'

import {splitBundle, type SplitResult} from '../../transport/parts.js'
import {parseSize} from '../../transport/size.js'
import {formatBytes} from '../../ui/progress.js'
import {BaseCommand} from '../base.js'

export type BundleSplitResult = SplitResult

export default class BundleSplit extends BaseCommand {
  static override summary = 'Split a bundle into parts for removable media.'
  static override description = 'Writes BUNDLE.part000, BUNDLE.part001, ... and BUNDLE.split.json, an index with the size and SHA-256 of each part and of the whole. verify, inspect and extract accept the first part or the index and read the parts as one bundle, naming any damaged part. The index is named so that the glob BUNDLE.part* matches the parts only: `cat BUNDLE.part* > BUNDLE` gives the bundle back byte for byte, and `cat BUNDLE.part* | airlock bundle verify -` works too. An index named BUNDLE.parts (earlier versions) is still read. Sizes: K/M/G are 1024-based as with split(1); FAT32 holds at most 4 GiB - 1 byte per file, so use --size 4000M there.'
  static override examples = ['<%= config.bin %> <%= command.id %> demo.tar --size 4000M', '<%= config.bin %> <%= command.id %> demo.tar --size 25G --json']

  static override args = {
    bundle: Args.string({required: true, description: 'bundle file to split'}),
  }

  static override flags = {
    size: Flags.string({char: 's', required: true, description: 'bytes per part, e.g. 4000M, 25G'}),
    force: Flags.boolean({description: 'replace existing parts and index'}),
  }

  async run(): Promise<BundleSplitResult> {
    const {args, flags} = await this.parse(BundleSplit)
    const spinner = this.progress(`splitting ${args.bundle}`)
    try {
      const result = await splitBundle(args.bundle, parseSize(flags.size, '--size'), {force: flags.force}, (done, total) => spinner.update(`splitting ${formatBytes(done)} / ${formatBytes(total)}`))
      spinner.succeed(`split ${args.bundle} into ${result.parts.length} part(s)`)
      for (const p of result.parts) this.out(`${p.path}  ${formatBytes(p.size)}  sha256:${p.sha256}`)
      this.out(`index      ${result.index} (whole: sha256:${result.sha256})`)
      return result
    } catch (error) {
      spinner.fail('split failed')
      throw error
    }
  }
}
