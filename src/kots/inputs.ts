import type {LoadedProfile, RequirementProfile} from '../profile/index.js'
import {tierFor} from '../profile/index.js'
import {AirlockError} from '../ui/errors.js'
import {closestNames} from './suggest.js'

/**
 * The command's own inputs (cores or size, edition, booleans given by hand) read against the profile:
 * each wrong one is a usage error naming the flag (or the spec's YAML path) it came from.
 */
export type KotsProfile = NonNullable<RequirementProfile['kots']>

/** What the caller calls each input, so errors name a flag on the command line and a YAML path in a spec. */
export interface InputNames {
  cores: string
  size: string
  edition: string
  domain: string
  ingressMode: string
  set: string
  from: string
}

export const FLAG_NAMES: InputNames = {cores: '--cores', size: '--size', edition: '--edition', domain: '--domain', ingressMode: '--ingress-mode', set: '--set', from: '--from'}

/** The profile's KOTS section, with the cross-references zod cannot check (toggle -> service, select on/off). */
export function kotsSection(loaded: LoadedProfile): KotsProfile {
  const kots = loaded.profile.kots
  if (!kots) {
    throw new AirlockError('PROFILE_INVALID', `${loaded.source}: kots: the profile has no KOTS section`, {subject: `${loaded.source}#kots`, hint: 'add kots: {app, inputs, services} to the profile'})
  }
  const ids = new Set(loaded.profile.services.items.map((s) => s.id))
  kots.services.forEach((t, i) => {
    const at = `${loaded.source}#kots.services[${i}]`
    if (!ids.has(t.service)) {
      const near = closestNames(t.service, ids)
      throw new AirlockError('PROFILE_INVALID', `${at}.service: ${t.service} is not a service of services.items${near.length ? ` (closest: ${near.join(', ')})` : ''}`, {subject: `${at}.service`, hint: 'use an id from services.items'})
    }
    if (t.type === 'select' && (t.on === undefined || t.off === undefined)) {
      throw new AirlockError('PROFILE_INVALID', `${at}: a select toggle needs both on and off values`, {subject: `${at}.${t.on === undefined ? 'on' : 'off'}`, hint: 'give the option written when the service is on and when it is off'})
    }
  })
  return kots
}

export function resolveTier(profile: RequirementProfile, input: {cores?: number; size?: number}, names: InputNames): {tier: number; cores?: number} {
  const tiers = [...profile.services.tiers].sort((a, b) => a - b)
  const minimum = tiers[0] ?? 0
  if ((input.cores === undefined) === (input.size === undefined)) {
    throw new AirlockError('USAGE', `give exactly one of ${names.cores} and ${names.size}`, {subject: names.cores, hint: `${names.cores} N (the cluster's total cores) or ${names.size} ${tiers.join('|')}`})
  }
  if (input.size !== undefined) {
    if (!tiers.includes(input.size)) {
      throw new AirlockError('USAGE', `${names.size}: ${input.size} is not a tier of this profile (${tiers.join(', ')})`, {subject: names.size, hint: `choose one of ${tiers.join(', ')}, or give ${names.cores}`})
    }
    return {tier: input.size}
  }
  const cores = input.cores ?? 0
  const tier = tierFor(profile, cores)
  if (tier === undefined) {
    throw new AirlockError('INPUT_INVALID', `${cores} cores is below the minimum of ${minimum} cores for ${profile.metadata.platform} ${profile.metadata.version}`, {
      subject: names.cores,
      hint: `the cluster needs at least ${minimum} cores in total; add nodes or larger nodes`,
    })
  }
  return {tier, cores}
}

export function resolveEdition(profile: RequirementProfile, kots: KotsProfile, asked: string | undefined, existing: Map<string, {value: string}>, names: InputNames): string {
  const editions = Object.keys(profile.editions)
  const fromFile = kots.inputs.edition ? existing.get(kots.inputs.edition.item)?.value : undefined
  const edition = asked ?? (fromFile && editions.includes(fromFile) ? fromFile : editions[0])
  if (edition === undefined || !editions.includes(edition)) {
    throw new AirlockError('USAGE', `${names.edition}: ${asked} is not an edition of this profile (${editions.join(', ')})`, {subject: names.edition, hint: `choose one of ${editions.join(', ')}`})
  }
  return edition
}

export function normaliseBool(raw: string, item: string, flag: string): string {
  const v = raw.trim().toLowerCase()
  if (['1', 'true', 'yes', 'on'].includes(v)) return '1'
  if (['0', 'false', 'no', 'off'].includes(v)) return '0'
  throw new AirlockError('USAGE', `${flag} ${item}=${raw}: ${item} is a bool item`, {subject: `${flag} ${item}`, hint: 'use 1 or 0 (true/false, yes/no, on/off are accepted)'})
}

/** The ingress mode an edition gets when none is asked: the profile's per-edition default, with where that fact comes from. */
export function ingressDefault(kots: KotsProfile, edition: string): {value: string; source: string} | undefined {
  const ingress = kots.inputs.ingressMode
  if (!ingress) return undefined
  const perEdition = ingress.defaults?.[edition]
  if (perEdition) return perEdition
  return ingress.default === undefined ? undefined : {value: ingress.default, source: ingress.defaultSource ?? 'the profile (kots.inputs.ingressMode.default)'}
}
