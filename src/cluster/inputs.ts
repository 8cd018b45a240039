import type {EntrySink} from '../bundle/verify.js'
import {verifyBundle, type VerifyResult} from '../bundle/verify.js'
import {loadProfile, parseProfile, type LoadedProfile} from '../profile/index.js'
import type {Trust} from '../signing/trust.js'
import {AirlockError} from '../ui/errors.js'
import {readSmallFile} from '../util/fs.js'
import {parseYamlDocuments} from '../util/yaml.js'
import type {ConfigValuesInput} from './checks.js'

export const REQUIREMENTS_ENTRY = 'requirements.yaml'
export const CONFIG_VALUES_ENTRY = 'kots/config-values.yaml'
const MAX_SMALL_ENTRY = 4 << 20

/**
 * A kots.io/v1beta1 ConfigValues document reduced to item -> value. Only `value` is read: `default`
 * is what KOTS uses when no value is given, and a service switched on by default counts as on.
 */
export function parseConfigValues(raw: Buffer, source: string): ConfigValuesInput {
  const bad = (at: string, message: string) =>
    new AirlockError('INPUT_INVALID', `${source}: ${at}: ${message}`, {subject: `${source}#${at}`, hint: 'give a kots.io/v1beta1 ConfigValues file, e.g. the bundle\'s kots/config-values.yaml'})
  const [doc] = parseYamlDocuments(raw.toString('utf8'), {source, code: 'INPUT_INVALID'})
  if (doc && 'error' in doc) throw bad('(root)', doc.error.message.slice(doc.error.message.indexOf('not valid YAML')))
  const o = doc?.value as {apiVersion?: unknown; kind?: unknown; spec?: {values?: unknown}} | null
  if (!o || o.kind !== 'ConfigValues' || typeof o.apiVersion !== 'string' || !o.apiVersion.startsWith('kots.io/')) throw bad('kind', 'not a kots.io ConfigValues document')
  const values = o.spec?.values
  if (typeof values !== 'object' || values === null || Array.isArray(values)) throw bad('spec.values', 'missing or not a map')
  const out: Record<string, string> = {}
  for (const [item, v] of Object.entries(values as Record<string, unknown>)) {
    const entry = v as {value?: unknown; default?: unknown} | null
    const value = entry?.value ?? entry?.default
    if (value !== undefined && value !== null) out[item] = String(value)
  }
  return {source, values: out}
}

export async function readConfigValuesFile(path: string): Promise<ConfigValuesInput> {
  return parseConfigValues(await readSmallFile(path, {what: 'ConfigValues file', maxBytes: MAX_SMALL_ENTRY}), path)
}

export interface BundleInputs {
  verified: VerifyResult
  profile: LoadedProfile
  configValues?: ConfigValuesInput
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
  return {verified, profile, ...(config ? {configValues: parseConfigValues(Buffer.concat(config), `${verified.root}/${CONFIG_VALUES_ENTRY}`)} : {})}
}

export {loadProfile}
