import {Args, Flags} from '@oclif/core'

import type {FetchResult} from '../../transport/fetch.js'
import {parseSize} from '../../transport/size.js'
import {formatBytes, formatTransfer} from '../../ui/progress.js'
import {BaseCommand} from '../base.js'
import {s3TransferFlags} from '../flags.js'
import {trustFlags, trustFromFlags} from '../trust-flags.js'

export type BundleFetchResult = FetchResult

export default class BundleFetch extends BaseCommand {
  static override summary = 'Download a published bundle from S3, resumably, checking its SHA-256.'
  static override description = 'Parallel ranged GETs into OUT.partial; OUT.partial.json records the ranges done, so after an interruption the same command continues. The file takes its final name only when its SHA-256 equals the published one (object metadata and KEY.sha256); a mismatch exits 3 and removes the partial file. With --trust or --trust-fingerprint the bundle\'s signature and every entry are verified too, before the rename; when only the signer is refused (another key, an untrusted certificate), the exact download is kept as OUT.untrusted, and a rerun with the right key verifies it without downloading again.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> s3://releases/wallaroo/demo.tar --out demo.tar',
    '<%= config.bin %> <%= command.id %> s3://releases/wallaroo/demo.tar --out demo.tar --trust keys/release.pub --endpoint https://minio.internal:9000',
  ]

  static override args = {
    url: Args.string({required: true, description: 's3://BUCKET/KEY of the bundle'}),
  }

  static override flags = {
    ...s3TransferFlags,
    'part-size': Flags.string({default: '16M', description: 'bytes per ranged GET (K/M/G = 1024-based)'}),
    out: Flags.string({char: 'o', required: true, description: 'file to write'}),
    force: Flags.boolean({description: 'replace OUT if it exists'}),
    trust: trustFlags.trust,
    'trust-fingerprint': trustFlags['trust-fingerprint'],
  }

  async run(): Promise<BundleFetchResult> {
    const {args, flags} = await this.parse(BundleFetch)
    const trust = flags.trust || flags['trust-fingerprint'] ? await trustFromFlags(flags) : undefined
    const spinner = this.progress(`fetching ${args.url}`)
    let started = 0
    try {
      // the AWS SDK is loaded only by the commands that talk to S3: every other command starts faster
      const {fetchBundle} = await import('../../transport/fetch.js')
      const result = await fetchBundle(
        {url: args.url, out: flags.out, endpoint: flags.endpoint, region: flags.region, partSize: parseSize(flags['part-size'], '--part-size'), concurrency: flags.concurrency, trust, force: flags.force},
        (phase, done, total) => {
          if (phase === 'verifying') return spinner.update('verifying the signature and every entry')
          started ||= Date.now()
          spinner.update(`downloading ${formatTransfer(done, total, started)}`)
        },
      )
      spinner.succeed(`fetched ${result.out}`)
      this.out(`file       ${result.out} (${formatBytes(result.size)})`)
      this.out(`sha256     ${result.sha256}: matches the published value`)
      if (result.resumedBytes > 0) this.out(`resumed    ${formatBytes(result.resumedBytes)} were already here`)
      if (result.verified) this.out(`verified   ${result.verified.name} ${result.verified.version}, signer ${result.verified.signer.fingerprint} (trusted by ${result.verified.signer.trustedBy})`)
      else this.note('signature not checked: pass --trust or --trust-fingerprint, or run airlock bundle verify')
      return result
    } catch (error) {
      spinner.fail('fetch failed')
      throw error
    }
  }
}
