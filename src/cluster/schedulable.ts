import type {NodePool, RequirementProfile} from '../profile/index.js'
import type {NodeFacts, Taint} from './facts.js'
import {parseQuantity, round} from './quantity.js'

/** A node the platform can schedule on, or the reason it cannot. */
export interface NodeRole {
  name: string
  worker: boolean
  reason?: string
  /** the profile's node pool whose taint this node carries: it counts for the services that tolerate it */
  pool?: string
  /** the command that would let the platform use the node, when that is the site's choice (a foreign taint, a cordon) */
  fix?: string
}

/** Taints the node's own state puts there (the node lifecycle controller, the cloud provider): removing them by hand fixes nothing. */
const STATE_TAINT = /^node\.kubernetes\.io\/|^node\.cloudprovider\.kubernetes\.io\/|^ToBeDeletedByClusterAutoscaler$|^DeletionCandidateOfClusterAutoscaler$|^karpenter\.sh\/disrupt/

const CONTROL_PLANE_TAINTS = new Set(['node-role.kubernetes.io/control-plane', 'node-role.kubernetes.io/master'])
/** Taints that keep pods off a node; PreferNoSchedule only asks the scheduler to avoid it, so the node still counts. */
const REPELLING = new Set(['NoSchedule', 'NoExecute'])

export function taintText(t: Taint): string {
  return `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`
}

/** The profile's own node-pool taints: the platform's services tolerate them (Equal: key, value and effect). */
function poolOf(taint: Taint, pools: readonly NodePool[]): NodePool | undefined {
  return pools.find((p) => p.taint && p.taint.key === taint.key && p.taint.value === (taint.value ?? '') && p.taint.effect === taint.effect)
}

/** What a taint says about its node, in words, for the taints real clusters put on nodes. */
function taintMeaning({key, value}: Taint): string {
  if (CONTROL_PLANE_TAINTS.has(key)) return 'control plane'
  if (key === 'CriticalAddonsOnly') return 'server reserved for critical add-ons'
  if (key === 'node-role.kubernetes.io/infra') return 'infra node'
  if (key === 'node.kubernetes.io/unreachable' || key === 'node.kubernetes.io/not-ready') return 'not ready'
  if (/^node\.kubernetes\.io\/(disk|memory|pid)-pressure$/.test(key)) return `under ${key.slice('node.kubernetes.io/'.length).replace('-', ' ')}`
  if (key === 'node.kubernetes.io/network-unavailable') return 'network not ready'
  if (key === 'node.cloudprovider.kubernetes.io/uninitialized') return 'not yet initialised by the cloud provider'
  if (key === 'ToBeDeletedByClusterAutoscaler' || key === 'DeletionCandidateOfClusterAutoscaler' || key.startsWith('karpenter.sh/disrupt')) return 'being removed by the autoscaler'
  if (key === 'virtual-kubelet.io/provider' || key === 'eks.amazonaws.com/compute-type') return 'virtual node'
  if (key === 'nvidia.com/gpu' || key === 'amd.com/gpu' || (key === 'sku' && value === 'gpu') || key.endsWith('/gpu')) return 'GPU node'
  return 'tainted'
}

/**
 * Nodes whose kind, not a taint, keeps the platform off: Windows nodes cannot run its Linux
 * containers (AKS and EKS Windows pools are often untainted), nodes of a CPU architecture the
 * profile's images are not built for (an arm64 pool beside amd64 ones: the pods would fail with
 * `exec format error`, and the scheduler does not know that), and virtual nodes (virtual-kubelet,
 * AKS virtual nodes, EKS Fargate), which are not machines: they report huge capacity and run no DaemonSets.
 */
export function nodeKindReason(node: NodeFacts, architectures?: readonly string[]): string | undefined {
  const os = node.labels['kubernetes.io/os'] ?? node.labels['beta.kubernetes.io/os'] ?? node.nodeInfo.operatingSystem
  if (os && os.toLowerCase() !== 'linux') return `${os} node (kubernetes.io/os=${os}): the platform's Linux containers cannot run there`
  const arch = node.labels['kubernetes.io/arch'] ?? node.labels['beta.kubernetes.io/arch'] ?? node.nodeInfo.architecture
  if (arch && architectures?.length && !architectures.includes(arch.toLowerCase())) {
    return `${arch} node (kubernetes.io/arch=${arch}): the platform's images are built for ${architectures.join(', ')} only`
  }
  if (node.labels.type === 'virtual-kubelet') return 'virtual node (label type=virtual-kubelet): not a machine; DaemonSets and node-sized services cannot run there'
  if (node.labels['eks.amazonaws.com/compute-type'] === 'fargate') return 'virtual node (label eks.amazonaws.com/compute-type=fargate): one Fargate pod per node, no DaemonSets'
  return undefined
}

/**
 * Whether the platform can run on a node. NotReady (Ready False or Unknown, or no Ready condition)
 * and cordoned nodes never count; neither do Windows or virtual nodes. A NoSchedule or NoExecute
 * taint the platform does not tolerate excludes the node, named with the taint: a control plane
 * (`node-role.kubernetes.io/control-plane` or `master`), a k3s/RKE2 server
 * (`CriticalAddonsOnly=true:NoExecute`), an OpenShift infra node (`node-role.kubernetes.io/infra`),
 * a GPU node, any other team's taint. A taint of one of the profile's node pools does not exclude:
 * the services that tolerate it run there. Untainted control planes count (k3s and single-node
 * clusters schedule on them).
 */
export function classifyNode(node: NodeFacts, pools: readonly NodePool[] = [], architectures?: readonly string[]): NodeRole {
  const ready = node.conditions.find((c) => c.type === 'Ready')
  if (!ready) return {name: node.name, worker: false, reason: 'NotReady (the node reports no Ready condition)'}
  if (ready.status !== 'True') return {name: node.name, worker: false, reason: `NotReady${ready.reason ? ` (${ready.reason})` : ` (Ready=${ready.status})`}`}
  if (node.unschedulable) return {name: node.name, worker: false, reason: 'cordoned (spec.unschedulable)', fix: `kubectl uncordon ${node.name}`}
  const kind = nodeKindReason(node, architectures)
  if (kind) return {name: node.name, worker: false, reason: kind}
  let pool: string | undefined
  for (const t of node.taints) {
    if (!REPELLING.has(t.effect)) continue
    const own = poolOf(t, pools)
    if (own) {
      pool = own.name
      continue
    }
    const meaning = taintMeaning(t)
    const removable = !STATE_TAINT.test(t.key) && meaning !== 'control plane' && meaning !== 'virtual node'
    return {name: node.name, worker: false, reason: `${meaning} (taint ${taintText(t)}, not tolerated by the platform)`, ...(removable ? {fix: `kubectl taint nodes ${node.name} ${taintText(t)}-`} : {})}
  }
  return {name: node.name, worker: true, ...(pool ? {pool} : {})}
}

export function classifyNodes(nodes: NodeFacts[], profile: RequirementProfile): {roles: NodeRole[]; workers: NodeFacts[]} {
  const roles = nodes.map((n) => classifyNode(n, profile.nodePools, profile.cluster.architectures))
  return {roles, workers: nodes.filter((_, i) => roles[i]?.worker)}
}

/** A quantity from a node, or undefined when absent or unreadable (the snapshot reader rejects unreadable ones). */
export function nodeQuantity(node: NodeFacts, resource: string, prefer: 'capacity' | 'allocatable'): number | undefined {
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
