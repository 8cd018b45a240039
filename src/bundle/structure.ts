import {stat} from 'node:fs/promises'

import {openRandomAccess} from '../transport/random-access.js'
import {openPartsIndex, partsIndexFor} from '../transport/parts.js'
import {isGzipMagic, readFileHead} from '../util/fs.js'
import {openBundleStream, type BundleInput} from './source.js'
import {walkBundleUnverified, type EntrySink, type UnverifiedWalk} from './verify.js'

/**
 * The unverified walk over any bundle input, for the readers that check no signature (inspect,
 * images list, the SBOM reader, --since): every header, name, type, duplicate, listing and
 * end-of-archive check of `bundle verify`, so they refuse exactly what it refuses, with only the
 * hashing of bodies skipped. A plain file or its parts is read by position (headers only, fast
 * however large); a gzip bundle or stdin is read as one stream.
 */
export async function walkBundleStructure(input: BundleInput, sink?: EntrySink): Promise<UnverifiedWalk> {
  if (await isSeekable(input)) {
    const bundle = await openRandomAccess(input)
    try {
      return await walkBundleUnverified(bundle, input, sink)
    } finally {
      await bundle.close()
    }
  }
  return walkBundleUnverified(await openBundleStream(input), input, sink)
}

async function isSeekable(input: BundleInput): Promise<boolean> {
  if (input === '-') return false
  const index = await partsIndexFor(input)
  const first = index ? undefined : await stat(input).catch(() => undefined)
  if (!index && !first?.isFile()) return false // a pipe, or an error openBundleStream names
  // the first part is checked (as a regular file, with its size) by openPartsIndex before it is opened
  const head = index ? (await openPartsIndex(index)).parts[0]?.path : input
  return head === undefined || !isGzipMagic(await readFileHead(head, 2, index ? 'part' : 'bundle'))
}
