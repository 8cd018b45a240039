import {Args, Flags} from '@oclif/core'

import {pushBundleImages, type PushResult} from '../../images/push.js'
import {formatBytes} from '../../ui/progress.js'
import {renderTable} from '../../ui/table.js'
import {s3ReadFlags, useS3ReadFlags} from '../flags.js'
import {BaseCommand} from '../base.js'
import {trustFlags, trustFromFlags} from '../trust-flags.js'

export type ImagesPushResult = PushResult

export default class ImagesPush extends BaseCommand {
  static override summary = "Push every image of a bundle into the site's registry, digests kept."
  static override description =
    'Verifies the bundle against the signer you trust (--trust or --trust-fingerprint), then reads each blob straight out of the tar by its offset (no unpacking): blobs the registry has are skipped, blobs pushed to another repository in this run are mounted, the rest are uploaded (in chunks when large). Manifests go by digest, then tags. Prints where each image now is. A second run uploads nothing. Pass --no-verify only for a bundle you verified already with `bundle verify`.'

  static override examples = [
    '<%= config.bin %> <%= command.id %> demo.tar --registry registry.internal:5000/platform --trust keys/release.pub',
    '<%= config.bin %> <%= command.id %> demo.tar --registry 10.0.0.5:5000 --insecure-registry 10.0.0.5:5000 --trust-fingerprint sha256:4f1c... --json',
  ]

  static override args = {
    bundle: Args.string({required: true, description: 'bundle file (.tar; a .tar.gz must be decompressed first), or s3://BUCKET/KEY'}),
  }

  static override flags = {
    ...s3ReadFlags,
    ...trustFlags,
    registry: Flags.string({required: true, description: 'destination HOST[:PORT][/PREFIX]; quay.io/org/app:1 goes to HOST/PREFIX/org/app:1'}),
    'no-verify': Flags.boolean({description: 'skip the signature and digest check (only for a bundle already checked with bundle verify)'}),
    'registry-ca': Flags.string({description: 'CA certificate (PEM) of the destination registry'}),
    'insecure-registry': Flags.string({multiple: true, description: 'registry HOST[:PORT] reached over plain HTTP'}),
    concurrency: Flags.integer({default: 4, min: 1, max: 32, description: 'blobs uploaded at once'}),
    'values-dir': Flags.string({description: 'write each chart\'s site values (NAME-VERSION.site-values.yaml, for helm -f) into this folder'}),
  }

  async run(): Promise<ImagesPushResult> {
    const {args, flags} = await this.parse(ImagesPush)
    useS3ReadFlags(flags)
    const trust = flags['no-verify'] ? undefined : await trustFromFlags(flags)
    const spinner = this.progress(`reading ${args.bundle}`)
    try {
      const result = await pushBundleImages({
        bundle: args.bundle,
        registry: flags.registry,
        trust,
        registryCa: flags['registry-ca'],
        insecureRegistries: flags['insecure-registry'],
        concurrency: flags.concurrency,
        progress: (t) => spinner.update(t),
        ...(flags['values-dir'] ? {valuesDir: flags['values-dir']} : {}),
      })
      spinner.succeed(`pushed ${result.images.length} image${result.images.length === 1 ? '' : 's'} to ${result.registry}`)
      if (!result.verified) this.note('the bundle was not verified (--no-verify)')
      this.out(renderTable(['SOURCE', 'DESTINATION'], result.images.map((i) => [`${i.source}${i.digestChanged ? ` (${i.sourceDigest}, narrowed to the bundled platforms)` : ''}`, i.destination])))
      for (const c of result.charts ?? []) {
        this.out(`chart ${c.name} ${c.version}: ${c.pull}`)
        if (c.siteValues) this.out(c.siteValues.file ? `  site values written to ${c.siteValues.file}` : `  site values (helm -f):\n${c.siteValues.yaml.replace(/^/gm, '    ')}`)
      }
      const b = result.blobs
      this.out(`blobs: ${b.uploaded} uploaded (${formatBytes(b.uploadedBytes)}), ${b.mounted} mounted, ${b.present} already present; manifests: ${result.manifests.pushed} pushed, ${result.manifests.present} already present`)
      return result
    } catch (error) {
      spinner.fail('push failed')
      throw error
    }
  }
}
