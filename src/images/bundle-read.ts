import {open} from 'node:fs/promises'
import {Header, Pax} from 'tar'

import {MANIFEST, MAX_MANIFEST_BYTES, SIG, SIGNER, SUMS, type BundleManifest} from '../bundle/format.js'
import {openBundleStream} from '../bundle/source.js'
import {BLOCK, TarReader, padding} from '../bundle/tar-reader.js'
import {parseManifest as parseBundleManifest} from '../bundle/verify.js'
import {AirlockError, fromFsError} from '../ui/errors.js'

/** manifest.json from the head of a bundle: reads four entries and stops (works on .tar.gz too). */
export async function readBundleManifest(bundle: string): Promise<{root: string; manifest: BundleManifest}> {
  const reader = new TarReader(await openBundleStream(bundle))
  let root: string | undefined
  for (let i = 0; i < 5; i++) {
    const entry = await reader.next()
    if (!entry) break
    const [first, ...rest] = entry.path.split('/')
    root ??= first
    const rel = rest.join('/')
    if (i < 3 && rel !== [SUMS, SIG, SIGNER][i]) break
    if (rel === MANIFEST) {
      const manifest = parseBundleManifest(await reader.readBody(MAX_MANIFEST_BYTES), entry.path, root ?? '')
      return {root: root ?? '', manifest}
    }
  }
  throw new AirlockError('NOT_A_BUNDLE', `${bundle} has no manifest.json after its signature`, {subject: bundle, hint: 'pass a bundle written by airlock bundle build'})
}

export interface Located {
  size: number
  /** offset of the first byte in the tar file */
  offset: number
}

/** Refuses a gzip bundle up front: its blobs cannot be read by offset. */
export async function checkSeekable(bundle: string): Promise<void> {
  let handle
  try {
    handle = await open(bundle, 'r')
  } catch (error) {
    throw fromFsError(error, bundle, 'bundle')
  }
  try {
    const magic = Buffer.alloc(2)
    await handle.read(magic, 0, 2, 0)
    if (magic[0] === 0x1f && magic[1] === 0x8b) {
      throw new AirlockError('INPUT_INVALID', `${bundle} is gzip-compressed; images push reads blobs by their offset in the tar, which a .tar.gz does not have`, {
        subject: bundle,
        hint: `decompress it once (gzip -dk ${bundle}) and push the .tar; image layers are compressed already, so build with no --gzip next time`,
      })
    }
  } finally {
    await handle.close()
  }
}

/**
 * Where each file of a bundle sits, from its tar headers alone: seeks from header to header, so a
 * bundle of many gigabytes is indexed by reading a few kilobytes. Paths are relative to the bundle
 * folder. Used when the bundle was verified earlier (`--no-verify`); otherwise the offsets come
 * from the verifying pass itself.
 */
export async function locateEntries(bundle: string): Promise<Map<string, Located>> {
  await checkSeekable(bundle)
  const handle = await open(bundle, 'r')
  const found = new Map<string, Located>()
  try {
    const {size: total} = await handle.stat()
    let pos = 0
    let extended: Record<string, unknown> = {}
    let longPath: string | undefined
    const block = Buffer.alloc(BLOCK)
    while (pos + BLOCK <= total) {
      await handle.read(block, 0, BLOCK, pos)
      const h = new Header(block)
      if (h.nullBlock) break
      if (!h.cksumValid) throw new AirlockError('NOT_A_BUNDLE', `corrupt tar header at byte ${pos} of ${bundle}`, {subject: bundle, hint: 'the bundle is damaged; copy it again'})
      const size = h.size ?? 0
      const body = pos + BLOCK
      if (h.type === 'ExtendedHeader' || h.type === 'NextFileHasLongPath') {
        if (size > 1 << 20) throw new AirlockError('NOT_A_BUNDLE', `oversized tar record at byte ${pos}`, {subject: bundle})
        const buf = Buffer.alloc(size)
        await handle.read(buf, 0, size, body)
        if (h.type === 'ExtendedHeader') extended = {...extended, ...Pax.parse(buf.toString('utf8'), {}, false)}
        else longPath = buf.toString('utf8').replace(/\0.*$/s, '')
      } else {
        const path = longPath ?? (extended.path as string | undefined) ?? h.path ?? ''
        if (h.type === 'File' || h.type === 'OldFile') found.set(path.split('/').slice(1).join('/'), {size, offset: body})
        extended = {}
        longPath = undefined
      }
      pos = body + size + padding(size)
    }
  } finally {
    await handle.close()
  }
  return found
}

/** A small entry (index.json, a manifest) read by offset. */
export async function readAt(bundle: string, at: Located, max = MAX_MANIFEST_BYTES): Promise<Buffer> {
  if (at.size > max) throw new AirlockError('MANIFEST_INVALID', `an entry of ${at.size} bytes where a manifest was expected`, {subject: bundle})
  const handle = await open(bundle, 'r')
  try {
    const buf = Buffer.alloc(at.size)
    await handle.read(buf, 0, at.size, at.offset)
    return buf
  } finally {
    await handle.close()
  }
}
