import type {RequirementProfile} from '../profile/index.js'
import {tierFor} from '../profile/index.js'
import {addNodesHint, isSystemNamespace, type Distribution} from './distribution.js'
import type {ClusterFacts, NodeFacts} from './facts.js'
import {formatCores, formatMemory, parseQuantity, round} from './quantity.js'
import {compareVersions, parseRuntime, parseVersion, type Version} from './version.js'

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip'

export interface CheckResult {
  id: string
  title: string
  /** what an unmet requirement costs: `fail` blocks the install, `warn` is advice */
  severity: 'fail' | 'warn'
  status: CheckStatus
  observed: string
  expected: string
  /** what to do; present whenever the status is not pass */
  hint?: string
  /** one line per node, namespace or permission at fault */
  details?: string[]
}

/** ConfigValues reduced to what the services check reads: item name -> value, and where it came from. */
export interface ConfigValuesInput {
  source: string
  values: Record<string, string>
}

export interface CheckOptions {
  edition: string
  distribution: Distribution
  configValues?: ConfigValuesInput
}

/** A node the platform can schedule on, or the reason it cannot. */
export interface NodeRole {
  name: string
  worker: boolean
  reason?: string
}

const CONTROL_PLANE_TAINTS = ['node-role.kubernetes.io/control-plane', 'node-role.kubernetes.io/master']

/**
 * Control-plane nodes count only when untainted (k3s and single-node clusters schedule on them);
 * cordoned and NotReady nodes never count. The reason is kept for the report.
 */
export function classifyNode(node: NodeFacts): NodeRole {
  const ready = node.conditions.find((c) => c.type === 'Ready')
  if (ready?.status !== 'True') return {name: node.name, worker: false, reason: `NotReady${ready?.reason ? ` (${ready.reason})` : ''}`}
  if (node.unschedulable) return {name: node.name, worker: false, reason: 'cordoned (spec.unschedulable)'}
  const cp = node.taints.find((t) => CONTROL_PLANE_TAINTS.includes(t.key) && (t.effect === 'NoSchedule' || t.effect === 'NoExecute'))
  if (cp) return {name: node.name, worker: false, reason: `control plane (taint ${cp.key}:${cp.effect})`}
  return {name: node.name, worker: true}
}

/** A quantity from a node, or undefined when absent or unreadable (the snapshot reader rejects unreadable ones). */
function nodeQuantity(node: NodeFacts, resource: string, prefer: 'capacity' | 'allocatable'): number | undefined {
  const other = prefer === 'capacity' ? 'allocatable' : 'capacity'
  const text = node[prefer][resource] ?? node[other][resource]
  if (text === undefined) return undefined
  try {
    return parseQuantity(text)
  } catch {
    return undefined
  }
}

/**
 * Whole cores a node brings: allocatable CPU rounded up, capped at capacity. The kubelet holds back
 * a fraction of a core for the system (a 4-vCPU node allocates 3920m on EKS and GKE, 3860m on AKS);
 * the services table counts machines' cores, so that fraction must not push a 16-core cluster into
 * the 8-core tier.
 */
export function nodeCores(node: NodeFacts): number {
  const allocatable = nodeQuantity(node, 'cpu', 'allocatable') ?? 0
  const capacity = nodeQuantity(node, 'cpu', 'capacity') ?? Number.POSITIVE_INFINITY
  return Math.min(Math.ceil(round(allocatable, 3)), Math.floor(capacity))
}

export function clusterCores(workers: NodeFacts[]): {whole: number; allocatable: number} {
  const milli = workers.reduce((sum, n) => sum + Math.round((nodeQuantity(n, 'cpu', 'allocatable') ?? 0) * 1000), 0)
  return {whole: workers.reduce((sum, n) => sum + nodeCores(n), 0), allocatable: milli / 1000}
}

function status(ok: boolean, severity: 'fail' | 'warn'): CheckStatus {
  return ok ? 'pass' : severity
}

function versionAtLeast(observed: Version, min: string): boolean {
  return compareVersions(observed, parseVersion(min) as Version) >= 0
}

/** Runs every check of the profile over the facts. Pure: the same facts give the same report. */
export function runChecks(facts: ClusterFacts, profile: RequirementProfile, options: CheckOptions): CheckResult[] {
  const roles = facts.nodes.map(classifyNode)
  const workers = facts.nodes.filter((_, i) => roles[i]?.worker)
  const ctx: Context = {facts, profile, options, roles, workers, addNodes: addNodesHint(options.distribution.id)}
  return [
    checkNodeCount(ctx),
    checkCpu(ctx),
    checkPerNode(ctx, 'memory', 'memory.per-node', 'Memory per node', profile.cluster.memoryPerNode.min),
    checkPerNode(ctx, 'ephemeral-storage', 'storage.ephemeral-per-node', 'Ephemeral storage per node', profile.cluster.ephemeralStoragePerNode.min),
    checkStorageTotal(ctx),
    checkKubernetesVersion(ctx),
    checkOpenShiftVersion(ctx),
    checkRuntime(ctx),
    checkKubectl(ctx),
    checkNamespace(ctx),
    checkStorageClass(ctx),
    ...profile.nodePools.map((pool) => checkNodePool(ctx, pool)),
    checkPodCapacity(ctx),
    checkAccess(ctx),
    checkTenancy(ctx),
    ...(options.configValues ? [checkServices(ctx, options.configValues)] : []),
  ]
}

interface Context {
  facts: ClusterFacts
  profile: RequirementProfile
  options: CheckOptions
  roles: NodeRole[]
  workers: NodeFacts[]
  addNodes: string
}

function checkNodeCount({profile, roles, workers, addNodes}: Context): CheckResult {
  const min = profile.cluster.nodes.min
  const excluded = roles.filter((r) => !r.worker)
  return {
    id: 'nodes.schedulable',
    title: 'Schedulable Ready worker nodes',
    severity: 'fail',
    status: status(workers.length >= min, 'fail'),
    observed: `${workers.length} of ${roles.length} nodes${excluded.length ? ` (${excluded.length} excluded)` : ''}`,
    expected: `>= ${min}`,
    ...(workers.length >= min ? {} : {hint: addNodes}),
    ...(excluded.length ? {details: excluded.map((r) => `${r.name}: ${r.reason}`)} : {}),
  }
}

function checkCpu({profile, workers, addNodes}: Context): CheckResult {
  const {min, recommended} = profile.cluster.cpuCores
  const cores = clusterCores(workers)
  const st: CheckStatus = cores.whole < min ? 'fail' : cores.whole < recommended ? 'warn' : 'pass'
  return {
    id: 'cpu.total',
    title: 'CPU cores, schedulable workers',
    severity: 'fail',
    status: st,
    observed: `${cores.whole} cores (${formatCores(cores.allocatable)} allocatable on ${workers.length} nodes)`,
    expected: `>= ${min} (${recommended} recommended to run every service)`,
    ...(st === 'fail' ? {hint: addNodes} : st === 'warn' ? {hint: `below ${recommended} cores some services must be switched off (see the services table); ${addNodes}`} : {}),
  }
}

/** Per-node size on capacity, not allocatable: see docs/cluster.md, "How sizes are compared". */
function checkPerNode({workers, addNodes}: Context, resource: string, id: string, title: string, minText: string): CheckResult {
  const min = parseQuantity(minText)
  const sizes = workers.map((n) => ({node: n, bytes: nodeQuantity(n, resource, 'capacity'), allocatable: nodeQuantity(n, resource, 'allocatable')}))
  const small = sizes.filter((s) => s.bytes === undefined || s.bytes < min)
  const smallest = [...sizes].sort((a, b) => (a.bytes ?? 0) - (b.bytes ?? 0))[0]
  const ok = workers.length > 0 && small.length === 0
  return {
    id,
    title,
    severity: 'fail',
    status: status(ok, 'fail'),
    observed: smallest ? `smallest ${smallest.node.name}: ${smallest.bytes === undefined ? 'not reported' : formatMemory(smallest.bytes)} capacity` : 'no schedulable worker nodes',
    expected: `>= ${formatMemory(min)} capacity on every worker`,
    ...(ok ? {} : {hint: `give every worker at least ${minText} of ${resource}; ${addNodes}`}),
    ...(small.length
      ? {details: small.map((s) => `${s.node.name}: capacity ${s.bytes === undefined ? 'not reported' : formatMemory(s.bytes)}, allocatable ${s.allocatable === undefined ? 'not reported' : formatMemory(s.allocatable)}`)}
      : {}),
  }
}

function checkStorageTotal({profile, workers}: Context): CheckResult {
  const minText = profile.cluster.storageTotal.min
  const min = parseQuantity(minText)
  const total = workers.reduce((sum, n) => sum + (nodeQuantity(n, 'ephemeral-storage', 'capacity') ?? 0), 0)
  return {
    id: 'storage.total',
    title: 'Storage, whole cluster',
    severity: 'warn',
    status: status(total >= min, 'warn'),
    observed: `${formatMemory(total)} ephemeral storage on ${workers.length} workers`,
    expected: `>= ${minText} for the reference workload`,
    ...(total >= min ? {} : {hint: `the reference workload needs ${minText}; persistent volumes come from the storage class, so make sure its backing storage has the rest`}),
  }
}

function kubernetesVersion(facts: ClusterFacts): {version?: Version; text: string; from: string} {
  if (facts.server) return {version: parseVersion(facts.server.gitVersion), text: facts.server.gitVersion, from: 'API server'}
  const kubelets = facts.nodes
    .map((n) => ({text: n.nodeInfo.kubeletVersion ?? '', v: parseVersion(n.nodeInfo.kubeletVersion)}))
    .filter((k): k is {text: string; v: Version} => k.v !== undefined)
    .sort((a, b) => compareVersions(a.v, b.v))
  const oldest = kubelets[0]
  return oldest ? {version: oldest.v, text: oldest.text, from: 'oldest kubelet (no /version in a kubectl dump)'} : {text: 'unknown', from: 'no version in the facts'}
}

function versionCheck(id: string, title: string, observed: {version?: Version; text: string; from: string}, req: {min: string; preferred: string}, hint: string): CheckResult {
  const expected = `>= ${req.min} (${req.preferred} preferred)`
  if (!observed.version) return {id, title, severity: 'fail', status: 'skip', observed: observed.text, expected, hint: 'the facts hold no version; take them with `airlock cluster snapshot`'}
  const st: CheckStatus = !versionAtLeast(observed.version, req.min) ? 'fail' : !versionAtLeast(observed.version, req.preferred) ? 'warn' : 'pass'
  return {id, title, severity: 'fail', status: st, observed: `${observed.text} (${observed.from})`, expected, ...(st === 'pass' ? {} : {hint})}
}

function checkKubernetesVersion({facts, profile}: Context): CheckResult {
  const req = profile.versions.kubernetes
  return versionCheck('version.kubernetes', 'Kubernetes version', kubernetesVersion(facts), req, `upgrade the cluster to Kubernetes ${req.preferred} before installing (upgrades after install are discouraged)`)
}

function checkOpenShiftVersion({facts, profile, options}: Context): CheckResult {
  const req = profile.versions.openshift
  const id = 'version.openshift'
  const title = 'OpenShift version'
  if (!req || options.distribution.id !== 'openshift') {
    return {id, title, severity: 'fail', status: 'skip', observed: `not OpenShift (${options.distribution.name})`, expected: req ? `>= ${req.min} when OpenShift` : 'no OpenShift requirement in the profile'}
  }
  if (!facts.openshift) {
    return {id, title, severity: 'fail', status: 'skip', observed: 'no ClusterVersion in the facts', expected: `>= ${req.min} (${req.preferred} preferred)`, hint: 'take the facts live or with `airlock cluster snapshot`, which read the ClusterVersion'}
  }
  return versionCheck(id, title, {version: parseVersion(facts.openshift.version), text: facts.openshift.version, from: 'ClusterVersion'}, req, `upgrade OpenShift to ${req.preferred}: oc adm upgrade --to-latest (channel stable-${req.preferred})`)
}

function checkRuntime({facts, profile, options}: Context): CheckResult {
  const allowed = [...profile.versions.kubernetes.runtimes, ...(options.distribution.id === 'openshift' ? (profile.versions.openshift?.runtimes ?? []) : [])]
  const seen = new Map<string, string[]>()
  for (const n of facts.nodes) {
    const name = parseRuntime(n.nodeInfo.containerRuntimeVersion)?.name ?? 'unknown'
    seen.set(name, [...(seen.get(name) ?? []), n.name])
  }
  const bad = [...seen.entries()].filter(([name]) => !allowed.includes(name))
  const observed = [...seen.entries()].map(([name, nodes]) => `${name} on ${nodes.length} node${nodes.length === 1 ? '' : 's'}`).join(', ') || 'no nodes'
  return {
    id: 'runtime.container',
    title: 'Container runtime',
    severity: 'fail',
    status: status(bad.length === 0 && facts.nodes.length > 0, 'fail'),
    observed,
    expected: allowed.join(' or '),
    ...(bad.length ? {hint: `run the nodes on ${allowed.join(' or ')}`, details: bad.flatMap(([name, nodes]) => nodes.map((n) => `${n}: ${name}`))} : {}),
  }
}

function checkKubectl({facts, profile}: Context): CheckResult {
  const req = profile.versions.kubectl
  const id = 'version.kubectl'
  const title = 'kubectl client'
  if (!req) return {id, title, severity: 'fail', status: 'skip', observed: 'no kubectl requirement in the profile', expected: '-'}
  if (!facts.kubectl) {
    return {id, title, severity: 'fail', status: 'skip', observed: 'kubectl not found on PATH', expected: `>= ${req.min} when found`, hint: `install kubectl ${req.preferred} on the machine you install from`}
  }
  return versionCheck(id, title, {version: parseVersion(facts.kubectl.gitVersion), text: facts.kubectl.gitVersion, from: 'on PATH'}, req, `install kubectl ${req.preferred} on the machine you install from`)
}

function checkNamespace({facts, profile}: Context): CheckResult {
  const name = profile.namespace.name
  const base = {id: 'namespace.install', title: `Install namespace ${name}`, severity: 'fail' as const, expected: 'absent, or present with no pods'}
  const ns = facts.namespaces.find((n) => n.name === name)
  if (!ns) return {...base, status: 'pass', observed: 'absent'}
  if (!facts.podsPerNamespace) {
    return {...base, status: 'warn', observed: 'present; pods not in the facts', hint: `check it is empty: kubectl get pods -n ${name} (or add pods to the kubectl dump)`}
  }
  const pods = facts.podsPerNamespace[name] ?? 0
  return {
    ...base,
    status: status(pods === 0, 'fail'),
    observed: pods === 0 ? 'present, no pods' : `present, ${pods} pod${pods === 1 ? '' : 's'} running`,
    ...(pods === 0 ? {} : {hint: `the namespace is in use: remove what runs there (kubectl delete namespace ${name}) or install into a fresh cluster`}),
  }
}

function checkStorageClass({facts, profile}: Context): CheckResult {
  const want = profile.storageClass
  const base = {id: 'storage.class', title: 'Storage class', severity: 'fail' as const, expected: `${want.name} (${want.volumeBindingMode}, allowVolumeExpansion ${want.allowVolumeExpansion}), or a default class to base it on`}
  const named = facts.storageClasses.find((c) => c.name === want.name)
  if (named) {
    const wrong: string[] = []
    if ((named.volumeBindingMode ?? 'Immediate') !== want.volumeBindingMode) wrong.push(`volumeBindingMode ${named.volumeBindingMode ?? 'Immediate'}`)
    if ((named.allowVolumeExpansion ?? false) !== want.allowVolumeExpansion) wrong.push(`allowVolumeExpansion ${named.allowVolumeExpansion ?? false}`)
    return {
      ...base,
      status: status(wrong.length === 0, 'fail'),
      observed: `${want.name} present (${named.provisioner})${wrong.length ? `: ${wrong.join(', ')}` : ''}`,
      ...(wrong.length ? {hint: `these fields cannot be changed in place: kubectl delete storageclass ${want.name}, then apply the one from the bundle's manifests/`} : {}),
    }
  }
  const defaults = facts.storageClasses.filter((c) => c.isDefault)
  if (defaults.length === 0) {
    return {
      ...base,
      status: 'fail',
      observed: facts.storageClasses.length ? `no default among ${facts.storageClasses.map((c) => c.name).join(', ')}` : 'no storage classes',
      hint: `mark one default (kubectl annotate storageclass NAME storageclass.kubernetes.io/is-default-class=true) or create ${want.name} from the bundle's manifests/`,
    }
  }
  const first = defaults[0] as (typeof defaults)[number]
  return {
    ...base,
    status: defaults.length > 1 ? 'warn' : 'pass',
    observed: `default ${defaults.map((d) => `${d.name} (${d.provisioner})`).join(', ')}; ${want.name} absent`,
    ...(defaults.length > 1 ? {hint: `more than one default class: unmark all but one so ${want.name} is based on the intended provisioner`} : {}),
    ...(defaults.length === 1 ? {details: [`${want.name} will use provisioner ${first.provisioner}`]} : {}),
  }
}

function hasTaint(node: NodeFacts, taint: {key: string; value: string; effect: string}): boolean {
  return node.taints.some((t) => t.key === taint.key && (t.value ?? '') === taint.value && t.effect === taint.effect)
}

function checkNodePool({facts}: Context, pool: RequirementProfile['nodePools'][number]): CheckResult {
  const label = `${pool.label.key}=${pool.label.value}`
  const taint = pool.taint
  const taintText = taint ? `${taint.key}=${taint.value}:${taint.effect}` : undefined
  const labelled = facts.nodes.filter((n) => n.labels[pool.label.key] === pool.label.value)
  const base = {id: `node-pool.${pool.name}`, title: `Node pool ${pool.name}`, severity: 'fail' as const, expected: `nodes labelled ${label}${taintText ? ` carry the taint ${taintText}` : ' (no taint)'}`}
  const untainted = taint ? labelled.filter((n) => !hasTaint(n, taint)) : []
  const unlabelled = taint ? facts.nodes.filter((n) => n.taints.some((t) => t.key === taint.key) && n.labels[pool.label.key] !== pool.label.value) : []
  if (untainted.length > 0) {
    return {
      ...base,
      status: 'fail',
      observed: `${untainted.length} of ${labelled.length} labelled nodes lack the taint`,
      hint: `kubectl taint nodes ${untainted.map((n) => n.name).join(' ')} ${taintText}`,
      details: untainted.map((n) => `${n.name}: labelled ${label}, no ${taintText}`),
    }
  }
  if (unlabelled.length > 0) {
    return {
      ...base,
      status: 'warn',
      observed: `${unlabelled.length} node${unlabelled.length === 1 ? '' : 's'} tainted ${taint?.key} without the label`,
      hint: `nothing is scheduled there until labelled: kubectl label nodes ${unlabelled.map((n) => n.name).join(' ')} ${label}`,
      details: unlabelled.map((n) => `${n.name}: tainted, not labelled ${label}`),
    }
  }
  return {...base, status: 'pass', observed: labelled.length ? `${labelled.length} node${labelled.length === 1 ? '' : 's'} labelled${taintText ? ' and tainted' : ''}` : 'no nodes labelled (pool not used)'}
}

function checkPodCapacity({profile, options, workers, addNodes}: Context): CheckResult {
  const edition = profile.editions[options.edition]
  const base = {id: 'capacity.pods', title: 'Pod (IP) capacity', severity: 'fail' as const}
  if (!edition) {
    return {...base, status: 'skip', observed: `unknown edition ${options.edition}`, expected: `one of ${Object.keys(profile.editions).join(', ')}`, hint: '--edition names an edition of the profile'}
  }
  const pods = workers.reduce((sum, n) => sum + Math.floor(nodeQuantity(n, 'pods', 'allocatable') ?? 0), 0)
  return {
    ...base,
    status: status(pods >= edition.ipAddresses, 'fail'),
    observed: `${pods} pods allocatable on ${workers.length} workers`,
    expected: `>= ${edition.ipAddresses} (${options.edition})`,
    ...(pods >= edition.ipAddresses ? {} : {hint: `raise maxPods per node (and the pod CIDR / subnet it draws IPs from) or ${addNodes.replace(/^./, (c) => c.toLowerCase())}`}),
  }
}

function checkAccess({facts, profile}: Context): CheckResult {
  const wanted = profile.rbac.installer
  const base = {id: 'rbac.installer', title: 'Installer permissions', severity: 'fail' as const, expected: `all ${wanted.length} installer permissions allowed (SelfSubjectAccessReview)`}
  const canI = wanted.map((p) => `kubectl auth can-i ${p.verb} ${p.group ? `${p.resource}.${p.group}` : p.resource}`).join('; ')
  if (!facts.accessReviews) return {...base, status: 'skip', observed: 'no access reviews in the facts (kubectl dump)', hint: `as the installer, run: ${canI}`}
  const answer = (p: (typeof wanted)[number]) => facts.accessReviews?.find((r) => r.group === p.group && r.resource === p.resource && r.verb === p.verb)
  const denied = wanted.filter((p) => answer(p)?.allowed === false)
  const unknown = wanted.filter((p) => answer(p) === undefined)
  if (denied.length) {
    return {
      ...base,
      status: 'fail',
      observed: `denied: ${denied.map(permission).join(', ')}`,
      hint: 'install as an identity bound to cluster-admin, or grant these verbs (creating a ClusterRole needs the permissions it grants, or escalate)',
      details: denied.map((p) => `${permission(p)}${answer(p)?.reason ? `: ${answer(p)?.reason}` : ''}`),
    }
  }
  if (unknown.length) return {...base, status: 'skip', observed: `not reviewed: ${unknown.map(permission).join(', ')}`, hint: `as the installer, run: ${canI}`}
  return {...base, status: 'pass', observed: `all ${wanted.length} allowed`}
}

function permission(p: {group: string; resource: string; verb: string}): string {
  return `${p.verb} ${p.group ? `${p.resource}.${p.group}` : p.resource}`
}

/** The platform's own namespaces: the install namespace, the ones it creates at run time, and labelled ones. */
function isPlatformNamespace(profile: RequirementProfile, name: string, labels: Record<string, string>): boolean {
  const ns = profile.namespace
  if (name === ns.name || name === ns.embeddedName) return true
  if (ns.partOfLabel && labels[ns.partOfLabel.key] === ns.partOfLabel.value) return true
  // `<pipeline>-<id>` patterns cannot be told from a tenant's name; only the label identifies those.
  return ns.createdAtRuntime.filter((p) => !p.includes('<')).some((p) => new RegExp(`^${p.split('*').map(escapeRegExp).join('.*')}$`).test(name))
}

function escapeRegExp(s: string): string {
  return s.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

function checkTenancy({facts, profile}: Context): CheckResult {
  const base = {id: 'tenancy.dedicated', title: 'Cluster dedicated to the platform', severity: 'warn' as const, expected: 'no workloads outside system and platform namespaces'}
  if (!profile.cluster.dedicated) return {...base, status: 'skip', observed: 'the profile does not ask for a dedicated cluster', expected: '-'}
  const labels = new Map(facts.namespaces.map((n) => [n.name, n.labels]))
  const foreign = (name: string) => !isSystemNamespace(name) && !isPlatformNamespace(profile, name, labels.get(name) ?? {})
  let tenants: string[]
  let observed: string
  if (facts.podsPerNamespace) {
    const counts = facts.podsPerNamespace
    tenants = Object.keys(counts).filter((ns) => (counts[ns] ?? 0) > 0 && foreign(ns)).sort()
    observed = tenants.length ? `pods in ${tenants.length} other namespace${tenants.length === 1 ? '' : 's'}: ${tenants.map((t) => `${t} (${counts[t]})`).join(', ')}` : 'no other workloads'
  } else {
    // `default` exists in every cluster; without pod counts its mere presence says nothing.
    tenants = facts.namespaces.map((n) => n.name).filter((n) => n !== 'default' && foreign(n)).sort()
    observed = tenants.length ? `other namespaces (pods not in the facts): ${tenants.join(', ')}` : 'no other namespaces'
  }
  return {
    ...base,
    status: status(tenants.length === 0, 'warn'),
    observed,
    ...(tenants.length ? {hint: 'the platform wants a cluster of its own: move these workloads elsewhere, or accept shared capacity knowingly'} : {}),
  }
}

/** How a service is switched on in ConfigValues: its item, and for `select` items the value that means on. */
export interface ServiceItem {
  item: string
  on?: string
}

/**
 * Service id -> KOTS ConfigValues item, from the profile's `kots.services` list (owned by src/kots).
 * Read defensively: the section is optional and may grow, so entries without a service and an item are
 * ignored, and undefined means the profile maps nothing (the check then says it was skipped).
 */
export function serviceItems(profile: RequirementProfile): Map<string, ServiceItem> | undefined {
  const kots = profile.kots as Record<string, unknown> | undefined
  if (!kots || typeof kots !== 'object') return undefined
  const raw = kots.services ?? kots.toggles
  const map = new Map<string, ServiceItem>()
  if (Array.isArray(raw)) {
    for (const entry of raw) {
      const e = (entry ?? {}) as Record<string, unknown>
      const id = e.service ?? e.id
      if (typeof id !== 'string' || typeof e.item !== 'string') continue
      map.set(id, {item: e.item, ...(e.type === 'select' && typeof e.on === 'string' ? {on: e.on} : {})})
    }
  } else if (raw && typeof raw === 'object') {
    for (const [id, v] of Object.entries(raw as Record<string, unknown>)) {
      if (typeof v === 'string') map.set(id, {item: v})
    }
  }
  return map.size > 0 ? map : undefined
}

const ON = new Set(['1', 'true', 'yes', 'on'])

function isOn(item: ServiceItem, value: string | undefined): boolean {
  if (value === undefined) return false
  return item.on === undefined ? ON.has(value.toLowerCase()) : value === item.on
}

function checkServices({profile, workers}: Context, config: ConfigValuesInput): CheckResult {
  const cores = clusterCores(workers).whole
  const tier = tierFor(profile, cores)
  const base = {id: 'services.cores', title: `Services switched on in ${config.source}`, severity: 'fail' as const, expected: `every service switched on fits ${cores} cores (tier ${tier ?? 'none'})`}
  const items = serviceItems(profile)
  if (!items) {
    return {...base, status: 'skip', observed: 'the profile maps no services to KOTS items (kots.services)', hint: 'use a profile with a kots section, or check the services table by hand'}
  }
  const on = profile.services.items.filter((s) => {
    const item = items.get(s.id)
    return item !== undefined && isOn(item, config.values[item.item])
  })
  const tooBig = on.filter((s) => s.minCores > cores)
  return {
    ...base,
    status: status(tooBig.length === 0, 'fail'),
    observed: tooBig.length ? `too large for ${cores} cores: ${tooBig.map((s) => `${s.name} (needs ${s.minCores})`).join(', ')}` : `${on.length} services on, all fit`,
    ...(tooBig.length
      ? {
          hint: `switch off ${tooBig.map((s) => `${items.get(s.id)?.item} (${s.name})`).join(', ')} in the ConfigValues (regenerate with \`airlock kots config --cores ${cores}\`), or grow the cluster`,
          details: tooBig.map((s) => `${s.name}: ${items.get(s.id)?.item}=${config.values[items.get(s.id)?.item ?? '']}, needs ${s.minCores} cores`),
        }
      : {}),
  }
}
