import {Document, isMap} from 'yaml'

import {parseYamlDocument, yamlToJS} from '../util/yaml.js'

import {AirlockError} from '../ui/errors.js'
import {readSmallFile} from '../util/fs.js'

/**
 * The one reader and writer of KOTS ConfigValues documents (kots.io/v1beta1). `kots config --from`
 * edits one in place (comments and order survive), `cluster verify --config-values` reads what the
 * services switched on are; both see the same values.
 */
export const CONFIG_VALUES_API = 'kots.io/v1beta1'
const MAX_CONFIG_VALUES_BYTES = 4 << 20

/** One item of `spec.values` as written: `value` (or `valuePlaintext` for a secret) and its `default`. */
export interface ConfigValueEntry {
  value: string
  default?: string
  secret: boolean
  /** an instance of a repeatable item: the item it belongs to (its key is the instance's own name) */
  repeatableItem?: string
}

/** A ConfigValues file: where it came from, and its items. */
export interface ConfigValues {
  source: string
  items: Map<string, ConfigValueEntry>
}

/**
 * What KOTS reads for an item (pkg/template ItemValue: HasValue, else the default): an empty value
 * counts as no value, so `value: ""` falls back to the default, and with no default the item is unset.
 */
export function effectiveValue(entry: ConfigValueEntry | undefined): string | undefined {
  if (!entry) return undefined
  if (entry.value !== '') return entry.value
  return entry.default !== undefined && entry.default !== '' ? entry.default : undefined
}

/** item -> the value KOTS reads; unset items are absent. */
export function effectiveValues(values: ConfigValues): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [item, entry] of values.items) {
    const v = effectiveValue(entry)
    if (v !== undefined) out[item] = v
  }
  return out
}

function invalid(source: string, at: string, message: string): AirlockError {
  return new AirlockError('INPUT_INVALID', `${source}: ${at}: ${message}`, {
    subject: `${source}#${at}`,
    hint: 'give a kots.io/v1beta1 ConfigValues file, e.g. one written by `airlock kots config` or `kubectl kots get config`',
  })
}

/** A ConfigValues document kept as YAML, so that an edit leaves every other line as it was. */
export function parseConfigValuesDocument(text: string, source: string): {doc: Document; values: ConfigValues} {
  const where = {source, code: 'INPUT_INVALID' as const, hint: 'fix the YAML: a kots.io/v1beta1 ConfigValues file'}
  const doc = parseYamlDocument(text, where)
  yamlToJS(doc, where) // refuses an alias bomb before the document API below expands it
  const kind = doc.get('kind')
  const api = doc.get('apiVersion')
  if (kind !== 'ConfigValues' || typeof api !== 'string' || !api.startsWith('kots.io/')) {
    throw invalid(source, 'kind', `expected a kots.io ConfigValues, found ${String(api)} ${String(kind)}`)
  }
  const node = doc.getIn(['spec', 'values'])
  if (node === undefined || node === null) doc.setIn(['spec', 'values'], doc.createNode({}))
  else if (!isMap(node)) throw invalid(source, 'spec.values', 'must be a map of items')
  const raw = ((doc.getIn(['spec', 'values']) as {toJSON(): unknown}).toJSON() ?? {}) as Record<string, unknown>
  const items = new Map<string, ConfigValueEntry>()
  for (const [item, v] of Object.entries(raw)) {
    const e = (typeof v === 'object' && v !== null ? v : {}) as {value?: unknown; valuePlaintext?: unknown; default?: unknown; repeatableItem?: unknown}
    const text = (x: unknown) => (x === undefined || x === null ? undefined : String(x))
    const secret = e.valuePlaintext !== undefined
    const value = text(secret ? e.valuePlaintext : e.value) ?? ''
    const def = text(e.default)
    const repeatableItem = text(e.repeatableItem)
    items.set(item, {value, secret, ...(def === undefined ? {} : {default: def}), ...(repeatableItem ? {repeatableItem} : {})})
  }
  return {doc, values: {source, items}}
}

export function parseConfigValues(text: string, source: string): ConfigValues {
  return parseConfigValuesDocument(text, source).values
}

export async function readConfigValuesFile(path: string): Promise<ConfigValues> {
  return parseConfigValues((await readSmallFile(path, {what: 'ConfigValues file', maxBytes: MAX_CONFIG_VALUES_BYTES})).toString('utf8'), path)
}

export function freshConfigValuesDocument(app: string): Document {
  return new Document({apiVersion: CONFIG_VALUES_API, kind: 'ConfigValues', metadata: {name: app}, spec: {values: {}}})
}

/** Changes one item; every other key of an existing item (default, filename, ...) is left alone. */
export function writeConfigValue(doc: Document, item: string, value: string, secret: boolean): void {
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
