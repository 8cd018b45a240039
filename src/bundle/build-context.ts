import type {S3OutOptions} from './writer.js'
import type {LoadedSpec} from '../spec/load.js'
import type {EntrySource} from './entry.js'
import type {ImageRecord, InventoryEntry} from './format.js'
import type {SinceBase} from './since.js'
import type {Trust} from '../signing/trust.js'
import type {SbomPart} from '../sbom/model.js'

/** Every option `bundle build` takes; each build step reads the ones it owns. */
export interface BuildOptions {
  specPath: string
  /** a file, or s3://BUCKET/KEY to stream the bundle into a multipart upload */
  out: string
  /** for an s3:// out: endpoint, region, part size, parts in flight */
  s3?: S3OutOptions
  /** replace what is already at --out */
  force?: boolean
  keyPath: string
  certPath?: string
  passphrase?: string
  gzip?: boolean
  /** --ca-file: extra CAs for https:// file sources */
  caFile?: string
  concurrency?: number
  cacheDir?: string
  lock?: boolean
  /** --platform overrides spec.platforms */
  platforms?: string[]
  registryCa?: string
  insecureRegistries?: string[]
  /** tls mode ca: the CA that issues the platform certificate */
  tlsCaCert?: string
  tlsCaKey?: string
  /** passphrase of an encrypted --tls-ca-key */
  tlsCaPassphrase?: string
  /** --tls-key-out: the file the TLS private key is written to */
  tlsKeyOut?: string
  /** where private keys made during the build go (never into the bundle unencrypted) */
  secretsDir?: string
  includeSelf?: boolean
  since?: string
  /** --since-trust: verify the --since bundle in full against this signer before using its list */
  sinceTrust?: Trust
  /** --set KEY=VALUE overrides of spec values */
  set?: Record<string, string>
  /** --exclude-referrers: leave every image's signatures, attestations and SBOMs out */
  excludeReferrers?: boolean
  /** fixed clock for reproducible builds (SOURCE_DATE_EPOCH) */
  now?: Date
}

export interface BuildContext {
  loaded: LoadedSpec
  options: BuildOptions
  /** a scratch folder beside the output, removed after the build */
  workDir: string
  now: Date
  progress(text: string): void
  /** the --since bundle: entries it carries (same path and digest) are left out */
  since?: SinceBase
}

/** What one build step adds to the bundle. */
export interface Contribution {
  entries: EntrySource[]
  images?: ImageRecord[]
  /** summaries for manifest.json `extensions` and `bundle inspect` (tier, services, tls mode, ...) */
  extensions?: Record<string, unknown>
  /** things the user must know: "private key written to ..." */
  notes?: string[]
  /** private keys written outside the bundle (paths only): a result line even with --quiet */
  secrets?: string[]
  profile?: {name: string; sha256: string}
  /** entries left out because the --since bundle carries them */
  omitted?: InventoryEntry[]
  /** what this step adds to sbom.cdx.json beyond its entries (images with their layers, charts) */
  sbom?: SbomPart
}

export type Contributor = (ctx: BuildContext) => Promise<Contribution | undefined>
