import type {EntrySink} from '../bundle/verify.js'
import {verifyBundle, type VerifyResult} from '../bundle/verify.js'
import {loadProfile, parseProfile, type LoadedProfile} from '../profile/index.js'
import type {Trust} from '../signing/trust.js'
import {AirlockError} from '../ui/errors.js'
import {parseConfigValues, type ConfigValues} from '../kots/index.js'

export const REQUIREMENTS_ENTRY = 'requirements.yaml'
export const CONFIG_VALUES_ENTRY = 'kots/config-values.yaml'
const MAX_SMALL_ENTRY = 4 << 20

export interface BundleInputs {
  verified: VerifyResult
  profile: LoadedProfile
  configValues?: ConfigValues
}

/**
 * Verifies the whole bundle (signature, every digest) and keeps only requirements.yaml and
 * kots/config-values.yaml, whose bytes are believed only because verification went on to succeed.
 */
export async function readBundleInputs(bundle: string, trust: Trust): Promise<BundleInputs> {
  const kept = new Map<string, Buffer[]>()
  const sink: EntrySink = {
    async open(rel, entry) {
      if (rel !== REQUIREMENTS_ENTRY && rel !== CONFIG_VALUES_ENTRY) return undefined
      if (entry.size > MAX_SMALL_ENTRY) throw new AirlockError('INPUT_INVALID', `${entry.path} is ${entry.size} bytes, too large`, {subject: entry.path})
      const parts: Buffer[] = []
      return {
        write(chunk) {
          parts.push(Buffer.from(chunk))
        },
        async close() {
          kept.set(rel, parts)
        },
        async abort() {},
      }
    },
  }
  const verified = await verifyBundle(bundle, trust, sink)
  const requirements = kept.get(REQUIREMENTS_ENTRY)
  if (!requirements) {
    throw new AirlockError('ENTRY_MISSING', `${bundle} has no ${REQUIREMENTS_ENTRY}`, {subject: `${verified.root}/${REQUIREMENTS_ENTRY}`, hint: 'build the bundle with spec.profile set, or check against --profile NAME'})
  }
  const profile = parseProfile(Buffer.concat(requirements), `${verified.root}/${REQUIREMENTS_ENTRY}`)
  const config = kept.get(CONFIG_VALUES_ENTRY)
  return {verified, profile, ...(config ? {configValues: parseConfigValues(Buffer.concat(config).toString('utf8'), `${verified.root}/${CONFIG_VALUES_ENTRY}`)} : {})}
}

export {loadProfile}
