import {ingressDefault} from '../kots/inputs.js'
import type {RequirementProfile} from '../profile/index.js'
import type {CheckOptions, CheckResult} from './check-types.js'
import type {ClusterFacts, NodeFacts} from './facts.js'
import type {NodeRole} from './schedulable.js'

/** What every check reads: the facts, the profile, the options, and which nodes count. */
export interface Context {
  facts: ClusterFacts
  profile: RequirementProfile
  options: CheckOptions
  roles: NodeRole[]
  workers: NodeFacts[]
  addNodes: string
  /** the ConfigValues as KOTS reads them (item -> value), when given */
  values?: Record<string, string>
}

/** The platform domain: `--domain`, else the ConfigValues' (the profile's kots.inputs.domain item). */
function platformDomain({profile, values, options}: Context): string | undefined {
  const item = profile.kots?.inputs.domain?.item
  return options.domain ?? (item && values ? values[item] : undefined)
}

/** Lab nodes from the ConfigValues (kots.inputs.labNodes), for the storage they add. */
export function labNodes({profile, values}: Context): {count?: number; text: string} {
  const item = profile.kots?.inputs.labNodes?.item
  if (!item) return {text: 'the profile maps no lab-node item'}
  const raw = values?.[item]
  if (raw === undefined) return {text: values ? `${item} not set in the ConfigValues: 1 lab node counted` : `no ConfigValues given: 1 lab node counted (${item})`}
  const n = Number(raw)
  return Number.isInteger(n) && n >= 0 ? {count: n, text: `${item}=${n}`} : {text: `${item}=${JSON.stringify(raw)} is not a count: 1 lab node counted`}
}

/**
 * Enterprise clients reach the platform by name: the domain and a name under it must resolve from
 * here. Only a live run resolves (a snapshot or dump says nothing about the DNS the clients use).
 */
export function checkDns(ctx: Context): CheckResult {
  const {profile, options} = ctx
  const edition = profile.editions[options.edition]
  const base = {id: 'dns.platform', title: 'Platform DNS name', severity: 'fail' as const}
  if (!edition?.dnsRequired) return {...base, status: 'skip', observed: `the ${options.edition} edition needs no DNS`, expected: '-'}
  const domain = platformDomain(ctx)
  const expected = `the domain and a name under it resolve (required by the ${options.edition} edition)`
  const how = (d: string) => `on a machine the clients use: getent hosts ${d}; getent hosts x.${d} (a wildcard record, or one per service name)`
  if (!domain) {
    return {...base, status: 'unchecked', observed: 'domain unknown', expected, hint: `give the ConfigValues (--config-values or --bundle) or --domain so the domain (${profile.kots?.inputs.domain?.item ?? 'the domain item'}) is known`}
  }
  if (!options.dns) {
    return {...base, status: 'unchecked', observed: `${domain}: not resolved (the facts are not live)`, expected, hint: `run verify live, or check ${how(domain)}`}
  }
  const failed = options.dns.answers.filter((a) => a.addresses.length === 0)
  return {
    ...base,
    status: failed.length ? 'fail' : 'pass',
    observed: failed.length
      ? `${failed.map((a) => `${a.name}: ${a.error ?? 'no address'}`).join('; ')} (${options.dns.via})`
      : options.dns.answers.map((a) => `${a.name} -> ${a.addresses.slice(0, 3).join(', ')}`).join('; '),
    expected,
    ...(failed.length ? {hint: `create DNS records for ${domain} and *.${domain} pointing at the platform's load balancer address; check ${how(domain)}`} : {}),
  }
}

/** providerID prefixes of clouds whose controller serves Services of type LoadBalancer. */
const CLOUD_LOAD_BALANCERS: [string, string][] = [
  ['aws://', 'AWS cloud provider (ELB/NLB)'],
  ['gce://', 'Google Cloud provider'],
  ['azure://', 'Azure cloud provider'],
  ['digitalocean://', 'DigitalOcean cloud controller'],
  ['linode://', 'Linode cloud controller'],
  ['oci://', 'Oracle Cloud controller'],
  ['ibm://', 'IBM Cloud provider'],
  ['hcloud://', 'Hetzner cloud controller'],
  ['alicloud://', 'Alibaba Cloud controller'],
  ['openstack://', 'OpenStack cloud provider (Octavia)'],
]
/** Bare-metal load balancers, by the API groups or namespaces they install. */
const LB_GROUPS: [string, string][] = [
  ['metallb.io', 'MetalLB'],
  ['purelb.purelb.io', 'PureLB'],
  ['network.kubesphere.io', 'OpenELB'],
  ['kube-vip.io', 'kube-vip'],
]
const LB_NAMESPACES: [string, string][] = [
  ['metallb-system', 'MetalLB'],
  ['purelb', 'PureLB'],
  ['openelb-system', 'OpenELB'],
]

function loadBalancerEvidence({facts, options}: Context): string[] {
  const evidence: string[] = []
  for (const [prefix, name] of CLOUD_LOAD_BALANCERS) {
    const n = facts.nodes.find((x) => x.providerID?.startsWith(prefix))
    if (n) evidence.push(`${name} (node ${n.name} providerID ${prefix}...)`)
  }
  for (const [group, name] of LB_GROUPS) if (facts.apiGroups?.includes(group)) evidence.push(`${name} (API group ${group})`)
  for (const [ns, name] of LB_NAMESPACES) if (facts.namespaces.some((n) => n.name === ns)) evidence.push(`${name} (namespace ${ns})`)
  const ds = facts.daemonSets ?? []
  const vip = ds.find((d) => /^kube-vip/.test(d.name))
  if (vip) evidence.push(`kube-vip (DaemonSet ${vip.namespace}/${vip.name})`)
  const svclb = ds.find((d) => /^svclb-/.test(d.name))
  if (svclb) evidence.push(`k3s ServiceLB (DaemonSet ${svclb.namespace}/${svclb.name})`)
  // ServiceLB makes its svclb-* DaemonSets only once a LoadBalancer Service exists
  else if (options.distribution.id === 'k3s') evidence.push('k3s ServiceLB (built in, unless the server runs with --disable servicelb)')
  return evidence
}

/**
 * With ingress mode internal or external the platform's proxy is a Service of type LoadBalancer, so
 * something must serve one: a cloud provider, MetalLB, kube-vip, k3s ServiceLB, OpenELB ... A Service
 * of that type that already has an address proves it; one that waits for an address, with nothing that
 * could serve it, disproves it; no evidence either way cannot be decided.
 */
export function checkLoadBalancer(ctx: Context): CheckResult {
  const {profile, options, values, facts} = ctx
  const base = {id: 'network.load-balancer', title: 'LoadBalancer Services can be served', severity: 'fail' as const}
  const kots = profile.kots
  const item = kots?.inputs.ingressMode?.item
  const fallback = kots ? ingressDefault(kots, options.edition) : undefined
  const mode = (item && values?.[item]) ?? fallback?.value
  const from = item && values?.[item] !== undefined ? `${item}=${mode} in the ConfigValues` : fallback ? `${options.edition} default ${mode} (${fallback.source})` : 'no ingress mode known'
  if (mode === undefined || !['internal', 'external'].includes(mode)) {
    return {...base, status: 'skip', observed: `ingress mode ${mode ?? 'unknown'} (${from})`, expected: 'a LoadBalancer only for ingress modes internal and external'}
  }
  const expected = `a LoadBalancer Service gets an address (ingress mode ${mode}: ${from})`
  const served = (facts.loadBalancerServices ?? []).filter((s) => s.addresses > 0)
  const pending = (facts.loadBalancerServices ?? []).filter((s) => s.addresses === 0)
  const evidence = loadBalancerEvidence(ctx)
  if (served.length) return {...base, status: 'pass', observed: `${served.length} LoadBalancer Service(s) have an address, e.g. ${served[0]?.namespace}/${served[0]?.name}`, expected, ...(evidence.length ? {details: evidence} : {})}
  const install = 'install a load balancer for the cluster (MetalLB or kube-vip on bare metal; the cloud controller on a cloud), or choose ingress mode none'
  if (evidence.length) {
    return pending.length
      ? {...base, status: 'warn', observed: `${evidence[0]}; but ${pending.length} LoadBalancer Service(s) wait for an address`, expected, hint: `check why ${pending.map((p) => `${p.namespace}/${p.name}`).join(', ')} get no address (address pool, quota): kubectl describe service`, details: evidence}
      : {...base, status: 'pass', observed: evidence[0] ?? '', expected, details: evidence}
  }
  if (pending.length) {
    return {...base, status: 'fail', observed: `${pending.length} LoadBalancer Service(s) wait for an address and nothing that serves them was found`, expected, hint: install, details: pending.map((p) => `${p.namespace}/${p.name}: no address`)}
  }
  return {
    ...base,
    status: 'unchecked',
    observed: `no load balancer found${facts.loadBalancerServices ? '' : ' (the facts list no Services)'}`,
    expected,
    hint: `${install}; to check by hand: kubectl create service loadbalancer lb-probe --tcp=80:80, then kubectl get service lb-probe (an EXTERNAL-IP must appear)`,
  }
}

/**
 * The platform runs DaemonSets on every node (image pre-pulling, attestation, log collection). A
 * DaemonSet of the cluster that is not ready on every node it targets shows nodes where the
 * platform's will not be either.
 */
export function checkDaemonSets({facts}: Context): CheckResult {
  const base = {id: 'nodes.daemonsets', title: 'DaemonSets reach every node', severity: 'warn' as const, expected: 'every DaemonSet ready on every node it targets'}
  if (!facts.daemonSets) {
    return {...base, status: 'unchecked', observed: 'no DaemonSets in the facts', hint: 'take the facts live, or add daemonsets to the dump: kubectl get ...,daemonsets -A -o json'}
  }
  const short = facts.daemonSets.filter((d) => d.ready < d.desired)
  if (facts.daemonSets.length === 0) return {...base, status: 'pass', observed: 'no DaemonSets yet (nothing shows a node that cannot run one)'}
  return {
    ...base,
    status: short.length ? 'warn' : 'pass',
    observed: short.length ? `${short.length} of ${facts.daemonSets.length} DaemonSets not ready everywhere` : `all ${facts.daemonSets.length} DaemonSets ready on every node they target`,
    ...(short.length
      ? {hint: 'find the nodes that cannot run them (kubectl get pods -A -o wide | grep -v Running): the platform\'s DaemonSets will not run there either', details: short.map((d) => `${d.namespace}/${d.name}: ${d.ready} of ${d.desired} ready`)}
      : {}),
  }
}

/** Node labels that show an automatic upgrade is planned or managed for the node. */
const UPGRADE_LABELS: [RegExp, string][] = [
  [/^plan\.upgrade\.cattle\.io\//, 'system-upgrade-controller plan (k3s/RKE2)'],
  [/^flatcar-linux-update\.v1\.flatcar-linux\.net\//, 'Flatcar update operator'],
  [/^karpenter\.sh\/nodepool$/, 'Karpenter (replaces drifted nodes with new images)'],
]
const SETTING_HINT: Partial<Record<string, string>> = {
  gke: 'gcloud container node-pools describe POOL --cluster CLUSTER --format="value(management.autoUpgrade)"; switch off with --no-enable-autoupgrade',
  aks: 'az aks show -g RG -n CLUSTER --query "autoUpgradeProfile"; set --auto-upgrade-channel none and --node-os-upgrade-channel None',
  eks: 'EKS upgrades managed node groups only when asked; check any automation (Karpenter drift, EKS Auto Mode)',
  digitalocean: 'doctl kubernetes cluster get CLUSTER --format AutoUpgrade,SurgeUpgrade; switch off with doctl kubernetes cluster update CLUSTER --auto-upgrade=false',
  microk8s: 'snap info microk8s shows the tracked channel; hold refreshes with snap refresh --hold microk8s (snap updates MicroK8s on its own)',
  openshift: 'oc get clusterversion version -o jsonpath="{.spec.channel}"; OpenShift updates when an admin starts one',
}

/** Auto-upgrades after install are discouraged: where node labels show them, say so; else say where to look. */
export function checkAutoUpgrade({facts, options}: Context): CheckResult {
  const base = {id: 'nodes.auto-upgrade', title: 'Node auto-upgrade', severity: 'warn' as const, expected: 'no automatic node upgrades after install'}
  const found = facts.nodes.flatMap((n) => Object.keys(n.labels).flatMap((k) => UPGRADE_LABELS.filter(([re]) => re.test(k)).map(([, what]) => `${n.name}: ${what} (label ${k})`)))
  if (found.length) return {...base, status: 'warn', observed: `${found.length} node label(s) show automatic upgrades`, hint: 'pause the upgrade plans during and after the install (upgrades after install are discouraged)', details: found}
  const setting = SETTING_HINT[options.distribution.id]
  if (setting) return {...base, status: 'unchecked', observed: `not shown in node labels on ${options.distribution.name}: a cluster setting`, hint: setting}
  return {...base, status: 'pass', observed: 'no node label shows an upgrade plan'}
}
