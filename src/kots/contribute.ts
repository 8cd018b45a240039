import {isAbsolute, resolve} from 'node:path'

import type {BuildContext, Contribution} from '../bundle/build-context.js'
import {bufferEntry} from '../bundle/entry.js'
import {loadProfile} from '../profile/index.js'
import {AirlockError} from '../ui/errors.js'
import {loadAppConfig} from './app-config.js'
import {renderConfigValues} from './config-values.js'

export const CONFIG_VALUES_ENTRY = 'kots/config-values.yaml'

/** spec.kots: the ConfigValues for the spec's size and edition, from the spec's profile. */
export async function contributeKots(ctx: BuildContext): Promise<Contribution | undefined> {
  const kots = ctx.loaded.spec.spec.kots
  if (!kots) return undefined
  const at = (field: string) => `${ctx.loaded.path}#spec.kots.${field}`
  const profileName = ctx.loaded.spec.spec.profile
  if (!profileName) {
    throw new AirlockError('SPEC_INVALID', `${ctx.loaded.path}#spec.profile: spec.kots needs a requirement profile`, {subject: `${ctx.loaded.path}#spec.profile`, hint: 'name one from templates/profiles/, e.g. profile: NAME'})
  }
  ctx.progress('rendering the KOTS ConfigValues')
  const profile = await loadProfile(profileName)
  const appConfigPath = kots.appConfig && (isAbsolute(kots.appConfig) ? kots.appConfig : resolve(ctx.loaded.baseDir, kots.appConfig))
  const appConfig = appConfigPath ? await loadAppConfig(appConfigPath) : undefined
  const rendered = renderConfigValues({
    profile,
    cores: kots.cores,
    size: kots.size,
    edition: kots.edition,
    domain: kots.domain,
    ingressMode: kots.ingressMode,
    set: Object.entries(kots.values).map(([item, v]) => [item, typeof v === 'boolean' ? (v ? '1' : '0') : String(v)]),
    appConfig,
    names: {cores: at('cores'), size: at('size'), edition: at('edition'), domain: at('domain'), ingressMode: at('ingressMode'), set: at('values'), from: at('from')},
  })
  const notes = rendered.warnings.map((w) => `kots: ${w}`)
  if (rendered.unchecked.length > 0) notes.push(`kots: not checked against the application's Config (set spec.kots.appConfig): ${rendered.unchecked.join(', ')}`)
  if (rendered.hasSecrets) notes.push(`kots: ${CONFIG_VALUES_ENTRY} holds passwords in plaintext; protect the bundle accordingly`)
  return {
    entries: [bufferEntry(CONFIG_VALUES_ENTRY, rendered.yaml, 'kots')],
    extensions: {
      kots: {
        profile: rendered.profile,
        ...(rendered.cores === undefined ? {} : {cores: rendered.cores}),
        tier: rendered.tier,
        edition: rendered.edition,
        services: rendered.services.map((s) => ({id: s.id, name: s.name, enabled: s.enabled, ...(s.item ? {item: s.item, value: s.value} : {}), reason: s.reason})),
        ...(rendered.checkedAgainst ? {checkedAgainst: kots.appConfig} : {unchecked: rendered.unchecked}),
        unverified: rendered.unverified,
      },
    },
    notes,
  }
}
