import {createHash} from 'node:crypto'

import type {BundleManifest} from '../bundle/format.js'
import {blobPath, digestHex} from '../oci/digest.js'
import {MAX_MANIFEST_BYTES, parseManifest, type Descriptor} from '../oci/manifest.js'
import {INDEX_TYPES, MANIFEST_TYPES, REF_NAME} from '../oci/media-types.js'
import {AirlockError} from '../ui/errors.js'
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
  await checkLayout(bundle, located, manifest as BundleManifest)
  return {located, manifest: manifest as BundleManifest, verified: Boolean(options.trust), ...(readFrom ? {readFrom} : {})}
}

/**
 * The image layout, as one whole, before push or serve sends a byte of it. SHA256SUMS vouches for
 * each entry's bytes, not for how the layout's documents point at each other, so a signed bundle can
 * still hold a manifest whose descriptor gives a layer another size than the blob has, a descriptor
 * typed as a manifest over an index, an index nested in an index, or a layer that is neither in the
 * bundle nor left out by `base.omitted`: a registry would take some of that and a pull then fail.
 * Every document reached from images/index.json is read by position and checked against its digest.
 */
async function checkLayout(bundle: RandomAccessBundle, located: Map<string, Located>, manifest: BundleManifest): Promise<void> {
  const indexAt = located.get(`${LAYOUT_PREFIX}index.json`)
  if (!indexAt) return // a bundle without images (or a reader that located none)
  const omitted = new Map((manifest.base?.omitted ?? []).map((o) => [o.path, o.size]))
  const invalid = (subject: string, why: string) => new AirlockError('MANIFEST_INVALID', `${subject}: ${why}`, {subject, hint: 'the image layout in the bundle does not hold together; it was not written by airlock or was changed, do not use it'})
  const read = (at: Located, what: string) => {
    if (at.size > MAX_MANIFEST_BYTES) throw invalid(what, `an entry of ${at.size} bytes where a manifest was expected`)
    return bundle.readBuffer(at.offset, at.size)
  }
  /** where the blob a descriptor names is, after checking that it is there (or left out) with the size the descriptor gives */
  const blob = (d: Descriptor, what: string): Located | undefined => {
    const path = `${LAYOUT_PREFIX}${blobPath(d.digest, what)}`
    const at = located.get(path)
    const size = at?.size ?? omitted.get(path)
    if (size === undefined) throw new AirlockError('ENTRY_MISSING', `${what} needs ${path}, which the bundle neither holds nor leaves out (base.omitted)`, {subject: path, hint: 'the bundle is incomplete or was changed; do not use it'})
    if (size !== d.size) throw invalid(what, `its descriptor gives ${d.digest} ${d.size} bytes, ${path} has ${size}`)
    return at
  }
  // push and serve hold every document in memory, once per image that reaches it: bounded here, with
  // a document reached again costing again what it reached the first time (its own bytes and its children's)
  const reach = new Map<string, {bytes: number; index: boolean}>()
  let held = 0
  const hold = (bytes: number, what: string) => {
    held += bytes
    if (held > MAX_LAYOUT_DOCUMENT_BYTES) throw invalid(`${LAYOUT_PREFIX}index.json`, `its images reach more than ${MAX_LAYOUT_DOCUMENT_BYTES >> 20} MiB of manifests and indexes (at ${what}); push and serve hold them in memory`)
  }
  const document = async (d: Descriptor, what: string, nested: boolean): Promise<number> => {
    const at = blob(d, what)
    if (!at) throw invalid(what, `${d.digest} is a manifest, which a bundle never leaves out`)
    const known = reach.get(d.digest)
    if (known !== undefined) {
      if (nested && known.index) throw invalid(what, `${d.digest} is an index inside an index`)
      hold(known.bytes, what)
      return known.bytes
    }
    hold(at.size, what)
    const bytes = await read(at, what)
    if (createHash('sha256').update(bytes).digest('hex') !== digestHex(d.digest)) {
      throw new AirlockError('DIGEST_MISMATCH', `${what}: ${LAYOUT_PREFIX}${blobPath(d.digest)} does not match its digest`, {subject: `${LAYOUT_PREFIX}${blobPath(d.digest)}`, hint: 'the bundle was changed after signing; run bundle verify'})
    }
    const parsed = parseManifest(bytes, d.mediaType, what)
    // Push and serve send each document under its own type. A descriptor may give the other type of
    // the same kind (an OCI manifest listed as a Docker one: indexes pulled from some registries say
    // so, and the build keeps them byte for byte); an index listed as a manifest, or the other way
    // round, would have a client read one kind of document as the other, and is refused.
    const listedKind = INDEX_TYPES.includes(d.mediaType) ? 'index' : MANIFEST_TYPES.includes(d.mediaType) ? 'manifest' : undefined
    if (parsed.mediaType !== d.mediaType && listedKind !== parsed.kind) throw invalid(what, `its descriptor says ${d.mediaType}, the document ${d.digest} is ${parsed.mediaType}`)
    let total = at.size
    if (parsed.kind === 'index') {
      if (nested) throw invalid(what, `${d.digest} is an index inside an index`)
      for (const child of parsed.manifests) total += await document(child, `${what} > ${child.digest}`, true)
    } else {
      blob(parsed.config, `${what} config`)
      parsed.layers.forEach((layer, i) => blob(layer, `${what} layers[${i}]`))
    }
    reach.set(d.digest, {bytes: total, index: parsed.kind === 'index'})
    return total
  }
  const index = parseManifest(await read(indexAt, `${LAYOUT_PREFIX}index.json`), undefined, `${LAYOUT_PREFIX}index.json`)
  if (index.kind !== 'index') throw invalid(`${LAYOUT_PREFIX}index.json`, 'it is not an image index')
  for (const d of index.manifests) await document(d, `${LAYOUT_PREFIX}index.json ${d.annotations?.[REF_NAME] ?? d.digest}`, false)
}

/** manifests and indexes, counted once per image that reaches them: real bundles hold a few MiB */
const MAX_LAYOUT_DOCUMENT_BYTES = 256 << 20

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
