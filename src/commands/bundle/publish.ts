import {Args} from '@oclif/core'

import type {PublishResult} from '../../transport/publish.js'
import {parseSize} from '../../transport/size.js'
import {formatBytes, formatTransfer} from '../../ui/progress.js'
import {BaseCommand} from '../base.js'
import {s3TransferFlags} from '../flags.js'

export type BundlePublishResult = PublishResult

export default class BundlePublish extends BaseCommand {
  static override summary = 'Upload a bundle to S3 (or an S3-compatible store), resumably.'
  static override description = 'Multipart upload with a SHA-256 per part, checked by the store. The bundle\'s SHA-256 goes into the object\'s metadata (x-amz-meta-sha256) and into KEY.sha256 beside it, in sha256sum format. Interrupted? Run the same command again: the parts already sent are skipped (BUNDLE.publish.json records the upload). Credentials come from the standard AWS chain: environment, AWS_PROFILE, ~/.aws/config and credentials, SSO, instance roles.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> demo.tar s3://releases/wallaroo/',
    '<%= config.bin %> <%= command.id %> demo.tar s3://releases/wallaroo/demo.tar --endpoint https://minio.internal:9000 --part-size 128M',
  ]

  static override args = {
    bundle: Args.string({required: true, description: 'bundle file'}),
    destination: Args.string({required: true, description: 's3://BUCKET/PREFIX/ (the file name is appended) or s3://BUCKET/KEY'}),
  }

  static override flags = {...s3TransferFlags}

  async run(): Promise<BundlePublishResult> {
    const {args, flags} = await this.parse(BundlePublish)
    const spinner = this.progress(`hashing ${args.bundle}`)
    let started = 0
    try {
      // the AWS SDK is loaded only by the commands that talk to S3: every other command starts faster
      const {publishBundle} = await import('../../transport/publish.js')
      const result = await publishBundle(
        {file: args.bundle, destination: args.destination, endpoint: flags.endpoint, region: flags.region, partSize: parseSize(flags['part-size'], '--part-size'), concurrency: flags.concurrency},
        (phase, done, total) => {
          if (phase === 'hashing') return spinner.update(`hashing ${formatBytes(done)} / ${formatBytes(total)}`)
          started ||= Date.now()
          spinner.update(`uploading ${formatTransfer(done, total, started)}`)
        },
      )
      spinner.succeed(`published ${result.url}`)
      this.out(`object     ${result.url}${result.alreadyPublished ? ' (already there, nothing sent)' : ''}`)
      this.out(`sha256     ${result.sha256} (also in ${result.checksumUrl})`)
      this.out(`size       ${formatBytes(result.size)} in ${result.parts} part(s) of ${formatBytes(result.partSize)}`)
      if (result.partsResumed > 0 && !result.alreadyPublished) this.out(`resumed    ${result.partsResumed} part(s) were already uploaded`)
      return result
    } catch (error) {
      spinner.fail('publish failed')
      throw error
    }
  }
}
