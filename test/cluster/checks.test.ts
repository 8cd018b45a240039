import {strict as assert} from 'node:assert'

import {classifyNode, runChecks, type CheckResult} from '../../src/cluster/checks.js'
import type {ConfigValues} from '../../src/kots/index.js'
import {detectDistribution} from '../../src/cluster/distribution.js'
import type {ClusterFacts, NodeFacts} from '../../src/cluster/facts.js'
import {loadProfile, type RequirementProfile} from '../../src/profile/index.js'
import {fixtureFacts} from './fixture-facts.js'

let profile: RequirementProfile

function run(facts: ClusterFacts, options: {edition?: string; configValues?: ConfigValues; profile?: RequirementProfile} = {}): CheckResult[] {
  return runChecks(facts, options.profile ?? profile, {edition: options.edition ?? 'enterprise', distribution: detectDistribution(facts), ...(options.configValues ? {configValues: options.configValues} : {})})
}

function check(facts: ClusterFacts, id: string, options: Parameters<typeof run>[1] = {}): CheckResult {
  const found = run(facts, options).find((c) => c.id === id)
  assert.ok(found, `no check ${id}`)
  return found
}

/** EKS with every worker's `resource` set to the given capacity and allocatable. */
function eksWith(mutate: (n: NodeFacts, i: number) => void, count = 4): ClusterFacts {
  const facts = fixtureFacts('eks')
  facts.nodes = facts.nodes.slice(0, count)
  facts.nodes.forEach((n, i) => mutate(n, i))
  return facts
}

describe('cluster checks at their boundaries', () => {
  before(async () => {
    profile = (await loadProfile('wallaroo-2025.1')).profile
  })

  describe('nodes.schedulable', () => {
    it('passes at exactly the minimum and fails one below', () => {
      assert.equal(check(eksWith(() => {}, 4), 'nodes.schedulable').status, 'pass')
      assert.equal(check(eksWith(() => {}, 3), 'nodes.schedulable').status, 'fail')
    })

    it('excludes control-plane-tainted, cordoned and NotReady nodes, naming why', () => {
      const facts = fixtureFacts('eks')
      const [a, b, c] = facts.nodes as [NodeFacts, NodeFacts, NodeFacts]
      a.taints.push({key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule'})
      b.unschedulable = true
      c.conditions = c.conditions.map((x) => (x.type === 'Ready' ? {...x, status: 'Unknown', reason: 'NodeStatusUnknown'} : x))
      const result = check(facts, 'nodes.schedulable')
      assert.equal(result.status, 'fail')
      assert.equal(result.details?.length, 3)
      assert.match(result.details?.join('\n') ?? '', /control plane/)
      assert.match(result.details?.join('\n') ?? '', /cordoned/)
      assert.match(result.details?.join('\n') ?? '', /NotReady \(NodeStatusUnknown\)/)
      assert.match(result.hint ?? '', /eksctl create nodegroup/)
    })

    it('counts an untainted control plane (k3s servers run workloads)', () => {
      const facts = fixtureFacts('k3s')
      const server = facts.nodes.find((n) => n.name === 'k3s-server-1') as NodeFacts
      assert.equal(classifyNode(server).worker, true)
      assert.equal(check(facts, 'nodes.schedulable').status, 'pass')
    })

    it('does not count a PreferNoSchedule control-plane taint as excluding', () => {
      const facts = fixtureFacts('eks')
      facts.nodes[0]?.taints.push({key: 'node-role.kubernetes.io/control-plane', effect: 'PreferNoSchedule'})
      assert.equal(check(facts, 'nodes.schedulable').status, 'pass')
    })
  })

  describe('cpu.total', () => {
    const cpu = (alloc: string, cap: string, count: number) =>
      eksWith((n) => {
        n.allocatable.cpu = alloc
        n.capacity.cpu = cap
      }, count)

    it('fails below 8 cores, warns from 8 to below 16, passes at 16', () => {
      assert.equal(check(cpu('1930m', '2', 3), 'cpu.total').status, 'fail') // 6
      assert.equal(check(cpu('1930m', '2', 4), 'cpu.total').status, 'warn') // 8
      assert.equal(check(cpu('3', '3', 5), 'cpu.total').status, 'warn') // 15
      assert.equal(check(cpu('3920m', '4', 4), 'cpu.total').status, 'pass') // 16
    })

    it('counts a 4-vCPU node that allocates 3920m (or 3860m) as 4 whole cores, never more than capacity', () => {
      const r = check(cpu('3860m', '4', 4), 'cpu.total')
      assert.equal(r.status, 'pass')
      assert.match(r.observed, /^16 cores \(15\.44 allocatable/)
      assert.equal(check(cpu('3', '2', 4), 'cpu.total').status, 'warn') // capacity caps at 2 each: 8
    })

    it('reads millicores, plain and fractional forms alike', () => {
      assert.equal(check(cpu('4000m', '4', 2), 'cpu.total').status, 'warn')
      assert.equal(check(cpu('3.5', '4', 2), 'cpu.total').status, 'warn')
      assert.equal(check(cpu('3500m', '3500m', 2), 'cpu.total').status, 'fail') // 3 whole cores each
    })
  })

  describe('memory.per-node', () => {
    const mem = (capacity: string, allocatable = capacity) =>
      eksWith((n, i) => {
        if (i === 2) {
          n.capacity.memory = capacity
          n.allocatable.memory = allocatable
        }
      })

    it('passes a 16 GB machine that reports about 15.6 GiB', () => {
      const r = check(mem('16393356Ki', '13594252Ki'), 'memory.per-node')
      assert.equal(r.status, 'pass')
      assert.equal(check(mem('15.6Gi', '13Gi'), 'memory.per-node').status, 'pass')
    })

    it('compares in decimal bytes: 16G passes, one byte less fails', () => {
      assert.equal(check(mem('16G'), 'memory.per-node').status, 'pass')
      assert.equal(check(mem('16000000000'), 'memory.per-node').status, 'pass')
      assert.equal(check(mem('15625000Ki'), 'memory.per-node').status, 'pass') // exactly 16e9
      const r = check(mem('15999999999'), 'memory.per-node')
      assert.equal(r.status, 'fail')
      assert.match(r.details?.[0] ?? '', /ip-192-168-74-118\.ec2\.internal/)
    })

    it('fails 15.5Gi (16.64 GB is fine) vs 14.9Gi (15.99 GB is not)', () => {
      assert.equal(check(mem('15.5Gi'), 'memory.per-node').status, 'pass')
      assert.equal(check(mem('14.9Gi'), 'memory.per-node').status, 'fail')
    })

    it('uses capacity, not allocatable (reservations vary by platform)', () => {
      assert.equal(check(mem('16G', '12G'), 'memory.per-node').status, 'pass')
    })

    it('fails when there is no worker at all', () => {
      const facts = eksWith((n) => {
        n.unschedulable = true
      })
      assert.equal(check(facts, 'memory.per-node').status, 'fail')
    })
  })

  describe('storage.ephemeral-per-node and storage.total', () => {
    const disk = (capacity: string, count = 4) =>
      eksWith((n) => {
        n.capacity['ephemeral-storage'] = capacity
      }, count)

    it('per node: 50G passes, 49999999999 fails', () => {
      assert.equal(check(disk('50G'), 'storage.ephemeral-per-node').status, 'pass')
      assert.equal(check(disk('48828125Ki'), 'storage.ephemeral-per-node').status, 'pass')
      assert.equal(check(disk('49999999999'), 'storage.ephemeral-per-node').status, 'fail')
    })

    it('total: warns below 625G, passes at it', () => {
      assert.equal(check(disk('156250000000'), 'storage.total').status, 'pass')
      const r = check(disk('156249999999'), 'storage.total')
      assert.equal(r.status, 'warn')
      assert.equal(r.severity, 'warn')
    })
  })

  describe('version.kubernetes', () => {
    const at = (gitVersion: string) => fixtureFacts('eks', {server: {gitVersion}})
    it('fails below 1.29, warns below 1.31, passes at 1.31', () => {
      assert.equal(check(at('v1.28.15-eks-8f64a52'), 'version.kubernetes').status, 'fail')
      assert.equal(check(at('v1.29.0-eks-1'), 'version.kubernetes').status, 'warn')
      assert.equal(check(at('v1.30.5-gke.1014001'), 'version.kubernetes').status, 'warn')
      assert.equal(check(at('v1.31.0+k3s1'), 'version.kubernetes').status, 'pass')
      assert.equal(check(at('v1.32.1'), 'version.kubernetes').status, 'pass')
    })

    it('falls back to the oldest kubelet when /version is not in the facts', () => {
      const facts = fixtureFacts('gke')
      delete facts.server
      facts.nodes[1]!.nodeInfo.kubeletVersion = 'v1.28.9-gke.1000000'
      const r = check(facts, 'version.kubernetes')
      assert.equal(r.status, 'fail')
      assert.match(r.observed, /kubelet/)
    })
  })

  describe('version.openshift', () => {
    it('fails below 4.17, warns below 4.18, passes at 4.18', () => {
      assert.equal(check(fixtureFacts('openshift-4.18', {openshift: {version: '4.16.30'}}), 'version.openshift').status, 'fail')
      assert.equal(check(fixtureFacts('openshift-4.18', {openshift: {version: '4.17.0'}}), 'version.openshift').status, 'warn')
      assert.equal(check(fixtureFacts('openshift-4.18', {openshift: {version: '4.18.0'}}), 'version.openshift').status, 'pass')
    })

    it('is skipped on other platforms', () => {
      assert.equal(check(fixtureFacts('eks'), 'version.openshift').status, 'skip')
    })
  })

  describe('runtime.container', () => {
    it('accepts containerd on Kubernetes and CRI-O on OpenShift only', () => {
      assert.equal(check(fixtureFacts('eks'), 'runtime.container').status, 'pass')
      assert.equal(check(fixtureFacts('openshift-4.18'), 'runtime.container').status, 'pass')
      const facts = fixtureFacts('rke2')
      facts.nodes[2]!.nodeInfo.containerRuntimeVersion = 'cri-o://1.30.4'
      const r = check(facts, 'runtime.container')
      assert.equal(r.status, 'fail')
      assert.deepEqual(r.details, ['rke2-agent-1: cri-o'])
    })

    it('fails docker', () => {
      const facts = fixtureFacts('kind')
      facts.nodes[1]!.nodeInfo.containerRuntimeVersion = 'docker://24.0.7'
      assert.equal(check(facts, 'runtime.container').status, 'fail')
    })
  })

  describe('version.kubectl', () => {
    it('fails below 1.31, passes at 1.31, cannot be checked when kubectl is not on PATH', () => {
      assert.equal(check(fixtureFacts('kind', {kubectl: {gitVersion: 'v1.30.9'}}), 'version.kubectl').status, 'fail')
      assert.equal(check(fixtureFacts('kind', {kubectl: {gitVersion: 'v1.31.0'}}), 'version.kubectl').status, 'pass')
      assert.equal(check(fixtureFacts('kind', {kubectl: null}), 'version.kubectl').status, 'unchecked')
    })
  })

  describe('namespace.install', () => {
    it('passes absent or empty, fails with pods, cannot be checked when pods are unknown', () => {
      const facts = fixtureFacts('k3s')
      assert.equal(check(facts, 'namespace.install').status, 'pass')
      facts.namespaces.push({name: 'wallaroo', labels: {}})
      assert.equal(check(facts, 'namespace.install').status, 'pass')
      facts.podsPerNamespace = {...facts.podsPerNamespace, wallaroo: 1}
      assert.equal(check(facts, 'namespace.install').status, 'fail')
      delete facts.podsPerNamespace
      assert.equal(check(facts, 'namespace.install').status, 'unchecked')
    })
  })

  describe('storage.class', () => {
    it('passes with one default class, fails with none, warns with two', () => {
      const facts = fixtureFacts('aks')
      assert.equal(check(facts, 'storage.class').status, 'pass')
      facts.storageClasses.forEach((c) => (c.isDefault = false))
      const r = check(facts, 'storage.class')
      assert.equal(r.status, 'fail')
      assert.match(r.hint ?? '', /is-default-class/)
      facts.storageClasses[0]!.isDefault = true
      facts.storageClasses[1]!.isDefault = true
      assert.equal(check(facts, 'storage.class').status, 'warn')
    })

    it('accepts wallaroo-standard only with WaitForFirstConsumer and volume expansion', () => {
      const facts = fixtureFacts('rke2')
      facts.storageClasses = [{name: 'wallaroo-standard', provisioner: 'driver.longhorn.io', isDefault: false, volumeBindingMode: 'WaitForFirstConsumer', allowVolumeExpansion: true}]
      assert.equal(check(facts, 'storage.class').status, 'pass')
      facts.storageClasses[0]!.allowVolumeExpansion = false
      assert.equal(check(facts, 'storage.class').status, 'fail')
      facts.storageClasses[0] = {name: 'wallaroo-standard', provisioner: 'driver.longhorn.io', isDefault: true, volumeBindingMode: 'Immediate', allowVolumeExpansion: true}
      assert.equal(check(facts, 'storage.class').status, 'fail')
    })
  })

  describe('node pools', () => {
    it('fails a labelled pool missing its taint, naming the node and the kubectl taint command', () => {
      const facts = fixtureFacts('rke2')
      assert.equal(check(facts, 'node-pool.persistent').status, 'pass')
      const agent = facts.nodes.find((n) => n.name === 'rke2-agent-2') as NodeFacts
      agent.labels['wallaroo.ai/node-purpose'] = 'pipelines'
      const r = check(facts, 'node-pool.pipelines')
      assert.equal(r.status, 'fail')
      assert.match(r.hint ?? '', /kubectl taint nodes rke2-agent-2 wallaroo\.ai\/pipelines=true:NoSchedule/)
      agent.taints.push({key: 'wallaroo.ai/pipelines', value: 'true', effect: 'NoSchedule'})
      assert.equal(check(facts, 'node-pool.pipelines').status, 'pass')
    })

    it('a taint with the wrong effect does not count', () => {
      const facts = fixtureFacts('rke2')
      const agent = facts.nodes.find((n) => n.name === 'rke2-agent-3') as NodeFacts
      agent.taints = [{key: 'wallaroo.ai/persistent', value: 'true', effect: 'PreferNoSchedule'}]
      assert.equal(check(facts, 'node-pool.persistent').status, 'fail')
    })

    it('warns on a tainted node nobody can target (label missing); the general pool needs no taint', () => {
      const facts = fixtureFacts('rke2')
      delete (facts.nodes.find((n) => n.name === 'rke2-agent-3') as NodeFacts).labels['wallaroo.ai/node-purpose']
      assert.equal(check(facts, 'node-pool.persistent').status, 'warn')
      facts.nodes[1]!.labels['wallaroo.ai/node-purpose'] = 'general'
      assert.equal(check(facts, 'node-pool.general').status, 'pass')
    })
  })

  describe('capacity.pods', () => {
    const pods = (perNode: string) =>
      eksWith((n) => {
        n.allocatable.pods = perNode
      })
    it('enterprise: 200 passes, 199 fails; community: 98', () => {
      assert.equal(check(pods('50'), 'capacity.pods').status, 'pass')
      const facts = pods('50')
      facts.nodes[0]!.allocatable.pods = '49'
      assert.equal(check(facts, 'capacity.pods').status, 'fail')
      assert.equal(check(pods('30'), 'capacity.pods').status, 'fail') // AKS with Azure CNI's default maxPods
      assert.equal(check(pods('30'), 'capacity.pods', {edition: 'community'}).status, 'pass')
      const low = pods('24')
      low.nodes[0]!.allocatable.pods = '25' // 97
      assert.equal(check(low, 'capacity.pods', {edition: 'community'}).status, 'fail')
    })

    it('skips an edition the profile does not know', () => {
      assert.equal(check(fixtureFacts('eks'), 'capacity.pods', {edition: 'platinum'}).status, 'unchecked')
    })
  })

  describe('rbac.installer', () => {
    it('fails naming each denied permission, cannot be checked without reviews', () => {
      const facts = fixtureFacts('kind')
      assert.equal(check(facts, 'rbac.installer').status, 'pass')
      facts.accessReviews = facts.accessReviews?.map((r) => (r.verb === 'escalate' ? {...r, allowed: false} : r))
      const r = check(facts, 'rbac.installer')
      assert.equal(r.status, 'fail')
      assert.deepEqual(r.details, ['escalate clusterroles.rbac.authorization.k8s.io'])
      delete facts.accessReviews
      const skipped = check(facts, 'rbac.installer')
      assert.equal(skipped.status, 'unchecked')
      assert.match(skipped.hint ?? '', /kubectl auth can-i create namespaces/)
    })
  })

  describe('tenancy.dedicated', () => {
    it('warns when other workloads run, ignoring system and platform namespaces', () => {
      const facts = fixtureFacts('openshift-4.18')
      assert.equal(check(facts, 'tenancy.dedicated').status, 'pass')
      facts.podsPerNamespace = {...facts.podsPerNamespace, wallaroo: 9, 'assay-7': 1, velero: 2, 'houseprice-28': 1}
      facts.namespaces.push({name: 'houseprice-28', labels: {'app.kubernetes.io/part-of': 'wallaroo'}})
      assert.equal(check(facts, 'tenancy.dedicated').status, 'pass')
      facts.podsPerNamespace = {...facts.podsPerNamespace, payments: 3, default: 1}
      const r = check(facts, 'tenancy.dedicated')
      assert.equal(r.status, 'warn')
      assert.equal(r.severity, 'warn')
      assert.match(r.observed, /default \(1\), payments \(3\)/)
    })

    it('judges by namespaces alone when pods are not in the facts', () => {
      const facts = fixtureFacts('kind')
      delete facts.podsPerNamespace
      assert.equal(check(facts, 'tenancy.dedicated').status, 'pass')
      facts.namespaces.push({name: 'team-a', labels: {}})
      assert.equal(check(facts, 'tenancy.dedicated').status, 'warn')
    })
  })

  describe('services.cores', () => {
    type KotsSection = NonNullable<RequirementProfile['kots']>
    const withKots = (services: {service: string; item: string; type?: 'bool' | 'select'; on?: string; off?: string}[]): RequirementProfile => ({
      ...profile,
      kots: {...(profile.kots as KotsSection), services: services.map((x) => ({type: 'bool' as const, verified: false, verifiedValues: [], ...x}))},
    })
    const values = (v: Record<string, string>): ConfigValues => ({source: 'config-values.yaml', items: new Map(Object.entries(v).map(([k, value]) => [k, {value, secret: false}]))})
    /** four 2-vCPU nodes allocating 1930m each: the 8-core tier */
    const eightCores = () =>
      eksWith((n) => {
        n.allocatable.cpu = '1930m'
        n.capacity.cpu = '2'
      })

    it('fails a service switched on that the cores cannot carry, naming it', () => {
      const p = withKots([
        {service: 'plateau', item: 'enable_plateau'},
        {service: 'inference', item: 'enable_inference'},
        {service: 'alerting', item: 'enable_alerting'},
      ])
      const facts = eightCores()
      const r = check(facts, 'services.cores', {profile: p, configValues: values({enable_plateau: '1', enable_inference: '1', enable_alerting: '0'})})
      assert.equal(r.status, 'fail')
      assert.match(r.observed, /Plateau/)
      assert.doesNotMatch(r.observed, /Alerting|Inference/)
      assert.equal(check(facts, 'services.cores', {profile: p, configValues: values({enable_plateau: '0', enable_inference: '1', enable_alerting: '0'})}).status, 'pass')
    })

    it('a toggle the ConfigValues leave out (KOTS then uses the app\'s default) or a select value neither on nor off: undecided when the service would not fit', () => {
      const p = withKots([
        {service: 'plateau', item: 'enable_plateau'},
        {service: 'alerting', item: 'enable_alerting'},
        {service: 'jupyter-multi', item: 'jupyter_mode', type: 'select', on: 'multiple', off: 'single'},
      ])
      const facts = eightCores()
      const r = check(facts, 'services.cores', {profile: p, configValues: values({enable_plateau: '0', enable_alerting: '', jupyter_mode: 'hub'})})
      assert.equal(r.status, 'unchecked')
      assert.match(r.observed, /2 that would not fit 8 cores have no known state: JupyterHub, multiple labs, Alerting/)
      assert.deepEqual(r.details, ['JupyterHub, multiple labs (needs 16 cores): jupyter_mode=hub is neither on nor off in the profile', 'Alerting (needs 16 cores): enable_alerting not set (KOTS uses the application\'s default)'])
      assert.match(r.hint ?? '', /set jupyter_mode, enable_alerting explicitly/)
      // at 16 cores every service fits, whatever its state
      assert.equal(check(fixtureFacts('eks'), 'services.cores', {profile: p, configValues: values({})}).status, 'pass')
      // a service switched on that does not fit still fails first
      assert.equal(check(facts, 'services.cores', {profile: p, configValues: values({enable_plateau: '1'})}).status, 'fail')
    })

    it('passes the same config at 16 cores', () => {
      const p = withKots([{service: 'plateau', item: 'enable_plateau'}])
      assert.equal(check(fixtureFacts('eks'), 'services.cores', {profile: p, configValues: values({enable_plateau: '1'})}).status, 'pass')
    })

    it('reads select items by their on value (jupyter_mode: multiple needs 16 cores)', () => {
      const p = withKots([{service: 'jupyter-multi', item: 'jupyter_mode', type: 'select', on: 'multiple', off: 'single'}])
      const small = eksWith((n) => {
        n.allocatable.cpu = '2'
        n.capacity.cpu = '2'
      })
      assert.equal(check(small, 'services.cores', {profile: p, configValues: values({jupyter_mode: 'single'})}).status, 'pass')
      const r = check(small, 'services.cores', {profile: p, configValues: values({jupyter_mode: 'multiple'})})
      assert.equal(r.status, 'fail')
      assert.match(r.observed, /JupyterHub, multiple labs/)
    })

    it('the shipped profile maps plateau, so a plateau switched on at 8 cores fails', () => {
      const small = eksWith((n) => {
        n.allocatable.cpu = '2'
        n.capacity.cpu = '2'
      })
      assert.equal(check(small, 'services.cores', {configValues: values({enable_plateau: '1'})}).status, 'fail')
    })

    it('says it could not be checked when the profile maps no services to KOTS items', () => {
      const r = check(fixtureFacts('eks'), 'services.cores', {profile: {...profile, kots: undefined}, configValues: values({enable_plateau: '1'})})
      assert.equal(r.status, 'unchecked')
    })
  })

  it('every check carries id, severity, observed, expected, and a hint whenever it does not pass', () => {
    const facts = eksWith(() => {}, 2)
    facts.storageClasses = []
    facts.server = {gitVersion: 'v1.27.1'}
    for (const c of run(facts)) {
      assert.ok(c.id && c.observed && c.expected && (c.severity === 'fail' || c.severity === 'warn'), c.id)
      if (c.status === 'fail' || c.status === 'warn' || c.status === 'unchecked') assert.ok(c.hint, `${c.id} has no hint`)
    }
  })
})
