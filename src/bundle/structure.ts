import {openSeekable} from '../transport/random-access.js'
import {openBundleStream, type BundleInput} from './source.js'
import {walkBundleUnverified, type EntrySink, type UnverifiedWalk} from './verify.js'

/**
 * The unverified walk over any bundle input, for the readers that check no signature (inspect,
 * images list, the SBOM reader, --since): every header, name, type, duplicate, listing and
 * end-of-archive check of `bundle verify`, so they refuse exactly what it refuses, with only the
 * hashing of bodies skipped. A plain file, its parts or an S3 object is read by position (headers
 * only, fast however large); a gzip bundle or stdin is read as one stream.
 */
export async function walkBundleStructure(input: BundleInput, sink?: EntrySink): Promise<UnverifiedWalk> {
  const bundle = await openSeekable(input)
  if (!bundle) return walkBundleUnverified(await openBundleStream(input), input, sink)
  try {
    return await walkBundleUnverified(bundle, input, sink)
  } finally {
    await bundle.close()
  }
}
