import {Args, Flags} from '@oclif/core'

import {serveBundleImages, type ServeResult} from '../../images/serve.js'
import {renderTable} from '../../ui/table.js'
import {s3ReadFlags, useS3ReadFlags} from '../flags.js'
import {BaseCommand} from '../base.js'
import {trustFlags, trustFromFlags} from '../trust-flags.js'

export type ImagesServeResult = ServeResult

export default class ImagesServe extends BaseCommand {
  static override summary = 'Serve the images of a bundle as a read-only registry, straight from the tar.'
  static override description =
    'Verifies the bundle against the signer you trust, then answers the OCI distribution API (GET and HEAD of /v2/, manifests by tag or digest, blobs with Range, tags list, _catalog) from the bundle file or its parts, unpacking nothing. Images are served under their source repository path: quay.io/org/app:1 is ADDRESS/org/app:1. Runs until Ctrl-C or SIGTERM. With --json the listening address and image map are printed once, when it starts listening. --verbose logs each request on stderr.'

  static override examples = [
    '<%= config.bin %> <%= command.id %> demo.tar --trust keys/release.pub',
    '<%= config.bin %> <%= command.id %> demo.tar --listen 0.0.0.0:5443 --tls-cert registry.crt --tls-key registry.key --trust-fingerprint sha256:4f1c...',
    'skopeo copy --src-tls-verify=false docker://127.0.0.1:5000/org/app:1 oci:app:1',
  ]

  static override args = {
    bundle: Args.string({required: true, description: 'bundle file (.tar), its first part, or its .split.json index, or s3://BUCKET/KEY'}),
  }

  static override flags = {
    ...s3ReadFlags,
    ...trustFlags,
    listen: Flags.string({default: '127.0.0.1:5000', description: 'HOST:PORT to listen on (port 0 picks a free one)'}),
    'tls-cert': Flags.string({dependsOn: ['tls-key'], description: 'serve HTTPS with this certificate chain (PEM)'}),
    'tls-key': Flags.string({dependsOn: ['tls-cert'], description: 'private key of --tls-cert (PEM)'}),
    'no-verify': Flags.boolean({description: 'skip the signature and digest check (only for a bundle already checked with bundle verify)'}),
  }

  async run(): Promise<ImagesServeResult | undefined> {
    const {args, flags} = await this.parse(ImagesServe)
    useS3ReadFlags(flags)
    const trust = flags['no-verify'] ? undefined : await trustFromFlags(flags)
    const spinner = this.progress(`reading ${args.bundle}`)
    let server
    try {
      server = await serveBundleImages({
        bundle: args.bundle,
        listen: flags.listen,
        tls: flags['tls-cert'] && flags['tls-key'] ? {cert: flags['tls-cert'], key: flags['tls-key']} : undefined,
        trust,
        log: (line) => this.detail(line),
        progress: (t) => spinner.update(t),
      })
    } catch (error) {
      spinner.fail('cannot serve')
      throw error
    }
    const {result} = server
    spinner.succeed(`serving ${result.images.length} image${result.images.length === 1 ? '' : 's'} at ${result.url}`)
    if (!result.verified) this.note('the bundle was not verified (--no-verify)')
    // the command runs until stopped, so --json is printed now rather than on return
    if (this.jsonEnabled()) this.logJson(result)
    this.out(`registry  ${result.url} (read-only)`)
    this.out(renderTable(['SOURCE', 'SERVED AS'], result.images.map((i) => [i.source, i.reference])))
    for (const c of result.conflicts) this.note(`tag conflict: ${c}`)
    this.note('press Ctrl-C to stop')
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      const stop = (s: NodeJS.Signals) => {
        process.off('SIGINT', stop)
        process.off('SIGTERM', stop)
        resolve(s)
      }
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
    })
    await server.close()
    this.note(`stopped (${signal})`)
    return undefined
  }
}
