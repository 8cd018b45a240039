import {createHash} from 'node:crypto'

import {MAX_SUMS_BYTES, SUMS, parseSums} from '../bundle/format.js'
import {checkEntryType, checkRelativePath} from '../bundle/path-safety.js'
import {openBundleStream, type BundleInput} from '../bundle/source.js'
import {TarReader} from '../bundle/tar-reader.js'
import {AirlockError} from '../ui/errors.js'
import {MAX_SBOM_BYTES, SBOM_FILE} from './model.js'

export interface BundleSbom {
  /** the SBOM's line in SHA256SUMS (its digest was checked against it) */
  sha256: string
  /** the CycloneDX JSON document, exactly as stored */
  text: string
  document: Record<string, unknown>
}

/**
 * The bundle's sbom.cdx.json, checked against its line in SHA256SUMS (as `bundle inspect` reads the
 * head: trust is `bundle verify`'s business). It sits right after the head, so only a few entries
 * are read, in one pass that also works on stdin; a bundle built before SBOMs were written has none, which is an ENTRY_MISSING.
 */
export async function readBundleSbom(input: BundleInput): Promise<BundleSbom> {
  // one pass (stdin can be read once): SHA256SUMS first, as in every bundle, then on to the SBOM
  const reader = new TarReader(await openBundleStream(input))
  const first = await reader.next()
  if (!first) throw new AirlockError('NOT_A_BUNDLE', `${input} is empty`, {subject: input})
  checkRelativePath(first.path)
  checkEntryType(first.path, first.type)
  const root = first.path.split('/')[0] ?? ''
  if (first.path !== `${root}/${SUMS}`) throw new AirlockError('NOT_A_BUNDLE', `expected ${root}/${SUMS}, found ${first.path}`, {subject: first.path, hint: 'pass a bundle written by `airlock bundle build`'})
  const sums = parseSums((await reader.readBody(MAX_SUMS_BYTES)).toString('utf8'), `${root}/${SUMS}`)
  const expected = sums.get(SBOM_FILE)
  const subject = `${root}/${SBOM_FILE}`
  if (!expected) {
    throw new AirlockError('ENTRY_MISSING', `${input} has no ${SBOM_FILE}`, {subject, hint: 'the bundle was built by an airlock without SBOMs; rebuild it to get one'})
  }
  for (;;) {
    const entry = await reader.next()
    if (!entry) break
    checkRelativePath(entry.path)
    checkEntryType(entry.path, entry.type)
    if (entry.path !== subject) continue
    const data = await reader.readBody(MAX_SBOM_BYTES)
    const actual = createHash('sha256').update(data).digest('hex')
    if (actual !== expected) {
      throw new AirlockError('DIGEST_MISMATCH', `${subject} does not match its line in ${SUMS}`, {subject, hint: 'the bundle was changed after signing; run `airlock bundle verify`'})
    }
    const text = data.toString('utf8')
    let document: Record<string, unknown>
    try {
      document = JSON.parse(text) as Record<string, unknown>
    } catch (error) {
      throw new AirlockError('MANIFEST_INVALID', `${subject} is not JSON`, {subject, cause: error})
    }
    return {sha256: expected, text, document}
  }
  throw new AirlockError('ENTRY_MISSING', `${input}: ${SUMS} lists ${SBOM_FILE} but the bundle does not hold it`, {subject, hint: 'the bundle is incomplete; copy it again'})
}
