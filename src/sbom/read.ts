import {SUMS, parseSums} from '../bundle/format.js'
import type {BundleInput} from '../bundle/source.js'
import {checkJsonDepth} from '../bundle/manifest-check.js'
import {walkBundleStructure} from '../bundle/structure.js'
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
 * The bundle's sbom.cdx.json, checked against its line in SHA256SUMS (trust is `bundle verify`'s
 * business), from the walk every unverified reader makes: a bundle verify refuses is refused here
 * too. A bundle built before SBOMs were written has none, which is an ENTRY_MISSING.
 */
export async function readBundleSbom(input: BundleInput): Promise<BundleSbom> {
  let sums: Map<string, string> | undefined
  let root = ''
  const parts: Buffer[] = []
  let found = false
  await walkBundleStructure(input, {
    async head(name, data) {
      if (name === SUMS) sums = parseSums(data.toString('utf8'), SUMS)
    },
    async open(rel, entry) {
      root = entry.path.slice(0, entry.path.length - rel.length - 1)
      if (rel !== SBOM_FILE) return undefined
      if (entry.size > MAX_SBOM_BYTES) throw new AirlockError('MANIFEST_INVALID', `${entry.path} is ${entry.size} bytes, more than an SBOM may have`, {subject: entry.path})
      found = true
      // the walk hashes what it hands to a writer and checks it against SHA256SUMS before close()
      return {write: (chunk: Buffer) => void parts.push(Buffer.from(chunk)), close: async () => {}, abort: async () => {}}
    },
  })
  const subject = `${root}/${SBOM_FILE}`
  const expected = sums?.get(SBOM_FILE)
  if (!found || expected === undefined) {
    throw new AirlockError('ENTRY_MISSING', `${input} has no ${SBOM_FILE}`, {subject, hint: 'the bundle was built by an airlock without SBOMs; rebuild it to get one'})
  }
  const text = Buffer.concat(parts).toString('utf8')
  let document: Record<string, unknown>
  try {
    document = JSON.parse(text) as Record<string, unknown>
  } catch (error) {
    throw new AirlockError('MANIFEST_INVALID', `${subject} is not JSON`, {subject, cause: error})
  }
  // printed again with --json: nesting deep enough to overflow JSON.stringify's stack is refused here
  checkJsonDepth(document, subject)
  return {sha256: expected, text, document}
}
