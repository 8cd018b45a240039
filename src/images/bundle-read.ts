import type {BundleManifest} from '../bundle/format.js'
import {verifyBundle, walkBundleUnverified, type EntrySink} from '../bundle/verify.js'
import type {Trust} from '../signing/trust.js'
import type {FileIdentity} from '../transport/file-pin.js'
import {openRandomAccess, type RandomAccessBundle} from '../transport/random-access.js'
import {LAYOUT_DIR} from './contribute.js'

export interface Located {
  size: number
  /** offset of the first byte in the tar file */
  offset: number
}

export interface LocatedBundle {
  /** entries by their path under the bundle folder */
  located: Map<string, Located>
  manifest: BundleManifest
  verified: boolean
  /** the file verified, when it was a plain file read by position (see EntrySink.readFrom) */
  readFrom?: FileIdentity
}

/**
 * Where each entry of a bundle sits, for readers that take blobs out by offset (images push and
 * serve). With `trust` the offsets come from the verifying pass itself; without (`--no-verify`) from
 * the same walk with hashing skipped, over the bundle read by position, so a bundle of many
 * gigabytes is indexed by reading its headers. Both see exactly the same entries.
 */
export async function locateBundleEntries(bundle: RandomAccessBundle, input: string, options: {trust?: Trust; only?: string} = {}): Promise<LocatedBundle> {
  const located = new Map<string, Located>()
  let manifest: BundleManifest | undefined
  let readFrom: FileIdentity | undefined
  const sink: EntrySink = {
    async open(rel, entry) {
      if (options.only === undefined || rel.startsWith(options.only)) located.set(rel, {size: entry.size, offset: entry.dataOffset})
      return undefined
    },
    manifest(m) {
      manifest = m
    },
    readFrom(file) {
      readFrom = file
    },
  }
  if (options.trust) await verifyBundle(input, options.trust, sink)
  else await walkBundleUnverified(bundle, input, sink)
  // both walks end in ENTRY_MISSING when there is no manifest.json
  return {located, manifest: manifest as BundleManifest, verified: Boolean(options.trust), ...(readFrom ? {readFrom} : {})}
}

/** The image layout's entries only (`images/...`). */
export const LAYOUT_PREFIX = `${LAYOUT_DIR}/`

/** Every entry of a bundle file or its parts, from the unverified walk (tests and diagnostics). */
export async function locateEntries(input: string): Promise<Map<string, Located>> {
  const bundle = await openRandomAccess(input)
  try {
    return (await locateBundleEntries(bundle, input)).located
  } finally {
    await bundle.close()
  }
}
