import {AirlockError} from '../ui/errors.js'
import {EntryNames, checkEntryName} from './path-safety.js'

/** Bundle format v1 (DESIGN.md). The order of the first entries lets a reader verify in one pass. */
export const FORMAT_VERSION = 1
export const SUMS = 'SHA256SUMS'
export const SIG = 'SHA256SUMS.sig'
export const SIGNER = 'signer.pem'
export const MANIFEST = 'manifest.json'
export const VERIFY_TXT = 'VERIFY.txt'
export const HEAD_ENTRIES = [SUMS, SIG, SIGNER] as const

export const MAX_SUMS_BYTES = 64 << 20
export const MAX_SIG_BYTES = 16 << 10
export const MAX_SIGNER_BYTES = 1 << 20
export const MAX_MANIFEST_BYTES = 64 << 20

/** What each entry is for; `bundle inspect` groups by it and `extract` keys the execute bit off it. */
export type EntryRole = 'manifest' | 'verify-instructions' | 'requirements' | 'file' | 'executable' | 'image-layout' | 'image-blob' | 'kots' | 'tls' | 'manifests' | 'chart' | 'sbom'

export interface InventoryEntry {
  path: string
  size: number
  sha256: string
  role: EntryRole
  /** a script in another role (manifests/nodepools.sh): extract restores its execute bit, as for role `executable` */
  executable?: boolean
}

export interface ImageRecord {
  /** the reference as written in the spec */
  ref: string
  /** the manifest or index digest stored in the layout */
  digest: string
  mediaType?: string
  platforms: string[]
  /** sum of every blob the image needs */
  size: number
}

export interface BundleManifest {
  formatVersion: number
  name: string
  version: string
  created: string
  tool: {name: string; version: string}
  spec?: {path: string; sha256: string}
  profile?: {name: string; sha256: string}
  images: ImageRecord[]
  files: InventoryEntry[]
  /** free-form summaries contributed by the build steps (kots tier, tls mode, ...) */
  extensions?: Record<string, unknown>
  /** set on a differential bundle (`bundle build --since OLD`): what it was built against */
  base?: BundleBase
}

/**
 * The bundle a differential bundle was built against. Entries it left out are listed with their
 * digests (they are not in SHA256SUMS), so a reader knows what must already be at the site.
 */
export interface BundleBase {
  name: string
  version: string
  /** SHA-256 of the base bundle file (of the whole, for a bundle split into parts) */
  sha256: string
  /** true when `--since-trust` checked the base's signature and every digest at build time */
  verified: boolean
  omitted: InventoryEntry[]
}

const HEX64 = /^[0-9a-f]{64}$/

export function rootName(name: string, version: string): string {
  return `${name}-${version}`
}

/** `sha256sum` text mode: "<hex>  <path>\n", sorted by path so the file is canonical. */
export function renderSums(entries: {path: string; sha256: string}[]): string {
  return entries.map((e) => `${e.sha256}  ${e.path}\n`).join('')
}

/** Where a bundle's OCI image layout keeps its blobs, each named by the SHA-256 of its bytes. */
export const IMAGE_BLOBS = 'images/blobs/sha256/'

/**
 * An image blob listed (in SHA256SUMS, or left out in base.omitted) with another digest than its
 * name: push would send bytes a registry refuses, serve bytes a client refuses. Refused up front.
 */
export function checkBlobName(path: string, sha256: string, subject: string): void {
  if (path.startsWith(IMAGE_BLOBS) && path.slice(IMAGE_BLOBS.length) !== sha256) {
    throw new AirlockError('MANIFEST_INVALID', `${subject}: the image blob ${path} is listed with sha256:${sha256}, not the digest it is named by`, {subject, hint: 'an image blob is named by its own digest; the bundle was not written by airlock or was changed, do not use it'})
  }
}

export function parseSums(text: string, entry: string): Map<string, string> {
  const map = new Map<string, string>()
  const names = new EntryNames((path, other) => new AirlockError('ENTRY_DUPLICATE', `${entry} lists ${path} and ${other}, one file on a case-insensitive disk or a file that is also a folder`, {subject: path, hint: 'extraction would overwrite one with the other or fail halfway; do not use this bundle'}))
  for (const head of HEAD_ENTRIES) names.addFile(head)
  const lines = text.split('\n')
  if (lines.at(-1) === '') lines.pop()
  lines.forEach((line, i) => {
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line)
    if (!m) throw new AirlockError('MANIFEST_INVALID', `${entry} line ${i + 1} is not "<sha256>  <path>"`, {subject: `${entry}:${i + 1}`})
    const [, digest, path] = m as unknown as [string, string, string]
    checkEntryName(path)
    checkBlobName(path, digest, `${entry}:${i + 1}`)
    if ((HEAD_ENTRIES as readonly string[]).includes(path)) {
      throw new AirlockError('MANIFEST_INVALID', `${entry} line ${i + 1} lists ${path}, which cannot be in it`, {subject: `${entry}:${i + 1}`})
    }
    if (map.has(path)) throw new AirlockError('ENTRY_DUPLICATE', `${entry} lists ${path} twice`, {subject: path})
    names.addFile(path)
    map.set(path, digest)
  })
  return map
}

export function isSha256Hex(s: string): boolean {
  return HEX64.test(s)
}

export {renderVerifyScript, type VerifyScriptInput} from './verify-script.js'
