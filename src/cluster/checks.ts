import {effectiveValues, serviceToggles, type ConfigValues} from '../kots/index.js'
import type {NodePool, RequirementProfile} from '../profile/index.js'
import {tierFor} from '../profile/index.js'
import {addNodesHint, isSystemNamespace, type Distribution} from './distribution.js'
import type {ClusterFacts, NodeFacts} from './facts.js'
import {openShiftVersion} from './openshift.js'
import type {CheckOptions, CheckResult, CheckStatus} from './check-types.js'
import {checkAutoUpgrade, checkDaemonSets, checkDns, checkLoadBalancer, labNodes, type Context} from './prerequisites.js'
import {formatCores, formatMemory, parseQuantity} from './quantity.js'
import {classifyNodes, clusterCores, nodeKindReason, nodeQuantity} from './schedulable.js'
import {formatSizeAgainst} from './sizes.js'
import {compareVersions, parseRuntime, parseVersion, type Version} from './version.js'

export {classifyNode, clusterCores, nodeCores, type NodeRole} from './schedulable.js'

export type {CheckOptions, CheckResult, CheckStatus} from './check-types.js'

function status(ok: boolean, severity: 'fail' | 'warn'): CheckStatus {
  return ok ? 'pass' : severity
}

function versionAtLeast(observed: Version, min: string): boolean {
  return compareVersions(observed, parseVersion(min) as Version) >= 0
}

/** Runs every check of the profile over the facts. Pure: the same facts give the same report. */
export function runChecks(facts: ClusterFacts, profile: RequirementProfile, options: CheckOptions): CheckResult[] {
  const {roles, workers} = classifyNodes(facts.nodes, profile)
  const values = options.configValues ? effectiveValues(options.configValues) : undefined
  const ctx: Context = {facts, profile, options, roles, workers, addNodes: addNodesHint(options.distribution.id), ...(values ? {values} : {})}
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
    checkDns(ctx),
    checkLoadBalancer(ctx),
    checkDaemonSets(ctx),
    checkAutoUpgrade(ctx),
    ...(options.configValues ? [checkServices(ctx, options.configValues)] : []),
  ]
}

function checkNodeCount({profile, roles, workers, addNodes}: Context): CheckResult {
  const min = profile.cluster.nodes.min
  const excluded = roles.filter((r) => !r.worker)
  const fixes = excluded.flatMap((r) => (r.fix ? [r.fix] : []))
  return {
    id: 'nodes.schedulable',
    title: 'Schedulable Ready worker nodes',
    severity: 'fail',
    status: status(workers.length >= min, 'fail'),
    observed: `${workers.length} of ${roles.length} nodes${excluded.length ? ` (${excluded.length} excluded)` : ''}`,
    expected: `>= ${min}`,
    ...(workers.length >= min ? {} : {hint: `${addNodes}${fixes.length ? `; or, where those nodes may run the platform: ${fixes.join('; ')}` : ''}`}),
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
/** Per-node size on capacity, not allocatable: see docs/cluster.md, "How sizes are compared". */
function checkPerNode({workers, addNodes}: Context, resource: string, id: string, title: string, minText: string): CheckResult {
  const min = parseQuantity(minText)
  const sizes = workers.map((n) => ({node: n, bytes: nodeQuantity(n, resource, 'capacity'), allocatable: nodeQuantity(n, resource, 'allocatable')}))
  const small = sizes.filter((s) => s.bytes === undefined || s.bytes < min)
  const smallest = [...sizes].sort((a, b) => (a.bytes ?? 0) - (b.bytes ?? 0))[0]
  const ok = workers.length > 0 && small.length === 0
  // precise enough that a node just below the minimum never reads as equal to it
  const size = (bytes: number | undefined) => (bytes === undefined ? 'not reported' : formatSizeAgainst(bytes, min))
  return {
    id,
    title,
    severity: 'fail',
    status: status(ok, 'fail'),
    observed: smallest ? `smallest ${smallest.node.name}: ${size(smallest.bytes)} capacity` : 'no schedulable worker nodes',
    expected: `>= ${formatMemory(min)} capacity on every worker`,
    ...(ok ? {} : {hint: `give every worker at least ${minText} of ${resource}; ${addNodes}`}),
    ...(small.length
      ? {details: small.map((s) => `${s.node.name}: capacity ${size(s.bytes)}, allocatable ${s.allocatable === undefined ? 'not reported' : formatMemory(s.allocatable)}`)}
      : {}),
  }
}

/** The reference workload's storage, plus `perExtraLabNode` for every lab node past the first (from the ConfigValues). */
function checkStorageTotal(ctx: Context): CheckResult {
  const {profile, workers} = ctx
  const perLab = profile.cluster.storageTotal.perExtraLabNode
  const labs = labNodes(ctx)
  const extra = perLab && labs.count !== undefined ? Math.max(0, labs.count - 1) * parseQuantity(perLab) : 0
  const min = parseQuantity(profile.cluster.storageTotal.min) + extra
  const total = workers.reduce((sum, n) => sum + (nodeQuantity(n, 'ephemeral-storage', 'capacity') ?? 0), 0)
  return {
    id: 'storage.total',
    title: 'Storage, whole cluster',
    severity: 'warn',
    status: status(total >= min, 'warn'),
    observed: `${formatSizeAgainst(total, min)} ephemeral storage on ${workers.length} workers`,
    expected: `>= ${formatMemory(min)}: ${profile.cluster.storageTotal.min} for the reference workload${perLab ? ` + ${perLab} per lab node past the first (${labs.text})` : ''}`,
    ...(total >= min ? {} : {hint: `the platform needs ${formatMemory(min)}; persistent volumes come from the storage class, so make sure its backing storage has the rest`}),
  }
}

function kubernetesVersion(facts: ClusterFacts): {version?: Version; text: string; from: string} {
  if (facts.server) return {version: parseVersion(facts.server.gitVersion), text: facts.server.gitVersion, from: 'API server'}
  // a virtual node's "kubelet" is virtual-kubelet or Fargate's agent, versioned on its own
  const kubelets = facts.nodes
    .filter((n) => n.labels.type !== 'virtual-kubelet' && !n.taints.some((t) => t.key === 'virtual-kubelet.io/provider'))
    .map((n) => ({text: n.nodeInfo.kubeletVersion ?? '', v: parseVersion(n.nodeInfo.kubeletVersion)}))
    .filter((k): k is {text: string; v: Version} => k.v !== undefined)
    .sort((a, b) => compareVersions(a.v, b.v))
  const oldest = kubelets[0]
  return oldest ? {version: oldest.v, text: oldest.text, from: 'oldest kubelet (no /version in a kubectl dump)'} : {text: 'unknown', from: 'no version in the facts'}
}

function versionCheck(id: string, title: string, observed: {version?: Version; text: string; from: string}, req: {min: string; preferred: string}, hint: string): CheckResult {
  const expected = `>= ${req.min} (${req.preferred} preferred)`
  if (!observed.version) return {id, title, severity: 'fail', status: 'unchecked', observed: observed.text, expected, hint: 'the facts hold no version; take them with `airlock cluster snapshot`'}
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
  const found = openShiftVersion(facts)
  if (!found?.version) {
    return {
      id,
      title,
      severity: 'fail',
      status: 'unchecked',
      observed: 'no ClusterVersion, RHCOS osImage or kubelet version in the facts',
      expected: `>= ${req.min} (${req.preferred} preferred)`,
      hint: 'take the facts live, or add clusterversions to the dump: kubectl get nodes,namespaces,storageclasses,clusterversions -o json',
    }
  }
  const result = versionCheck(id, title, found as {version: Version; text: string; from: string}, req, `upgrade OpenShift to ${req.preferred}: oc adm upgrade --to-latest (channel stable-${req.preferred})`)
  // an inferred version names how to confirm it, whatever the verdict
  return found.inferred ? {...result, details: [...(result.details ?? []), 'inferred, not read: confirm with `oc get clusterversion version`']} : result
}

/**
 * The runtime of every Linux machine of the cluster the platform can run on. Windows nodes
 * (containerd for Windows), nodes of another CPU architecture and virtual nodes (virtual-kubelet
 * reports no runtime) never run the platform: they are not judged.
 */
function checkRuntime({facts, profile, options}: Context): CheckResult {
  const allowed = [...profile.versions.kubernetes.runtimes, ...(options.distribution.id === 'openshift' ? (profile.versions.openshift?.runtimes ?? []) : [])]
  const seen = new Map<string, string[]>()
  for (const n of facts.nodes.filter((x) => nodeKindReason(x, profile.cluster.architectures) === undefined)) {
    const name = parseRuntime(n.nodeInfo.containerRuntimeVersion)?.name ?? 'unknown'
    seen.set(name, [...(seen.get(name) ?? []), n.name])
  }
  const bad = [...seen.entries()].filter(([name]) => !allowed.includes(name))
  const observed = [...seen.entries()].map(([name, nodes]) => `${name} on ${nodes.length} node${nodes.length === 1 ? '' : 's'}`).join(', ') || 'no nodes'
  return {
    id: 'runtime.container',
    title: 'Container runtime',
    severity: 'fail',
    status: status(bad.length === 0 && seen.size > 0, 'fail'),
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
    return {id, title, severity: 'fail', status: 'unchecked', observed: 'kubectl not found on PATH', expected: `>= ${req.min} on the machine you install from`, hint: `install kubectl ${req.preferred} on the machine you install from, and run verify there`}
  }
  return versionCheck(id, title, {version: parseVersion(facts.kubectl.gitVersion), text: facts.kubectl.gitVersion, from: 'on PATH'}, req, `install kubectl ${req.preferred} on the machine you install from`)
}

function checkNamespace({facts, profile}: Context): CheckResult {
  const name = profile.namespace.name
  const base = {id: 'namespace.install', title: `Install namespace ${name}`, severity: 'fail' as const, expected: 'absent, or present with no pods'}
  const ns = facts.namespaces.find((n) => n.name === name)
  if (!ns) return {...base, status: 'pass', observed: 'absent'}
  if (!facts.podsPerNamespace) {
    return {...base, status: 'unchecked', observed: 'present; pods not in the facts', hint: `check it is empty: kubectl get pods -n ${name} (or add pods to the kubectl dump)`}
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

function checkNodePool({facts}: Context, pool: NodePool): CheckResult {
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
    return {...base, status: 'unchecked', observed: `unknown edition ${options.edition}`, expected: `one of ${Object.keys(profile.editions).join(', ')}`, hint: '--edition names an edition of the profile'}
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
  if (!facts.accessReviews) return {...base, status: 'unchecked', observed: 'no access reviews in the facts (kubectl dump)', hint: `as the installer, run: ${canI}`}
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
  if (unknown.length) return {...base, status: 'unchecked', observed: `not reviewed: ${unknown.map(permission).join(', ')}`, hint: `as the installer, run: ${canI}`}
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

/**
 * Every service switched on in the ConfigValues must fit the cores. A toggle the file leaves out (or
 * empty) takes the application's own default in KOTS, which only the application's Config knows, and a
 * select value that is neither the profile's on nor its off value says nothing either: a service that
 * would not fit and whose state is unknown makes the check undecided, never a pass.
 */
function checkServices({profile, workers, values}: Context, config: ConfigValues): CheckResult {
  const cores = clusterCores(workers).whole
  const tier = tierFor(profile, cores)
  const base = {id: 'services.cores', title: `Services switched on in ${config.source}`, severity: 'fail' as const, expected: `every service switched on fits ${cores} cores (tier ${tier ?? 'none'})`}
  const toggles = serviceToggles(profile)
  if (toggles.size === 0) {
    return {...base, status: 'unchecked', observed: 'the profile maps no services to KOTS items (kots.services)', hint: 'use a profile with a kots section, or check the services table by hand'}
  }
  const read = values ?? {}
  const item = (id: string) => toggles.get(id)?.item ?? ''
  const mapped = profile.services.items.filter((s) => toggles.has(s.id))
  const on = mapped.filter((s) => toggles.get(s.id)?.isOn(read[item(s.id)]) === true)
  const unknown = mapped.filter((s) => s.minCores > cores && toggles.get(s.id)?.isKnown(read[item(s.id)]) === false)
  const tooBig = on.filter((s) => s.minCores > cores)
  if (tooBig.length) {
    return {
      ...base,
      status: 'fail',
      observed: `too large for ${cores} cores: ${tooBig.map((s) => `${s.name} (needs ${s.minCores})`).join(', ')}`,
      hint: `switch off ${tooBig.map((s) => `${item(s.id)} (${s.name})`).join(', ')} in the ConfigValues (regenerate with \`airlock kots config --cores ${cores}\`), or grow the cluster`,
      details: tooBig.map((s) => `${s.name}: ${item(s.id)}=${read[item(s.id)]}, needs ${s.minCores} cores`),
    }
  }
  if (unknown.length) {
    const state = (s: (typeof unknown)[number]) => (read[item(s.id)] === undefined ? `${item(s.id)} not set (KOTS uses the application's default)` : `${item(s.id)}=${read[item(s.id)]} is neither on nor off in the profile`)
    return {
      ...base,
      status: 'unchecked',
      observed: `${on.length} services on fit; ${unknown.length} that would not fit ${cores} cores have no known state: ${unknown.map((s) => s.name).join(', ')}`,
      hint: `set ${unknown.map((s) => item(s.id)).join(', ')} explicitly in the ConfigValues (\`airlock kots config --cores ${cores} --from FILE\` writes every toggle)`,
      details: unknown.map((s) => `${s.name} (needs ${s.minCores} cores): ${state(s)}`),
    }
  }
  return {...base, status: 'pass', observed: `${on.length} services on, all fit`}
}
