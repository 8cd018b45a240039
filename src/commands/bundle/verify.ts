import {Args} from '@oclif/core'

import {verifyBundle, type VerifyResult} from '../../bundle/verify.js'
import {formatBytes} from '../../ui/progress.js'
import {s3ReadFlags, useS3ReadFlags} from '../flags.js'
import {BaseCommand, byteProgress} from '../base.js'
import {trustFlags, trustFromFlags} from '../trust-flags.js'

export type BundleVerifyResult = VerifyResult

export default class BundleVerify extends BaseCommand {
  static override summary = 'Verify a bundle offline: signature, every digest, nothing missing or extra.'
  static override description = 'Reads the bundle once, without unpacking. The signature over SHA256SUMS is checked against the signer you trust before any content is believed; then every entry must match its line, every line must have exactly one entry, and no entry may be a link, device, or outside the bundle folder. Reads .tar, .tar.gz, or - for stdin. Exit 3 on any integrity or signature failure.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> demo.tar --trust keys/release.pub',
    '<%= config.bin %> <%= command.id %> demo.tar --trust-fingerprint sha256:4f1c...',
    'cat demo.tar | <%= config.bin %> <%= command.id %> - --trust ca.crt --json',
  ]

  static override args = {
    bundle: Args.string({required: true, description: 'bundle file, or - for stdin, or s3://BUCKET/KEY'}),
  }

  static override flags = {...trustFlags, ...s3ReadFlags}

  async run(): Promise<BundleVerifyResult> {
    const {args, flags} = await this.parse(BundleVerify)
    useS3ReadFlags(flags)
    const trust = await trustFromFlags(flags)
    const spinner = this.progress(`verifying ${args.bundle}`)
    try {
      const track = byteProgress(spinner, args.bundle, 'verifying')
      const result = await verifyBundle(args.bundle, trust, undefined, new Date(), track)
      spinner.succeed(`verified ${result.root}`)
      this.out(`bundle     ${result.bundle}: OK`)
      this.out(`name       ${result.name} ${result.version} (created ${result.created})`)
      this.out(`signer     ${result.signer.subject ? `${result.signer.subject.replaceAll('\n', ', ')} ` : ''}${result.signer.fingerprint} (trusted by ${result.signer.trustedBy})`)
      this.out(`entries    ${result.entries} checked, ${formatBytes(result.contentBytes)}`)
      return result
    } catch (error) {
      spinner.fail('verification failed')
      throw error
    }
  }
}
