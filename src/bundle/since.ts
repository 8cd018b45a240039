import {createHash} from 'node:crypto'
import {basename} from 'node:path'

import {hashFile, type EntrySource} from './entry.js'
import type {BundleBase, EntryRole, InventoryEntry} from './format.js'
import {readBundleHead} from './inspect.js'
import {verifyBundle} from './verify.js'
import {openPartsIndex, partsIndexFor, streamParts} from '../transport/parts.js'
import type {Trust} from '../signing/trust.js'
import {AirlockError} from '../ui/errors.js'

/**
 * The bundle a differential build is made against (`bundle build --since OLD`). Only its head is
 * read: SHA256SUMS says what it carries, so nothing of it is unpacked. It is a list, not a source:
 * the new bundle never copies a byte out of it.
 */
export interface SinceBase {
  file: string
  name: string
  version: string
  sha256: string
  verified: boolean
  /** path -> sha256 hex of every entry the base carries, or that the site has because of it */
  carried: Map<string, string>
  /** sizes the base's manifest gives, so an entry left out unread still has one */
  sizes: Map<string, number>
}

/** Roles a differential bundle may leave out: large content the site keeps between releases. */
export const OMITTABLE_ROLES: readonly EntryRole[] = ['file', 'executable', 'image-blob']

/**
 * Reads OLD's head and computes its identity. Without `trust` the base only serves as a list:
 * that is safe, because every entry the new bundle leaves out is named by digest in its own signed
 * manifest, and `images push` checks the registry has each one. With `trust` the base is verified
 * in full first, for a release process that wants the recorded base to be a genuine release.
 */
export async function loadSinceBase(file: string, trust?: Trust): Promise<SinceBase> {
  const [head, sha256] = await Promise.all([
    readBundleHead(file).catch((error: unknown) => {
      if (error instanceof AirlockError) throw new AirlockError(error.code, `--since ${file}: ${error.message}`, {subject: file, hint: error.hint ?? 'pass the bundle this one follows', cause: error})
      throw error
    }),
    fileIdentity(file),
    trust ? verifyBundle(file, trust) : undefined,
  ])
  const carried = new Map<string, string>()
  // A base that was itself differential carries, by the site's registry, what it left out too.
  const sizes = new Map<string, number>()
  for (const e of head.manifest.base?.omitted ?? []) carried.set(e.path, e.sha256)
  for (const [path, digest] of head.sums) carried.set(path, digest)
  for (const e of [...(head.manifest.base?.omitted ?? []), ...head.manifest.files]) if (Number.isSafeInteger(e.size) && e.size >= 0) sizes.set(e.path, e.size)
  return {file, name: head.manifest.name, version: head.manifest.version, sha256, verified: Boolean(trust), carried, sizes}
}

/**
 * The SHA-256 of the file as the site received it; for parts, of the parts joined, each checked
 * against the index as it is read. The index's own `sha256` is not taken on its word: it is what
 * the new bundle records as its base, and the index is as untrusted as the parts.
 */
async function fileIdentity(file: string): Promise<string> {
  const index = await partsIndexFor(file)
  if (!index) return (await hashFile(file)).sha256
  const opened = await openPartsIndex(index)
  const hash = createHash('sha256')
  for await (const chunk of streamParts(opened)) hash.update(chunk)
  const sha256 = hash.digest('hex')
  if (sha256 !== opened.index.sha256) {
    throw new AirlockError('DIGEST_MISMATCH', `--since ${file}: the parts joined have sha256:${sha256}, ${basename(index)} says sha256:${opened.index.sha256}`, {subject: index, hint: 'the parts index was changed; split the base bundle again, or give it joined'})
  }
  return sha256
}

export function baseCarries(base: SinceBase | undefined, path: string, sha256: string): boolean {
  return base !== undefined && base.carried.get(path) === sha256
}

/** Splits entries into those written and those the base already carries (same path and digest). */
export function omitCarried(base: SinceBase | undefined, entries: EntrySource[], omittable: (e: EntrySource) => boolean = () => true): {kept: EntrySource[]; omitted: InventoryEntry[]} {
  const kept: EntrySource[] = []
  const omitted: InventoryEntry[] = []
  for (const e of entries) {
    if (OMITTABLE_ROLES.includes(e.role) && omittable(e) && baseCarries(base, e.path, e.sha256)) omitted.push({path: e.path, size: e.size, sha256: e.sha256, role: e.role})
    else kept.push(e)
  }
  return {kept, omitted}
}

export function describeBase(base: SinceBase, omitted: InventoryEntry[]): BundleBase {
  return {name: base.name, version: base.version, sha256: base.sha256, verified: base.verified, omitted: [...omitted].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))}
}
