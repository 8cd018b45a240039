import {open} from 'node:fs/promises'
import {Header, Pax} from 'tar'

import {MAX_MANIFEST_BYTES} from '../bundle/format.js'
import {BLOCK, padding} from '../bundle/tar-reader.js'
import {AirlockError} from '../ui/errors.js'
import {isGzipMagic, readFileHead} from '../util/fs.js'

export interface Located {
  size: number
  /** offset of the first byte in the tar file */
  offset: number
}

/** Refuses a gzip bundle up front: its blobs cannot be read by offset. */
export async function checkSeekable(bundle: string): Promise<void> {
  if (isGzipMagic(await readFileHead(bundle, 2, 'bundle'))) {
    throw new AirlockError('INPUT_INVALID', `${bundle} is gzip-compressed; images push reads blobs by their offset in the tar, which a .tar.gz does not have`, {
      subject: bundle,
      hint: `decompress it once (gzip -dk ${bundle}) and push the .tar; image layers are compressed already, so build with no --gzip next time`,
    })
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
  try {
    const {size: total} = await handle.stat()
    return await walkTarHeaders(total, async (pos, length) => {
      const buf = Buffer.alloc(length)
      await handle.read(buf, 0, length, pos)
      return buf
    }, bundle)
  } finally {
    await handle.close()
  }
}

/**
 * The header walk behind locateEntries, over any byte source that reads by position (a file, or a
 * bundle split into parts through openRandomAccess).
 */
export async function walkTarHeaders(total: number, readAt: (pos: number, length: number) => Promise<Buffer>, subject: string): Promise<Map<string, Located>> {
  const found = new Map<string, Located>()
  let pos = 0
  let extended: Record<string, unknown> = {}
  let longPath: string | undefined
  while (pos + BLOCK <= total) {
    const h = new Header(await readAt(pos, BLOCK))
    if (h.nullBlock) break
    if (!h.cksumValid) throw new AirlockError('NOT_A_BUNDLE', `corrupt tar header at byte ${pos} of ${subject}`, {subject, hint: 'the bundle is damaged; copy it again'})
    const size = h.size ?? 0
    const body = pos + BLOCK
    if (h.type === 'ExtendedHeader' || h.type === 'NextFileHasLongPath') {
      if (size > 1 << 20) throw new AirlockError('NOT_A_BUNDLE', `oversized tar record at byte ${pos}`, {subject})
      const buf = await readAt(body, Math.min(size, Math.max(0, total - body)))
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
