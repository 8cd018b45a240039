import {Document, isMap} from 'yaml'

import {parseYamlDocument, yamlToJS} from '../util/yaml.js'

import type {LoadedProfile, RequirementProfile} from '../profile/index.js'
import {tierFor} from '../profile/index.js'
import {AirlockError} from '../ui/errors.js'
import {DISPLAY_TYPES, SELECT_TYPES, type AppConfig} from './app-config.js'
import {closestNames} from './suggest.js'

export const CONFIG_VALUES_API = 'kots.io/v1beta1'
const ITEM_NAME = /^[A-Za-z0-9_.-]+$/
const DNS_NAME = /^(?=.{1,253}$)(\*\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/

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

export interface ConfigValuesInput {
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
  /** the profile marks the item name as seen in real installs */
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
  warnings: string[]
  hasSecrets: boolean
}

/** The minimum-services rule, data-driven: the tier, each service on/off and why, the ConfigValues YAML. */
export function renderConfigValues(input: ConfigValuesInput): RenderedConfigValues {
  const names = {...FLAG_NAMES, ...input.names}
  const {profile, source} = input.profile
  const kots = kotsSection(input.profile)
  const {tier, cores} = resolveTier(profile, input, names)
  const doc = input.from ? parseExisting(input.from.text, input.from.source) : freshDocument(kots.app)
  const existing = existingValues(doc)
  const edition = resolveEdition(profile, kots, input.edition, existing, names)
  const verified = new Map<string, boolean>()
  const written = new Map<string, {value: string; source: ValueRecord['source']}>()
  const boolItems = new Set<string>()
  const warnings: string[] = []

  const domainInput = kots.inputs.domain
  if (domainInput) {
    verified.set(domainInput.item, domainInput.verified)
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
    verified.set(ingress.item, ingress.verified)
    if (input.ingressMode !== undefined && !ingress.options.includes(input.ingressMode)) {
      throw new AirlockError('USAGE', `${names.ingressMode}: ${input.ingressMode} is not one of ${ingress.options.join(', ')}`, {subject: names.ingressMode, hint: `choose one of ${ingress.options.join(', ')}`})
    }
    const mode = input.ingressMode ?? (existing.has(ingress.item) ? undefined : ingress.default)
    if (mode !== undefined) written.set(ingress.item, {value: mode, source: 'ingress-mode'})
  } else if (input.ingressMode !== undefined) {
    throw new AirlockError('USAGE', `${names.ingressMode}: profile ${source} maps no KOTS item for the ingress mode`, {subject: names.ingressMode, hint: 'use --set ITEM=VALUE, or add kots.inputs.ingressMode to the profile'})
  }

  if (kots.inputs.edition) {
    verified.set(kots.inputs.edition.item, kots.inputs.edition.verified)
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
    verified.set(toggle.item, toggle.verified)
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

  for (const [item, {value}] of written) writeValue(doc, item, value, secretItems.has(item))

  const all = new Map<string, {value: string; source: ValueRecord['source']}>()
  for (const [item, found] of existing) all.set(item, {value: found.value, source: 'from'})
  for (const [item, w] of written) all.set(item, w)

  if (input.appConfig) validateAgainstApp(input.appConfig, all, boolItems, kots)

  const values: ValueRecord[] = [...all].map(([item, w]) => ({
    item,
    value: secretItems.has(item) ? '(secret)' : w.value,
    secret: secretItems.has(item),
    source: w.source,
    verified: verified.get(item) ?? false,
  }))
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
    unverified: changed.filter((item) => verified.get(item) === false),
    warnings,
    hasSecrets: values.some((v) => v.secret),
  }
}

function kotsSection(loaded: LoadedProfile): KotsProfile {
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

function resolveTier(profile: RequirementProfile, input: ConfigValuesInput, names: InputNames): {tier: number; cores?: number} {
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

function resolveEdition(profile: RequirementProfile, kots: KotsProfile, asked: string | undefined, existing: Map<string, {value: string}>, names: InputNames): string {
  const editions = Object.keys(profile.editions)
  const fromFile = kots.inputs.edition ? existing.get(kots.inputs.edition.item)?.value : undefined
  const edition = asked ?? (fromFile && editions.includes(fromFile) ? fromFile : editions[0])
  if (edition === undefined || !editions.includes(edition)) {
    throw new AirlockError('USAGE', `${names.edition}: ${asked} is not an edition of this profile (${editions.join(', ')})`, {subject: names.edition, hint: `choose one of ${editions.join(', ')}`})
  }
  return edition
}

function normaliseBool(raw: string, item: string, flag: string): string {
  const v = raw.trim().toLowerCase()
  if (['1', 'true', 'yes', 'on'].includes(v)) return '1'
  if (['0', 'false', 'no', 'off'].includes(v)) return '0'
  throw new AirlockError('USAGE', `${flag} ${item}=${raw}: ${item} is a bool item`, {subject: `${flag} ${item}`, hint: 'use 1 or 0 (true/false, yes/no, on/off are accepted)'})
}

function freshDocument(app: string): Document {
  return new Document({apiVersion: CONFIG_VALUES_API, kind: 'ConfigValues', metadata: {name: app}, spec: {values: {}}})
}

/** An existing ConfigValues file, kept as a YAML document so its comments and order survive. */
function parseExisting(text: string, source: string): Document {
  const where = {source, code: 'INPUT_INVALID' as const, hint: 'fix the YAML, or start without --from'}
  const doc = parseYamlDocument(text, where)
  yamlToJS(doc, where) // refuses an alias bomb before the document API below expands it
  const kind = doc.get('kind')
  const api = doc.get('apiVersion')
  if (kind !== 'ConfigValues' || typeof api !== 'string' || !api.startsWith('kots.io/')) {
    throw new AirlockError('INPUT_INVALID', `${source}: kind: expected a kots.io ConfigValues, found ${String(api)} ${String(kind)}`, {subject: `${source}#kind`, hint: 'pass a ConfigValues file written by kots config or kubectl kots get config'})
  }
  const values = doc.getIn(['spec', 'values'])
  if (values === undefined || values === null) doc.setIn(['spec', 'values'], doc.createNode({}))
  else if (!isMap(values)) throw new AirlockError('INPUT_INVALID', `${source}: spec.values must be a map of items`, {subject: `${source}#spec.values`})
  return doc
}

function existingValues(doc: Document): Map<string, {value: string; secret: boolean}> {
  const out = new Map<string, {value: string; secret: boolean}>()
  const values = (doc.getIn(['spec', 'values']) as {toJSON(): unknown} | undefined)?.toJSON() as Record<string, {value?: unknown; valuePlaintext?: unknown} | null> | undefined
  for (const [item, v] of Object.entries(values ?? {})) {
    if (v?.valuePlaintext !== undefined) out.set(item, {value: String(v.valuePlaintext), secret: true})
    else out.set(item, {value: v?.value === undefined || v.value === null ? '' : String(v.value), secret: false})
  }
  return out
}

/** Changes one item; every other key of an existing item (default, filename, ...) is left alone. */
function writeValue(doc: Document, item: string, value: string, secret: boolean): void {
  const path = ['spec', 'values', item]
  if (!isMap(doc.getIn(path))) doc.setIn(path, doc.createNode({}))
  if (secret) {
    doc.deleteIn([...path, 'value'])
    doc.setIn([...path, 'valuePlaintext'], value)
  } else {
    doc.deleteIn([...path, 'valuePlaintext'])
    doc.setIn([...path, 'value'], value)
  }
}

/**
 * Every item must exist in the application's Config, booleans must be bool items, select values among
 * the item's options, and required items without a default must be set. All problems are reported at
 * once; the subject is the first item at fault.
 */
function validateAgainstApp(app: AppConfig, values: Map<string, {value: string; source: ValueRecord['source']}>, boolItems: Set<string>, kots: KotsProfile): void {
  const problems: {item: string; text: string}[] = []
  const names = [...app.items.keys()]
  for (const [item, {value, source}] of values) {
    const def = app.items.get(item)
    const from = source === 'from' ? ' (kept from --from)' : source === 'set' ? ' (from --set)' : ''
    if (!def) {
      const near = closestNames(item, names)
      problems.push({item, text: `${item}${from}: no such item in the application's Config${near.length ? `; closest: ${near.join(', ')}` : ''}`})
      continue
    }
    if (DISPLAY_TYPES.has(def.type)) {
      problems.push({item, text: `${item}: is a ${def.type} item, which holds no value`})
    } else if (boolItems.has(item) && def.type !== 'bool') {
      problems.push({item, text: `${item}: written as a boolean, but the application declares a ${def.type} item`})
    } else if (def.type === 'bool' && !['0', '1'].includes(value)) {
      problems.push({item, text: `${item}${from}: a bool item takes "1" or "0", not ${JSON.stringify(value)}`})
    } else if (SELECT_TYPES.has(def.type) && def.options.length > 0 && !def.options.includes(value)) {
      const near = closestNames(value, def.options)
      problems.push({item, text: `${item}${from}: ${JSON.stringify(value)} is not one of its options (${def.options.join(', ')})${near.length ? `; closest: ${near.join(', ')}` : ''}`})
    }
  }
  for (const toggle of kots.services) {
    const def = app.items.get(toggle.item)
    if (toggle.type !== 'select' || !def || !SELECT_TYPES.has(def.type) || def.options.length === 0) continue
    for (const v of [toggle.on, toggle.off]) {
      if (v !== undefined && !def.options.includes(v) && !problems.some((p) => p.item === toggle.item)) {
        problems.push({item: toggle.item, text: `${toggle.item}: the profile's toggle value ${JSON.stringify(v)} is not one of its options (${def.options.join(', ')})`})
      }
    }
  }
  for (const def of app.items.values()) {
    if (def.required && !def.hasDefault && !def.conditional && !DISPLAY_TYPES.has(def.type) && !values.has(def.name)) {
      problems.push({item: def.name, text: `${def.name}: required by the application (group ${def.group}) and not set`})
    }
  }
  const first = problems[0]
  if (!first) return
  throw new AirlockError('INPUT_INVALID', `the ConfigValues do not match the application's Config ${app.source}:\n  ${problems.map((p) => p.text).join('\n  ')}`, {
    subject: `spec.values.${first.item}`,
    hint: 'fix the item names in the profile (kots.services, kots.inputs) or pass --set ITEM=VALUE for required items',
  })
}
