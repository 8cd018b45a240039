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
}

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

/**
 * Whether the platform can run on a node. NotReady and cordoned nodes never count. A NoSchedule or
 * NoExecute taint the platform does not tolerate excludes the node, named with the taint: a control
 * plane (`node-role.kubernetes.io/control-plane`), a k3s/RKE2 server (`CriticalAddonsOnly=true:NoExecute`),
 * an OpenShift infra node (`node-role.kubernetes.io/infra`), any other team's taint. A taint of one of the
 * profile's node pools does not exclude: the services that tolerate it run there. Untainted control
 * planes count (k3s and single-node clusters schedule on them).
 */
export function classifyNode(node: NodeFacts, pools: readonly NodePool[] = []): NodeRole {
  const ready = node.conditions.find((c) => c.type === 'Ready')
  if (ready?.status !== 'True') return {name: node.name, worker: false, reason: `NotReady${ready?.reason ? ` (${ready.reason})` : ''}`}
  if (node.unschedulable) return {name: node.name, worker: false, reason: 'cordoned (spec.unschedulable)'}
  let pool: string | undefined
  for (const t of node.taints) {
    if (!REPELLING.has(t.effect)) continue
    const own = poolOf(t, pools)
    if (own) {
      pool = own.name
      continue
    }
    const what = CONTROL_PLANE_TAINTS.has(t.key) ? 'control plane' : t.key === 'CriticalAddonsOnly' ? 'server reserved for critical add-ons' : t.key === 'node-role.kubernetes.io/infra' ? 'infra node' : 'tainted'
    return {name: node.name, worker: false, reason: `${what} (taint ${taintText(t)}, not tolerated by the platform)`}
  }
  return {name: node.name, worker: true, ...(pool ? {pool} : {})}
}

export function classifyNodes(nodes: NodeFacts[], profile: RequirementProfile): {roles: NodeRole[]; workers: NodeFacts[]} {
  const roles = nodes.map((n) => classifyNode(n, profile.nodePools))
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
