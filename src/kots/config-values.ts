import type {LoadedProfile} from '../profile/index.js'
import {AirlockError} from '../ui/errors.js'
import type {AppConfig} from './app-config.js'
import {validateAgainstApp, type CandidateValue} from './app-rules.js'
import {FLAG_NAMES, ingressDefault, kotsSection, normaliseBool, resolveEdition, resolveTier, type InputNames} from './inputs.js'
import {freshConfigValuesDocument, parseConfigValuesDocument, writeConfigValue} from './values-file.js'

export {CONFIG_VALUES_API} from './values-file.js'
export {FLAG_NAMES, type InputNames} from './inputs.js'

const ITEM_NAME = /^[A-Za-z0-9_.-]+$/
const DNS_NAME = /^(?=.{1,253}$)(\*\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/

/** What `kots config` and the bundle's kots step ask for: the profile, the size, the inputs. */
export interface RenderConfigValuesOptions {
  profile: LoadedProfile
  cores?: number
  size?: number
  edition?: string
  domain?: string
  ingressMode?: string
  /** ITEM -> VALUE overrides, applied last */
  set?: [string, string][]
  /** an existing ConfigValues file: every value is kept, only the toggles (and what is asked) change */
  from?: {text: string; source: string}
  appConfig?: AppConfig
  names?: Partial<InputNames>
}

export interface ServiceDecision {
  id: string
  name: string
  minCores: number
  enabled: boolean
  /** the tier rule, or the --set that overrode it */
  reason: string
  item?: string
  value?: string
}

export interface ValueRecord {
  item: string
  /** redacted for secrets */
  value: string
  secret: boolean
  source: 'domain' | 'ingress-mode' | 'edition' | 'toggle' | 'set' | 'from'
  /** why this value, when it is a default of the profile: the fact and where it comes from */
  why?: string
  /** the item name AND the value are seen in real installs (the profile's verified / verifiedValues) */
  verified: boolean
}

export interface RenderedConfigValues {
  yaml: string
  profile: string
  cores?: number
  tier: number
  edition: string
  services: ServiceDecision[]
  values: ValueRecord[]
  /** the application Config the values were checked against */
  checkedAgainst?: string
  /** items written without an application Config to check them against */
  unchecked: string[]
  /** item names that are airlock's choice, not seen in real installs */
  unverified: string[]
  /** `item=value` written with a value not seen in real installs (the item name may be verified) */
  unverifiedValues: string[]
  warnings: string[]
  hasSecrets: boolean
}

interface Written {
  value: string
  source: ValueRecord['source']
  why?: string
}

/** The minimum-services rule, data-driven: the tier, each service on/off and why, the ConfigValues YAML. */
export function renderConfigValues(input: RenderConfigValuesOptions): RenderedConfigValues {
  const names = {...FLAG_NAMES, ...input.names}
  const {profile, source} = input.profile
  const kots = kotsSection(input.profile)
  const {tier, cores} = resolveTier(profile, input, names)
  const parsed = input.from ? parseConfigValuesDocument(input.from.text, input.from.source) : undefined
  const doc = parsed?.doc ?? freshConfigValuesDocument(kots.app)
  const existing = parsed?.values.items ?? new Map()
  const edition = resolveEdition(profile, kots, input.edition, existing, names)
  /** item -> [name verified, values verified (undefined: any value)] */
  const verified = new Map<string, {name: boolean; values?: string[]}>()
  const written = new Map<string, Written>()
  const boolItems = new Set<string>()
  const warnings: string[] = []

  const domainInput = kots.inputs.domain
  if (domainInput) {
    verified.set(domainInput.item, {name: domainInput.verified})
    const domain = input.domain ?? existing.get(domainInput.item)?.value
    if (input.domain !== undefined && !DNS_NAME.test(input.domain)) {
      throw new AirlockError('USAGE', `${names.domain}: ${input.domain} is not a DNS name`, {subject: names.domain, hint: 'a lower-case host name such as platform.example.com'})
    }
    if (domain === undefined || domain === '') {
      if (profile.editions[edition]?.dnsRequired) {
        throw new AirlockError('USAGE', `the ${edition} edition requires DNS: ${names.domain} is missing`, {subject: names.domain, hint: `pass ${names.domain} HOST (the name clients reach the platform by)`})
      }
    } else if (input.domain !== undefined) {
      written.set(domainInput.item, {value: input.domain, source: 'domain'})
    }
  } else if (input.domain !== undefined) {
    throw new AirlockError('USAGE', `${names.domain}: profile ${source} maps no KOTS item for the domain`, {subject: names.domain, hint: 'use --set ITEM=VALUE, or add kots.inputs.domain to the profile'})
  }

  const ingress = kots.inputs.ingressMode
  if (ingress) {
    verified.set(ingress.item, {name: ingress.verified, values: ingress.verifiedValues})
    if (input.ingressMode !== undefined && !ingress.options.includes(input.ingressMode)) {
      throw new AirlockError('USAGE', `${names.ingressMode}: ${input.ingressMode} is not one of ${ingress.options.join(', ')}`, {subject: names.ingressMode, hint: `choose one of ${ingress.options.join(', ')}`})
    }
    const fallback = existing.has(ingress.item) ? undefined : ingressDefault(kots, edition)
    if (input.ingressMode !== undefined) written.set(ingress.item, {value: input.ingressMode, source: 'ingress-mode'})
    else if (fallback) written.set(ingress.item, {value: fallback.value, source: 'ingress-mode', why: `the ${edition} edition's default: ${fallback.source}`})
  } else if (input.ingressMode !== undefined) {
    throw new AirlockError('USAGE', `${names.ingressMode}: profile ${source} maps no KOTS item for the ingress mode`, {subject: names.ingressMode, hint: 'use --set ITEM=VALUE, or add kots.inputs.ingressMode to the profile'})
  }

  if (kots.inputs.edition) {
    verified.set(kots.inputs.edition.item, {name: kots.inputs.edition.verified})
    written.set(kots.inputs.edition.item, {value: edition, source: 'edition'})
  }

  const toggleByService = new Map(kots.services.map((t) => [t.service, t]))
  const services: ServiceDecision[] = profile.services.items.map((service) => {
    const enabled = service.minCores <= tier
    const toggle = toggleByService.get(service.id)
    const reason = enabled ? `needs ${service.minCores} cores; the ${tier}-core tier carries it` : `needs the ${service.minCores}-core tier; this is the ${tier}-core tier`
    if (!toggle) {
      if (!enabled) warnings.push(`${service.name} should be off at the ${tier}-core tier, but the profile maps no KOTS item to turn it off`)
      return {id: service.id, name: service.name, minCores: service.minCores, enabled, reason}
    }
    // bool values are KOTS' own encoding ("1"/"0"): only a select's option values can be unverified
    verified.set(toggle.item, {name: toggle.verified, ...(toggle.type === 'select' ? {values: toggle.verifiedValues} : {})})
    const value = toggle.type === 'bool' ? (enabled ? '1' : '0') : String(enabled ? toggle.on : toggle.off)
    if (toggle.type === 'bool') boolItems.add(toggle.item)
    written.set(toggle.item, {value, source: 'toggle'})
    return {id: service.id, name: service.name, minCores: service.minCores, enabled, reason, item: toggle.item, value}
  })

  for (const [item, raw] of input.set ?? []) {
    if (!ITEM_NAME.test(item)) {
      throw new AirlockError('USAGE', `${names.set}: ${JSON.stringify(item)} is not a KOTS item name`, {subject: `${names.set} ${item}`, hint: 'item names are letters, digits, "_", "-" and "."'})
    }
    const isBool = boolItems.has(item) || input.appConfig?.items.get(item)?.type === 'bool'
    const value = isBool ? normaliseBool(raw, item, names.set) : raw
    written.set(item, {value, source: 'set'})
    const decision = services.find((s) => s.item === item)
    if (decision && decision.value !== value) {
      const toggle = toggleByService.get(decision.id)
      const enabled = toggle?.type === 'bool' ? value === '1' : value === toggle?.on
      if (enabled && decision.minCores > tier) warnings.push(`${decision.name} is turned on by ${names.set} although the ${tier}-core tier cannot carry it (needs ${decision.minCores})`)
      Object.assign(decision, {enabled, value, reason: `set by ${names.set} ${item}=${value}`})
    }
  }

  const secretItems = new Set(kots.passwords)
  for (const [item, found] of existing) if (found.secret) secretItems.add(item)
  for (const item of input.appConfig?.items.values() ?? []) if (item.type === 'password') secretItems.add(item.name)

  for (const [item, {value}] of written) writeConfigValue(doc, item, value, secretItems.has(item))

  const all = new Map<string, CandidateValue & {why?: string}>()
  for (const [item, found] of existing) all.set(item, {value: found.value, ...(found.repeatableItem ? {repeatableItem: found.repeatableItem} : {}), source: 'from'})
  for (const [item, w] of written) all.set(item, w)

  if (input.appConfig) warnings.push(...validateAgainstApp(input.appConfig, all, boolItems, kots))

  const isVerified = (item: string, value: string) => {
    const v = verified.get(item)
    return {name: v?.name ?? false, value: v?.values === undefined || v.values.includes(value)}
  }
  const values: ValueRecord[] = [...all].map(([item, w]) => {
    const v = isVerified(item, w.value)
    return {
      item,
      value: secretItems.has(item) ? '(secret)' : w.value,
      secret: secretItems.has(item),
      source: w.source,
      ...(w.why ? {why: w.why} : {}),
      verified: v.name && v.value,
    }
  })
  const changed = [...written.keys()]
  return {
    yaml: doc.toString({lineWidth: 0}),
    profile: input.profile.profile.metadata.name,
    ...(cores === undefined ? {} : {cores}),
    tier,
    edition,
    services,
    values,
    ...(input.appConfig ? {checkedAgainst: input.appConfig.source} : {}),
    unchecked: input.appConfig ? [] : changed,
    unverified: changed.filter((item) => verified.get(item)?.name === false),
    unverifiedValues: [...written].filter(([item, w]) => verified.get(item)?.name === true && !isVerified(item, w.value).value).map(([item, w]) => `${item}=${w.value}`),
    warnings,
    hasSecrets: values.some((v) => v.secret),
  }
}
