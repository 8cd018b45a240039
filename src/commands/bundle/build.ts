import {Args, Flags} from '@oclif/core'

import {S3_OUT_DEFAULTS, buildBundle, type BuildResult} from '../../bundle/build.js'
import {formatBytes, formatTransfer} from '../../ui/progress.js'
import {AirlockError} from '../../ui/errors.js'
import {BaseCommand} from '../base.js'
import {parseSetFlags, passphraseFromEnv, s3Flags} from '../flags.js'
import {parseSize} from '../../transport/size.js'
import {buildUploadRecordPath} from '../../transport/build-upload-record.js'
import {isPackaged} from '../../sea/runtime.js'
import {parseTrust} from '../../signing/trust.js'
import {readSmallFile} from '../../util/fs.js'

export type BundleBuildResult = BuildResult

export default class BundleBuild extends BaseCommand {
  static override summary = 'Build one signed bundle from a bundle spec.'
  static override description = 'Resolves everything the spec names, writes SHA256SUMS and its signature first, then streams every entry into OUT.partial, hashing each byte as it is copied, and renames to OUT only when the last byte is written. With --out s3://BUCKET/KEY the same bytes stream into a multipart upload instead (no local copy; memory bounded by parts in flight x part size), completed only after the last byte, then KEY.sha256 is written as bundle publish writes it; a failed or interrupted build aborts the upload, leaving nothing under the key (with --resume it keeps the parts the store acknowledged instead, and the same build with --resume sends only the rest). Set SOURCE_DATE_EPOCH for byte-identical rebuilds.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> bundles/demo.yaml --key keys/release.key --out demo.tar',
    '<%= config.bin %> <%= command.id %> bundles/wallaroo-2025.1.yaml --key keys/release.key --out wallaroo.tar --set files.app=./wallaroo.airgap --set kots.cores=16',
    '<%= config.bin %> <%= command.id %> bundles/demo.yaml --key keys/release.key --out s3://releases/demo.tar --endpoint https://minio.internal:9000',
  ]

  static override args = {
    spec: Args.string({required: true, description: 'bundle spec (bundles/*.yaml)'}),
  }

  static override flags = {
    out: Flags.string({char: 'o', required: true, description: 'bundle file to write (.tar, or .tar.gz with --gzip), or s3://BUCKET/KEY to stream it into S3 with no local copy'}),
    force: Flags.boolean({description: 'replace a file or S3 object already at --out'}),
    ...s3Flags,
    'part-size': Flags.string({default: `${S3_OUT_DEFAULTS.partSize / 1024 / 1024}M`, description: 'with --out s3://: bytes per multipart part (5M or more; raised when the bundle would need more than 10,000 parts; memory is about (--s3-concurrency + 1) x this)'}),
    's3-concurrency': Flags.integer({default: S3_OUT_DEFAULTS.concurrency, min: 1, max: 64, description: 'with --out s3://: parts uploading at once'}),
    resume: Flags.boolean({description: 'with --out s3://: if the build fails or is interrupted, keep the parts already uploaded (listed in SPEC.s3-upload.json) instead of aborting the upload; the same build with --resume again sends only the parts the store does not have'}),
    key: Flags.string({char: 'k', required: true, description: 'signing private key (PEM)'}),
    cert: Flags.string({description: 'signer certificate chain (PEM, leaf first) to put in the bundle instead of the bare public key'}),
    'passphrase-env': Flags.string({description: 'environment variable holding the signing key passphrase'}),
    gzip: Flags.boolean({description: 'gzip the tar (image layers are compressed already, so this rarely pays)'}),
    'ca-file': Flags.string({description: 'extra CA certificates (PEM) to trust for https:// file sources and chart repositories'}),
    set: Flags.string({multiple: true, description: 'override a spec value: files.<id>=PATH replaces that file\'s source; any other KEY is a path under spec (kots.cores=16)'}),
    concurrency: Flags.integer({default: 4, min: 1, max: 32, description: 'downloads that may run ahead at once'}),
    cache: Flags.string({description: 'content-addressed cache folder: a rebuild downloads nothing it already has'}),
    lock: Flags.boolean({description: 'write SPEC.lock.yaml with every resolved digest'}),
    platform: Flags.string({multiple: true, description: 'platforms to bundle (overrides spec.platforms), e.g. linux/amd64'}),
    'registry-ca': Flags.string({description: 'CA certificate (PEM) for registries with a private CA'}),
    'insecure-registry': Flags.string({multiple: true, description: 'registry HOST[:PORT] that may be reached over plain HTTP'}),
    'tls-ca-cert': Flags.string({description: 'CA certificate that issues the platform certificate (spec.tls.mode: ca)'}),
    'tls-ca-key': Flags.string({description: 'private key of that CA'}),
    'tls-ca-passphrase-env': Flags.string({description: 'environment variable holding the passphrase of an encrypted --tls-ca-key'}),
    'tls-key-out': Flags.string({description: 'file to write the platform TLS private key to (mode 0600; default: DOMAIN.key beside the bundle); keep it out of the folder you publish'}),
    since: Flags.string({description: 'differential bundle: leave out every image layer and file OLD_BUNDLE carries (same path and digest); the site must have pushed OLD_BUNDLE first', helpValue: 'OLD_BUNDLE'}),
    'since-trust': Flags.string({dependsOn: ['since'], description: 'verify OLD_BUNDLE in full against this signer (public key or CA, PEM) before using it; without it only its signed list is read'}),
    'exclude-referrers': Flags.boolean({description: "leave the images' signatures, attestations and SBOMs (OCI referrers, cosign tags) out of the bundle; a signature the spec requires is still checked"}),
    'include-self': Flags.boolean({allowNo: true, default: isPackaged(), description: 'carry the airlock executable at files/airlock (on by default when airlock runs as the packaged executable)'}),
  }

  async run(): Promise<BundleBuildResult> {
    const {args, flags} = await this.parse(BundleBuild)
    if (flags.resume && !flags.out.startsWith('s3://')) {
      throw new AirlockError('USAGE', '--resume continues an upload: it applies to --out s3://BUCKET/KEY only', {subject: '--resume', hint: 'a build to a file is written again from the start; drop --resume'})
    }
    const spinner = this.progress('resolving the spec')
    let started = 0
    try {
      const result = await buildBundle(
        {
          specPath: args.spec,
          out: flags.out,
          force: flags.force,
          s3: {endpoint: flags.endpoint, region: flags.region, partSize: parseSize(flags['part-size'], '--part-size'), concurrency: flags['s3-concurrency'], ...(flags.resume ? {resume: {recordPath: buildUploadRecordPath(args.spec)}} : {})},
          keyPath: flags.key,
          certPath: flags.cert,
          passphrase: passphraseFromEnv(flags['passphrase-env']),
          gzip: flags.gzip,
          caFile: flags['ca-file'],
          set: parseSetFlags(flags.set),
          concurrency: flags.concurrency,
          cacheDir: flags.cache,
          lock: flags.lock,
          platforms: flags.platform,
          registryCa: flags['registry-ca'],
          insecureRegistries: flags['insecure-registry'],
          tlsCaCert: flags['tls-ca-cert'],
          tlsCaKey: flags['tls-ca-key'],
          tlsCaPassphrase: passphraseFromEnv(flags['tls-ca-passphrase-env']),
          tlsKeyOut: flags['tls-key-out'],
          includeSelf: flags['include-self'],
          excludeReferrers: flags['exclude-referrers'],
          since: flags.since,
          sinceTrust: flags['since-trust'] ? parseTrust((await readSmallFile(flags['since-trust'], {what: 'trust file', maxBytes: 1 << 20})).toString('utf8'), flags['since-trust']) : undefined,
        },
        (text) => spinner.update(text),
        (done, total) => {
          started ||= Date.now()
          spinner.update(`${flags.out.startsWith('s3://') ? 'uploading' : 'writing'} ${formatTransfer(done, total, started)}`)
        },
      )
      spinner.succeed(`built ${result.out}`)
      this.out(`bundle       ${result.out}`)
      if (result.s3) this.out(`sha256       ${result.s3.sha256} (also in ${result.s3.checksumUrl}), ${result.s3.parts} part(s) of ${formatBytes(result.s3.partSize)}${result.s3.partsResumed > 0 ? `, ${result.s3.partsResumed} of them already in the store (--resume)` : ''}`)
      this.out(`name         ${result.name} ${result.version}`)
      this.out(`signer       ${result.signer.subject ?? result.signer.fingerprint}`)
      this.out(`entries      ${result.entries} (${formatBytes(result.contentBytes)})`)
      if (result.images.length > 0) this.out(`images       ${result.images.length}`)
      if (result.base) this.out(`since        ${result.base.name} ${result.base.version} (sha256:${result.base.sha256}): ${result.base.omitted.length} entries left out (${formatBytes(result.base.omitted.reduce((n, o) => n + o.size, 0))})`)
      for (const secret of result.secrets) this.out(`tls key      ${secret} (mode 0600, not in the bundle)`)
      for (const note of result.notes) this.note(note)
      return result
    } catch (error) {
      spinner.fail('build failed')
      throw error
    }
  }
}
