import {resolve} from 'node:path'

import {AirlockError} from '../ui/errors.js'
import {readSmallFile, writeFileAtomic} from '../util/fs.js'
import {loadAppConfig} from './app-config.js'
import {renderConfigValues, type RenderedConfigValues} from './config-values.js'
import {resolveProfile} from './profile-ref.js'

export interface KotsConfigOptions {
  profile?: string
  cores?: number
  size?: number
  edition?: string
  domain?: string
  ingressMode?: string
  /** ITEM=VALUE strings as typed */
  set?: string[]
  from?: string
  appConfig?: string
  out?: string
  force?: boolean
}

export type KotsConfigOutcome = RenderedConfigValues & {out?: string}

/** `kots config`: profile + size + inputs -> ConfigValues, checked against the app's Config when given. */
export async function generateKotsConfig(options: KotsConfigOptions): Promise<KotsConfigOutcome> {
  const profile = await resolveProfile(options.profile)
  const from = options.from ? {text: (await readSmallFile(options.from, {what: 'ConfigValues file', maxBytes: 4 << 20})).toString('utf8'), source: options.from} : undefined
  const appConfig = options.appConfig ? await loadAppConfig(options.appConfig) : undefined
  const rendered = renderConfigValues({
    profile,
    cores: options.cores,
    size: options.size,
    edition: options.edition,
    domain: options.domain,
    ingressMode: options.ingressMode,
    set: parseSetFlags(options.set ?? []),
    from,
    appConfig,
  })
  if (!options.out) return rendered
  // Updating a file in place (--from X --out X) is the common case and needs no --force.
  const inPlace = options.from !== undefined && resolve(options.from) === resolve(options.out)
  await writeFileAtomic(options.out, rendered.yaml, {force: options.force || inPlace, mode: rendered.hasSecrets ? 0o600 : 0o644})
  return {...rendered, out: options.out}
}

export function parseSetFlags(list: string[], flag = '--set'): [string, string][] {
  return list.map((s) => {
    const eq = s.indexOf('=')
    if (eq <= 0) throw new AirlockError('USAGE', `${flag} ${s}: expected ITEM=VALUE`, {subject: `${flag} ${s}`, hint: `e.g. ${flag} enable_feature=1`})
    return [s.slice(0, eq), s.slice(eq + 1)]
  })
}
