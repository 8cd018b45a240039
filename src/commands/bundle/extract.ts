import {Args, Flags} from '@oclif/core'

import {extractBundle, type ExtractResult} from '../../bundle/extract.js'
import {s3ReadFlags, useS3ReadFlags} from '../flags.js'
import {BaseCommand, byteProgress} from '../base.js'
import {trustFlags, trustFromFlags} from '../trust-flags.js'

export type BundleExtractResult = ExtractResult

export default class BundleExtract extends BaseCommand {
  static override summary = 'Verify a bundle and unpack it safely, in one pass.'
  static override description = 'Verifies exactly as `bundle verify` does while writing into a temporary folder beside --to; the folder is renamed into place only when every check passed. Entries are regular files only, never outside --to, never replacing one another; the execute bit is restored only for entries the signed manifest marks executable. The bundle folder is stripped: --to receives SHA256SUMS, manifest.json, files/, images/, ...'
  static override examples = ['<%= config.bin %> <%= command.id %> demo.tar --to ./demo --trust keys/release.pub']

  static override args = {
    bundle: Args.string({required: true, description: 'bundle file, or - for stdin, or s3://BUCKET/KEY'}),
  }

  static override flags = {
    ...s3ReadFlags,
    to: Flags.string({required: true, description: 'folder to create (must not exist, or be empty)'}),
    ...trustFlags,
  }

  async run(): Promise<BundleExtractResult> {
    const {args, flags} = await this.parse(BundleExtract)
    useS3ReadFlags(flags)
    const trust = await trustFromFlags(flags)
    const spinner = this.progress(`verifying and extracting ${args.bundle}`)
    try {
      const track = byteProgress(spinner, args.bundle, 'extracting')
      const result = await extractBundle(args.bundle, trust, flags.to, track)
      spinner.succeed(`extracted ${result.root}`)
      this.out(`extracted  ${result.files} files of ${result.name} ${result.version} into ${result.to}`)
      this.out(`signer     ${result.signer.fingerprint} (trusted by ${result.signer.trustedBy})`)
      return result
    } catch (error) {
      spinner.fail('extraction failed; nothing was written to the target')
      throw error
    }
  }
}
