import type {DaemonSetFacts, LoadBalancerServiceFacts, NamespaceFacts, NodeFacts, StorageClassFacts, Taint} from './facts.js'

/**
 * API objects (from the live client or a `kubectl get -o json` dump) reduced to the facts the checks
 * need. Both sources give the same JSON field names, so one set of functions serves both. Each
 * function throws a plain Error naming the field it could not read; the caller adds the file or API
 * path and turns it into the right AirlockError.
 */
type Obj = Record<string, unknown>

function obj(value: unknown): Obj | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Obj) : undefined
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined
}

function stringMap(value: unknown, field: string): Record<string, string> {
  if (value === undefined || value === null) return {}
  const o = obj(value)
  if (!o) throw new Error(`${field} is not a map`)
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'string') out[k] = v
    else if (typeof v === 'number') out[k] = String(v)
    else throw new Error(`${field}.${k} is not a string`)
  }
  return out
}

function requireName(o: Obj, kind: string): string {
  const name = str(obj(o.metadata)?.name)
  if (!name) throw new Error(`a ${kind} without metadata.name`)
  return name
}

export function toNodeFacts(value: unknown): NodeFacts {
  const o = obj(value)
  if (!o) throw new Error('a Node that is not an object')
  const name = requireName(o, 'Node')
  const metadata = obj(o.metadata) ?? {}
  const spec = obj(o.spec) ?? {}
  const status = obj(o.status)
  if (!status) throw new Error(`Node ${name} has no status`)
  const taints: Taint[] = []
  for (const [i, t] of (Array.isArray(spec.taints) ? spec.taints : []).entries()) {
    const taint = obj(t)
    const key = str(taint?.key)
    const effect = str(taint?.effect)
    if (!taint || !key || !effect) throw new Error(`Node ${name} spec.taints[${i}] lacks key or effect`)
    taints.push({key, effect, ...(str(taint.value) === undefined ? {} : {value: str(taint.value)})})
  }
  const conditions = (Array.isArray(status.conditions) ? status.conditions : []).map((c, i) => {
    const cond = obj(c)
    const type = str(cond?.type)
    const st = str(cond?.status)
    if (!cond || !type || !st) throw new Error(`Node ${name} status.conditions[${i}] lacks type or status`)
    return {type, status: st, ...(str(cond.reason) ? {reason: str(cond.reason)} : {})}
  })
  const info = obj(status.nodeInfo) ?? {}
  const pick = (k: string) => str(info[k])
  return {
    name,
    labels: stringMap(metadata.labels, `Node ${name} metadata.labels`),
    taints,
    unschedulable: spec.unschedulable === true,
    conditions,
    capacity: stringMap(status.capacity, `Node ${name} status.capacity`),
    allocatable: stringMap(status.allocatable, `Node ${name} status.allocatable`),
    ...(str(spec.providerID) ? {providerID: str(spec.providerID)} : {}),
    nodeInfo: dropUndefined({
      kubeletVersion: pick('kubeletVersion'),
      containerRuntimeVersion: pick('containerRuntimeVersion'),
      osImage: pick('osImage'),
      kernelVersion: pick('kernelVersion'),
      architecture: pick('architecture'),
      operatingSystem: pick('operatingSystem'),
    }),
  }
}

export function toNamespaceFacts(value: unknown): NamespaceFacts {
  const o = obj(value)
  if (!o) throw new Error('a Namespace that is not an object')
  const name = requireName(o, 'Namespace')
  const phase = str(obj(o.status)?.phase)
  return {name, labels: stringMap(obj(o.metadata)?.labels, `Namespace ${name} metadata.labels`), ...(phase ? {phase} : {})}
}

const DEFAULT_CLASS_ANNOTATIONS = ['storageclass.kubernetes.io/is-default-class', 'storageclass.beta.kubernetes.io/is-default-class']

export function toStorageClassFacts(value: unknown): StorageClassFacts {
  const o = obj(value)
  if (!o) throw new Error('a StorageClass that is not an object')
  const name = requireName(o, 'StorageClass')
  const provisioner = str(o.provisioner)
  if (!provisioner) throw new Error(`StorageClass ${name} has no provisioner`)
  const annotations = obj(obj(o.metadata)?.annotations) ?? {}
  return {
    name,
    provisioner,
    isDefault: DEFAULT_CLASS_ANNOTATIONS.some((a) => annotations[a] === 'true'),
    ...(str(o.volumeBindingMode) ? {volumeBindingMode: str(o.volumeBindingMode)} : {}),
    ...(typeof o.allowVolumeExpansion === 'boolean' ? {allowVolumeExpansion: o.allowVolumeExpansion} : {}),
  }
}

/** Pods count toward tenancy and namespace emptiness only while they run or wait to run. */
export function isActivePod(value: unknown): {namespace: string} | undefined {
  const o = obj(value)
  const namespace = str(obj(o?.metadata)?.namespace)
  const phase = str(obj(o?.status)?.phase)
  if (!namespace || phase === 'Succeeded' || phase === 'Failed') return undefined
  return {namespace}
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : 0
}

export function toDaemonSetFacts(value: unknown): DaemonSetFacts {
  const o = obj(value)
  if (!o) throw new Error('a DaemonSet that is not an object')
  const name = requireName(o, 'DaemonSet')
  const status = obj(o.status) ?? {}
  return {namespace: str(obj(o.metadata)?.namespace) ?? '', name, desired: count(status.desiredNumberScheduled), ready: count(status.numberReady)}
}

/** A Service of type LoadBalancer, or undefined for any other type. */
export function toLoadBalancerService(value: unknown): LoadBalancerServiceFacts | undefined {
  const o = obj(value)
  if (str(obj(o?.spec)?.type) !== 'LoadBalancer') return undefined
  const ingress = obj(obj(o?.status)?.loadBalancer)?.ingress
  return {namespace: str(obj(o?.metadata)?.namespace) ?? '', name: str(obj(o?.metadata)?.name) ?? '', addresses: Array.isArray(ingress) ? ingress.length : 0}
}

/** The completed (or else desired) version of an OpenShift ClusterVersion object named `version`. */
export function toOpenShiftVersion(value: unknown): {version: string; channel?: string} | undefined {
  const o = obj(value)
  const status = obj(o?.status)
  const history = Array.isArray(status?.history) ? status.history.map(obj) : []
  const completed = history.find((h) => h?.state === 'Completed')
  const version = str(completed?.version) ?? str(obj(status?.desired)?.version)
  if (!version) return undefined
  const channel = str(obj(o?.spec)?.channel)
  return {version, ...(channel ? {channel} : {})}
}

function dropUndefined<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T
}
