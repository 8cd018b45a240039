import type {ChartNode} from './archive.js'

export type Values = Record<string, unknown>

function isMap(v: unknown): v is Values {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/**
 * Helm's coalescing of two value trees: maps merge key by key, anything else in `over` replaces
 * what is in `base`, and a null in `over` deletes the key (as `--set key=null` does). Merging the
 * user's own files one over the other (`keepNull`), a null stays, so that it still deletes the
 * chart's default when the result is coalesced with the chart's values, as `helm -f a -f b` does.
 */
export function mergeValues(base: Values, over: Values, keepNull = false): Values {
  const out: Values = {...base}
  for (const [k, v] of Object.entries(over)) {
    if (k === '__proto__') continue
    if (v === null && !keepNull) delete out[k]
    else if (isMap(v) && isMap(out[k])) out[k] = mergeValues(out[k] as Values, v, keepNull)
    else out[k] = v
  }
  return out
}

function withoutNulls(values: Values): Values {
  const out: Values = {}
  for (const [k, v] of Object.entries(values)) {
    if (v === null) continue
    out[k] = isMap(v) ? withoutNulls(v) : v
  }
  return out
}

/** `a.b.c` in a value tree, or undefined. */
export function getValue(values: Values, path: string): unknown {
  let node: unknown = values
  for (const part of path.split('.')) {
    if (!isMap(node) || !Object.hasOwn(node, part)) return undefined
    node = node[part]
  }
  return node
}

/** A value tree holding `value` at the dotted `path`. */
export function valueAt(path: string, value: unknown): Values {
  return path.split('.').reduceRight<unknown>((inner, key) => ({[key]: inner}), value) as Values
}

/** A chart as Helm renders it: its own values coalesced with what its parents and the user give. */
export interface EffectiveChart {
  node: ChartNode
  /** the key its parent passes values under: the dependency's alias, else its name */
  key: string
  values: Values
}

/**
 * Is a dependency enabled? Helm's rule: the first path of `condition` that holds a boolean decides;
 * failing that, `tags` decide (enabled when any listed tag is true, disabled when all are false);
 * failing that, it is enabled.
 */
function enabled(dep: {condition?: string; tags?: string[]} | undefined, parentValues: Values): boolean {
  if (!dep) return true
  for (const path of (dep.condition ?? '').split(',').map((p) => p.trim()).filter(Boolean)) {
    const v = getValue(parentValues, path)
    if (typeof v === 'boolean') return v
  }
  const tags = isMap(parentValues.tags) ? parentValues.tags : {}
  const set = (dep.tags ?? []).map((t) => tags[t]).filter((v): v is boolean => typeof v === 'boolean')
  if (set.length > 0) return set.some(Boolean)
  return true
}

/**
 * Every chart that would render, with its effective values: the user's values over the top chart's
 * values.yaml; each subchart's values.yaml under what its parent sets at its key, `global` passed
 * down. A subchart listed twice under two aliases renders twice; one disabled by its condition or
 * tags is left out with everything below it.
 */
export function effectiveCharts(root: ChartNode, userValues: Values): EffectiveChart[] {
  const out: EffectiveChart[] = []
  // `raw` keeps the nulls the user set, so that one set for a subchart (redis: {image: null}) still
  // deletes that subchart's default; what renders (`values`) has them removed
  const visit = (node: ChartNode, key: string, raw: Values) => {
    const values = withoutNulls(raw)
    out.push({node, key, values})
    const deps = node.metadata.dependencies ?? []
    for (const child of node.children) {
      const matching = deps.filter((d) => d?.name === child.metadata.name)
      for (const dep of matching.length > 0 ? matching : [undefined]) {
        if (!enabled(dep, values)) continue
        const childKey = dep?.alias ?? child.metadata.name
        const fromParent = isMap(raw[childKey]) ? (raw[childKey] as Values) : {}
        let childValues = mergeValues(child.values, fromParent, true)
        const globals = isMap(raw.global) ? raw.global : {}
        childValues = {...childValues, global: mergeValues(isMap(childValues.global) ? childValues.global : {}, globals, true)}
        visit(child, childKey, childValues)
      }
    }
  }
  visit(root, root.metadata.name, mergeValues(root.values, userValues, true))
  return out
}
