import type {RequirementProfile} from '../profile/index.js'
import {AirlockError} from '../ui/errors.js'
import {EDITABLE_TYPES, SELECT_TYPES, type AppConfig, type AppConfigItem} from './app-config.js'
import {closestNames} from './suggest.js'

type KotsProfile = NonNullable<RequirementProfile['kots']>

/** A value about to be written, or kept from an existing file, with where it came from. */
export interface CandidateValue {
  value: string
  /** the existing file's `default` for the item, which KOTS reads when the value is empty */
  default?: string
  source: 'domain' | 'ingress-mode' | 'edition' | 'toggle' | 'set' | 'from'
}

function why(def: AppConfigItem): string {
  return EDITABLE_TYPES.has(def.type) ? 'it is readonly' : `its type ${def.type} is not editable`
}

/**
 * The ConfigValues checked as KOTS reads them against the application's Config (replicatedhq/kots
 * pkg/kotsadmconfig IsRequiredItem / IsUnsetItem and NeedsConfiguration, pkg/template isReadOnly):
 * - every item must exist; bool items take "1"/"0"; select values must be among the options;
 * - a readonly item, or one of a type KOTS does not let ConfigValues set, keeps the Config's value:
 *   setting it, or mapping a service toggle to it, is an error (kept from --from: a warning);
 * - a required item must end up with a value: an empty string is unset, as KOTS reads it, unless the
 *   item has a default; hidden items, items whose `when` (or whose group's `when`) is false are not
 *   required, and a templated `when` (item or group) cannot be evaluated here, so it is not enforced.
 * All problems are reported at once; the subject is the first item at fault. Returns the warnings.
 */
export function validateAgainstApp(app: AppConfig, values: Map<string, CandidateValue>, boolItems: Set<string>, kots: KotsProfile): string[] {
  const problems: {item: string; text: string}[] = []
  const warnings: string[] = []
  const names = [...app.items.keys()]
  const toggleFor = new Map(kots.services.map((t) => [t.item, t.service]))
  for (const [item, {value, source}] of values) {
    const def = app.items.get(item)
    const from = source === 'from' ? ' (kept from --from)' : source === 'set' ? ' (from --set)' : ''
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
    if (!isRequired(def)) continue
    const given = values.get(def.name)
    if (given && (given.value !== '' || (given.default ?? '') !== '')) continue
    problems.push({
      item: def.name,
      text: given
        ? `${def.name}: required by the application (group ${def.group}) and set to "", which KOTS reads as unset`
        : `${def.name}: required by the application (group ${def.group}) and not set`,
    })
  }
  const first = problems[0]
  if (!first) return warnings
  throw new AirlockError('INPUT_INVALID', `the ConfigValues do not match the application's Config ${app.source}:\n  ${problems.map((p) => p.text).join('\n  ')}`, {
    subject: `spec.values.${first.item}`,
    hint: 'fix the item names in the profile (kots.services, kots.inputs), pass --set ITEM=VALUE for required items, and leave readonly items to the Config',
  })
}

/** Required as KOTS decides it, for items we can decide: a default of its own satisfies it. */
function isRequired(def: AppConfigItem): boolean {
  return def.required && !def.hidden && !def.skipped && !def.conditional && !def.readonly && !def.hasDefault
}
