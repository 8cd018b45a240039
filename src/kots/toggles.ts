import type {RequirementProfile} from '../profile/index.js'

export interface ServiceToggle {
  service: string
  item: string
  type: 'bool' | 'select'
  /** whether a ConfigValues value of this item switches the service on */
  isOn(value: string | undefined): boolean
  /** whether the value says on or off at all: unset, or a select value that is neither, does not */
  isKnown(value: string | undefined): boolean
}

const FALSE = new Set(['0', 'false', 'no', 'off'])

const TRUE = new Set(['1', 'true', 'yes', 'on'])

/**
 * service id -> its KOTS item and how to read it, from the profile's kots.services. For readers of
 * existing ConfigValues (the cluster checks): a select item is on only at its `on` option.
 */
export function serviceToggles(profile: RequirementProfile): Map<string, ServiceToggle> {
  return new Map(
    (profile.kots?.services ?? []).map((t) => [
      t.service,
      {
        service: t.service,
        item: t.item,
        type: t.type,
        isOn: (value: string | undefined) => (t.type === 'bool' ? TRUE.has((value ?? '').trim().toLowerCase()) : value === t.on),
        isKnown: (value: string | undefined) =>
          value !== undefined && (t.type === 'bool' ? TRUE.has(value.trim().toLowerCase()) || FALSE.has(value.trim().toLowerCase()) : value === t.on || value === t.off),
      },
    ]),
  )
}
