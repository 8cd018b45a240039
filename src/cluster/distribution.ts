import type {ClusterFacts, NodeFacts} from './facts.js'

export type DistributionId = 'openshift' | 'eks' | 'gke' | 'aks' | 'digitalocean' | 'rke2' | 'k3s' | 'microk8s' | 'kurl' | 'kind' | 'generic'

export interface Distribution {
  id: DistributionId
  name: string
  /** what gave it away, for the report */
  evidence: string[]
}

interface Signature {
  id: DistributionId
  name: string
  /** each returns a piece of evidence, or undefined */
  probes: ((facts: ClusterFacts, versions: string[]) => string | undefined)[]
}

const anyNode = (facts: ClusterFacts, test: (n: NodeFacts) => boolean) => facts.nodes.find(test)
const nodeLabel = (key: string, value?: string) => (facts: ClusterFacts) => {
  const n = anyNode(facts, (node) => key in node.labels && (value === undefined || node.labels[key] === value))
  return n ? `node ${n.name} label ${key}${value === undefined ? '' : `=${value}`}` : undefined
}
const versionMatch = (re: RegExp) => (_: ClusterFacts, versions: string[]) => {
  const v = versions.find((x) => re.test(x))
  return v ? `version ${v}` : undefined
}
const providerPrefix = (prefix: string) => (facts: ClusterFacts) => {
  const n = anyNode(facts, (node) => node.providerID?.startsWith(prefix) === true)
  return n ? `node ${n.name} providerID ${prefix}...` : undefined
}

/**
 * Ordered: OpenShift first (it may run on any cloud, so cloud labels do not decide), then the managed
 * clouds, then the Rancher distributions (RKE2 before k3s: RKE2 embeds k3s code but its versions say rke2).
 */
const SIGNATURES: Signature[] = [
  {
    id: 'openshift',
    name: 'OpenShift',
    probes: [
      (f) => (f.openshift ? `ClusterVersion ${f.openshift.version}` : undefined),
      (f) => (f.apiGroups?.includes('config.openshift.io') ? 'API group config.openshift.io' : undefined),
      nodeLabel('node.openshift.io/os_id'),
    ],
  },
  {id: 'eks', name: 'Amazon EKS', probes: [versionMatch(/-eks-/), nodeLabel('eks.amazonaws.com/nodegroup'), nodeLabel('eks.amazonaws.com/compute-type')]},
  {id: 'gke', name: 'Google GKE', probes: [versionMatch(/-gke\./), nodeLabel('cloud.google.com/gke-nodepool'), providerPrefix('gce://')]},
  {id: 'aks', name: 'Azure AKS', probes: [nodeLabel('kubernetes.azure.com/cluster'), nodeLabel('kubernetes.azure.com/agentpool')]},
  {id: 'digitalocean', name: 'DigitalOcean Kubernetes', probes: [nodeLabel('doks.digitalocean.com/node-pool'), providerPrefix('digitalocean://')]},
  {id: 'rke2', name: 'RKE2', probes: [versionMatch(/\+rke2/), nodeLabel('node.kubernetes.io/instance-type', 'rke2')]},
  {id: 'k3s', name: 'k3s', probes: [versionMatch(/\+k3s/), nodeLabel('node.kubernetes.io/instance-type', 'k3s')]},
  {id: 'microk8s', name: 'MicroK8s', probes: [nodeLabel('microk8s.io/cluster')]},
  {id: 'kurl', name: 'kURL', probes: [nodeLabel('kurl.sh/cluster')]},
  {id: 'kind', name: 'kind', probes: [providerPrefix('kind://')]},
]

/** Reads version strings, labels, provider IDs and API groups; the first signature with evidence wins. */
export function detectDistribution(facts: ClusterFacts): Distribution {
  const versions = [facts.server?.gitVersion, ...facts.nodes.map((n) => n.nodeInfo.kubeletVersion)].filter((v): v is string => typeof v === 'string')
  for (const sig of SIGNATURES) {
    const evidence = sig.probes.map((p) => p(facts, versions)).filter((e): e is string => e !== undefined)
    if (evidence.length > 0) return {id: sig.id, name: sig.name, evidence}
  }
  return {id: 'generic', name: 'Kubernetes', evidence: []}
}

/** How to add capacity on each platform: the hint a failed size check ends with. */
export function addNodesHint(id: DistributionId): string {
  switch (id) {
    case 'eks':
      return 'add a managed node group: eksctl create nodegroup --cluster CLUSTER --nodes N --node-type m5.xlarge (or raise the desired size of an existing group)'
    case 'gke':
      return 'add or grow a node pool: gcloud container node-pools create POOL --cluster CLUSTER --num-nodes N --machine-type e2-standard-4'
    case 'aks':
      return 'add or scale a node pool: az aks nodepool add --cluster-name CLUSTER --resource-group RG --name POOL --node-count N --node-vm-size Standard_D4s_v5'
    case 'openshift':
      return 'scale a compute MachineSet: oc scale machineset NAME -n openshift-machine-api --replicas=N (or add workers per your installer)'
    case 'digitalocean':
      return 'add or grow a node pool: doctl kubernetes cluster node-pool create CLUSTER --name POOL --size s-4vcpu-16gb --count N (or raise --count of an existing pool)'
    case 'microk8s':
      return 'join more nodes: run `microk8s add-node` on a node of the cluster, then the printed `microk8s join ...` on each new machine'
    case 'kurl':
      return 'join more nodes: run the kURL join command (from the kURL installer\'s output, or `kubectl -n kurl get configmap kurl-current-config`) on each new machine'
    case 'rke2':
      return 'join more agents: install rke2-agent on new machines with server: and token: in /etc/rancher/rke2/config.yaml'
    case 'k3s':
      return 'join more agents: run the k3s installer on new machines with K3S_URL=https://SERVER:6443 and K3S_TOKEN'
    case 'kind':
      return 'add `- role: worker` entries to the kind cluster config and recreate the cluster (kind create cluster --config FILE)'
    default:
      return 'add worker nodes (or larger ones) to the cluster'
  }
}

/**
 * Namespaces each platform runs its own components in: their pods are not other tenants. `default`
 * is deliberately absent: pods there belong to someone.
 */
export const SYSTEM_NAMESPACES: readonly (string | RegExp)[] = [
  /^kube-/,
  /^openshift(-|$)/,
  /^cattle-/,
  /^calico-/,
  'tigera-operator',
  /^gke-/,
  /^gmp-/,
  'local-path-storage',
  'longhorn-system',
  'rook-ceph',
  'cert-manager',
  'ingress-nginx',
  'metallb-system',
  'amazon-cloudwatch',
  'amazon-guardduty',
  /^aks-/,
  'calico-system',
]

export function isSystemNamespace(name: string): boolean {
  return SYSTEM_NAMESPACES.some((p) => (typeof p === 'string' ? p === name : p.test(name)))
}
