/**
 * The facts the checks read, gathered once from a live cluster, a snapshot file or a kubectl dump.
 * This is also the snapshot format (`airlock cluster snapshot`): a versioned JSON holding only what
 * the checks need. Deliberately absent: Secrets, ConfigMaps, pod specs, environment values,
 * annotations other than the default-storage-class ones, and anything about workloads beyond a
 * count of pods per namespace.
 */
export const SNAPSHOT_API_VERSION = 'airlock.dev/v1'
export const SNAPSHOT_KIND = 'ClusterSnapshot'
export const SNAPSHOT_FORMAT = 1

export interface Taint {
  key: string
  value?: string
  effect: string
}

export interface NodeCondition {
  type: string
  status: string
  reason?: string
}

export interface NodeFacts {
  name: string
  labels: Record<string, string>
  taints: Taint[]
  unschedulable: boolean
  conditions: NodeCondition[]
  /** quantities exactly as the API wrote them (`16302084Ki`, `3920m`) */
  capacity: Record<string, string>
  allocatable: Record<string, string>
  providerID?: string
  nodeInfo: {
    kubeletVersion?: string
    containerRuntimeVersion?: string
    osImage?: string
    kernelVersion?: string
    architecture?: string
    operatingSystem?: string
  }
}

export interface NamespaceFacts {
  name: string
  labels: Record<string, string>
  phase?: string
}

export interface StorageClassFacts {
  name: string
  provisioner: string
  isDefault: boolean
  volumeBindingMode?: string
  allowVolumeExpansion?: boolean
}

export interface AccessReviewFacts {
  group: string
  resource: string
  verb: string
  allowed: boolean
  reason?: string
}

/** A DaemonSet's reach: how many nodes it should run on, and on how many its pod is ready. */
export interface DaemonSetFacts {
  namespace: string
  name: string
  desired: number
  ready: number
}

/** A Service of type LoadBalancer and how many addresses its load balancer was given. */
export interface LoadBalancerServiceFacts {
  namespace: string
  name: string
  addresses: number
}

export interface ClusterFacts {
  apiVersion: typeof SNAPSHOT_API_VERSION
  kind: typeof SNAPSHOT_KIND
  format: typeof SNAPSHOT_FORMAT
  /** where these facts came from, and when */
  source: {kind: 'live' | 'snapshot' | 'kubectl-dump'; takenAt: string; context?: string; server?: string; file?: string}
  /** /version; absent in a kubectl dump */
  server?: {gitVersion: string; platform?: string}
  /** API group names from /apis discovery; absent in a kubectl dump */
  apiGroups?: string[]
  /** the ClusterVersion `version` object, when the cluster is OpenShift */
  openshift?: {version: string; channel?: string}
  nodes: NodeFacts[]
  namespaces: NamespaceFacts[]
  storageClasses: StorageClassFacts[]
  /** running or pending pods per namespace; absent when the source did not list pods */
  podsPerNamespace?: Record<string, number>
  /** SelfSubjectAccessReview answers for the profile's installer permissions; absent in a kubectl dump */
  accessReviews?: AccessReviewFacts[]
  /** every DaemonSet's reach; absent when the source did not list them */
  daemonSets?: DaemonSetFacts[]
  /** Services of type LoadBalancer (name and address count only); absent when the source did not list services */
  loadBalancerServices?: LoadBalancerServiceFacts[]
  /** `kubectl version --client` on the machine that gathered the facts; null when kubectl was not on PATH */
  kubectl?: {gitVersion: string} | null
}
