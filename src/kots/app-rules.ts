import type {RequirementProfile} from '../profile/index.js'
import {AirlockError} from '../ui/errors.js'
import {EDITABLE_TYPES, SELECT_TYPES, type AppConfig, type AppConfigItem} from './app-config.js'
import {closestNames} from './suggest.js'
import {evaluateWhen, type WhenResult} from './when.js'

type KotsProfile = NonNullable<RequirementProfile['kots']>

/** A value about to be written, or kept from an existing file, with where it came from. */
export interface CandidateValue {
  value: string
  /** an instance of a repeatable item (`repeatableItem` in the ConfigValues): the item it belongs to */
  repeatableItem?: string
  source: 'domain' | 'ingress-mode' | 'edition' | 'toggle' | 'set' | 'from'
}

function why(def: AppConfigItem): string {
  return EDITABLE_TYPES.has(def.type) ? 'it is readonly' : `its type ${def.type} is not editable`
}

const TEMPLATE = /\{\{|repl\{\{/

/**
 * What ConfigOption returns for an item once these values are applied (pkg/template newConfigContext,
 * getConfigOptionValue): a readonly item keeps the Config's value; an editable item set in the
 * ConfigValues takes that value, or the Config's default when it is empty (the Config's own `value`
 * is replaced); an item the ConfigValues do not set keeps the Config's value, else its default.
 * `null` when that text is itself a template, which only KOTS can render.
 */
function optionValue(app: AppConfig, values: Map<string, CandidateValue>, name: string): string | undefined | null {
  const def = app.items.get(name)
  const given = values.get(name)
  if (!def) return given?.repeatableItem ? given.value : undefined
  const text = def.readonly || !given ? (def.value !== '' ? def.value : def.default) : given.value !== '' ? given.value : def.default
  return TEMPLATE.test(text) ? null : text
}

/** Whether KOTS counts the item: its group's and its own `when` rendered, `false` skips (NeedsConfiguration, IsRequiredItem). */
function whenOf(app: AppConfig, values: Map<string, CandidateValue>, def: AppConfigItem): WhenResult {
  if (def.skipped) return 'false'
  const results = def.when.map((w) => evaluateWhen(w, (name) => optionValue(app, values, name)))
  return results.includes('false') ? 'false' : results.includes('undecided') ? 'undecided' : 'true'
}

/** Whether the item has a value once KOTS applies the ConfigValues (IsUnsetItem on the rendered item). */
function isSet(def: AppConfigItem, given: CandidateValue | undefined, values: Map<string, CandidateValue>): boolean {
  if (def.repeatable) return def.repeatableDefaults || [...values.values()].some((v) => v.repeatableItem === def.name)
  if (def.default !== '') return true
  if (def.readonly || !given) return def.value !== ''
  return given.value !== ''
}

function unsetText(def: AppConfigItem, given: CandidateValue | undefined, when: string): string {
  const head = `${def.name}: required by the application (group ${def.group}${when})`
  if (def.repeatable) return `${head}, a repeatable item with no entries: add one (an entry with repeatableItem: ${def.name})`
  if (def.readonly) return `${head} but ${why(def)} with no value or default of its own: KOTS will wait for a value the ConfigValues cannot give (a defect of the application's Config)`
  if (!given) return `${head} and not set`
  if (def.value !== '') return `${head} and set to "", which replaces the Config's own value: KOTS reads it as unset (remove the entry to keep the Config's value)`
  return `${head} and set to "", which KOTS reads as unset`
}

/**
 * The ConfigValues checked as KOTS reads them against the application's Config (replicatedhq/kots
 * pkg/kotsadmconfig IsRequiredItem / IsUnsetItem and NeedsConfiguration, pkg/template isReadOnly):
 * - every item must exist (an instance of a repeatable item names its item in `repeatableItem`);
 *   bool items take "1"/"0"; choice values must be among the options;
 * - a readonly item, or one of a type KOTS does not let ConfigValues set, keeps the Config's value:
 *   setting it, or mapping a service toggle to it, is an error (kept from --from: a warning);
 * - a required item must end up with a value: the ConfigValues value, else the Config's default, else
 *   (only when the ConfigValues do not set it) the Config's own value. An empty string is unset.
 *   Hidden items are not required, nor items whose `when` (or whose group's `when`) renders false;
 *   a `when` in the usual ConfigOption forms is evaluated against these values, any other template
 *   cannot be, so that item is reported as a warning instead.
 * All problems are reported at once; the subject is the first item at fault. Returns the warnings.
 */
export function validateAgainstApp(app: AppConfig, values: Map<string, CandidateValue>, boolItems: Set<string>, kots: KotsProfile): string[] {
  const problems: {item: string; text: string}[] = []
  const warnings: string[] = []
  const names = [...app.items.keys()]
  const toggleFor = new Map(kots.services.map((t) => [t.item, t.service]))
  for (const [item, {value, source, repeatableItem}] of values) {
    const from = source === 'from' ? ' (kept from --from)' : source === 'set' ? ' (from --set)' : ''
    const def = app.items.get(item)
    if (!def && repeatableItem) {
      const owner = app.items.get(repeatableItem)
      if (!owner?.repeatable) {
        problems.push({item, text: `${item}${from}: an entry of repeatableItem ${repeatableItem}, which is ${owner ? 'not repeatable' : 'no item'} in the application's Config`})
      }
      continue
    }
    if (!def) {
      const near = closestNames(item, names)
      problems.push({item, text: `${item}${from}: no such item in the application's Config${near.length ? `; closest: ${near.join(', ')}` : ''}`})
      continue
    }
    if (def.readonly) {
      const service = toggleFor.get(item)
      const text = `${item}: ${why(def)} in the application's Config, so KOTS uses the Config's own value and ignores the ConfigValues one`
      if (service && source === 'toggle') problems.push({item, text: `${text}; the profile maps the ${service} service toggle to it (kots.services), which cannot switch anything`})
      else if (source === 'from') warnings.push(`${text} (kept from --from)`)
      else problems.push({item, text: `${text}${from}`})
      continue
    }
    if (boolItems.has(item) && def.type !== 'bool') {
      problems.push({item, text: `${item}: written as a boolean, but the application declares a ${def.type} item`})
    } else if (def.type === 'bool' && value !== '' && !['0', '1'].includes(value)) {
      problems.push({item, text: `${item}${from}: a bool item takes "1" or "0", not ${JSON.stringify(value)}`})
    } else if (SELECT_TYPES.has(def.type) && def.options.length > 0 && value !== '' && !def.options.includes(value)) {
      const near = closestNames(value, def.options)
      problems.push({item, text: `${item}${from}: ${JSON.stringify(value)} is not one of its options (${def.options.join(', ')})${near.length ? `; closest: ${near.join(', ')}` : ''}`})
    }
  }
  for (const toggle of kots.services) {
    const def = app.items.get(toggle.item)
    if (toggle.type !== 'select' || !def || def.readonly || !SELECT_TYPES.has(def.type) || def.options.length === 0) continue
    for (const v of [toggle.on, toggle.off]) {
      if (v !== undefined && !def.options.includes(v) && !problems.some((p) => p.item === toggle.item)) {
        problems.push({item: toggle.item, text: `${toggle.item}: the profile's toggle value ${JSON.stringify(v)} is not one of its options (${def.options.join(', ')})`})
      }
    }
  }
  for (const def of app.items.values()) {
    if (!def.required || def.hidden) continue
    const given = values.get(def.name)
    if (isSet(def, given, values)) continue
    const when = whenOf(app, values, def)
    if (when === 'false') continue
    const conditions = def.when.map((w) => String(w)).join(' and ')
    if (when === 'undecided') {
      warnings.push(`${def.name}: required when ${conditions} holds, which cannot be evaluated here; if it holds, KOTS will ask for ${def.name} before it deploys`)
      continue
    }
    problems.push({item: def.name, text: unsetText(def, given, def.when.length ? `, since ${conditions} holds` : '')})
  }
  const first = problems[0]
  if (!first) return warnings
  throw new AirlockError('INPUT_INVALID', `the ConfigValues do not match the application's Config ${app.source}:\n  ${problems.map((p) => p.text).join('\n  ')}`, {
    subject: `spec.values.${first.item}`,
    hint: 'fix the item names in the profile (kots.services, kots.inputs), pass --set ITEM=VALUE for required items, and leave readonly items to the Config',
  })
}
