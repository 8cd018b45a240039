import {strict as assert} from 'node:assert'

import {runChecks, type CheckResult} from '../../src/cluster/checks.js'
import {detectDistribution} from '../../src/cluster/distribution.js'
import type {DnsFacts} from '../../src/cluster/dns.js'
import type {ClusterFacts, NodeFacts} from '../../src/cluster/facts.js'
import {reportFor} from '../../src/cluster/index.js'
import {renderTable} from '../../src/cluster/report.js'
import type {ConfigValues} from '../../src/kots/index.js'
import {loadProfile, type LoadedProfile} from '../../src/profile/index.js'
import {fixtureFacts} from './fixture-facts.js'

/**
 * Verdicts on clusters shaped like real captured ones: k3s/RKE2 servers tainted CriticalAddonsOnly,
 * OpenShift infra nodes, RHCOS osImages, node quantities just below a minimum.
 */
let loaded: LoadedProfile

const values = (v: Record<string, string>): ConfigValues => ({source: 'config-values.yaml', items: new Map(Object.entries(v).map(([k, value]) => [k, {value, secret: false}]))})

function run(facts: ClusterFacts, options: {edition?: string; configValues?: ConfigValues; dns?: DnsFacts} = {}): CheckResult[] {
  return runChecks(facts, loaded.profile, {edition: options.edition ?? 'enterprise', distribution: detectDistribution(facts), ...options})
}

function check(facts: ClusterFacts, id: string, options: Parameters<typeof run>[1] = {}): CheckResult {
  const found = run(facts, options).find((c) => c.id === id)
  assert.ok(found, `no check ${id}`)
  return found
}

function node(facts: ClusterFacts, name: string): NodeFacts {
  const n = facts.nodes.find((x) => x.name === name)
  assert.ok(n, name)
  return n
}

describe('cluster verdicts that match real clusters', () => {
  before(async () => {
    loaded = await loadProfile('wallaroo-2025.1')
  })

  describe('only nodes the platform can schedule on count', () => {
    it('a k3s server tainted CriticalAddonsOnly=true:NoExecute is excluded from nodes, cores and pods, named with its taint', () => {
      const facts = fixtureFacts('k3s')
      const before = check(facts, 'cpu.total').observed
      node(facts, 'k3s-server-1').taints.push({key: 'CriticalAddonsOnly', value: 'true', effect: 'NoExecute'})
      const nodes = check(facts, 'nodes.schedulable')
      assert.match(nodes.details?.join('\n') ?? '', /k3s-server-1: .*CriticalAddonsOnly=true:NoExecute/)
      assert.notEqual(check(facts, 'cpu.total').observed, before, 'its cores no longer count')
      const report = reportFor(facts, loaded, 'enterprise')
      assert.ok(report.nodes.excluded.some((r) => r.name === 'k3s-server-1'))
    })

    it('an OpenShift infra node and a foreign team\'s taint exclude; PreferNoSchedule and the profile\'s pool taints count', () => {
      const facts = fixtureFacts('eks')
      const [a, b, c, d] = facts.nodes as [NodeFacts, NodeFacts, NodeFacts, NodeFacts]
      a.taints.push({key: 'node-role.kubernetes.io/infra', value: 'reserved', effect: 'NoSchedule'})
      b.taints.push({key: 'team.example.com/gpu', value: 'true', effect: 'NoSchedule'})
      c.taints.push({key: 'team.example.com/soft', value: 'true', effect: 'PreferNoSchedule'})
      d.taints.push({key: 'wallaroo.ai/pipelines', value: 'true', effect: 'NoSchedule'})
      d.labels['wallaroo.ai/node-purpose'] = 'pipelines'
      const r = check(facts, 'nodes.schedulable')
      assert.equal(r.status, 'fail')
      assert.match(r.observed, /^2 of 4/)
      assert.deepEqual(
        r.details?.map((x) => x.split(':')[0]),
        [a.name, b.name],
      )
      assert.match(r.details?.join('\n') ?? '', /infra node \(taint node-role\.kubernetes\.io\/infra=reserved:NoSchedule/)
      assert.match(r.details?.join('\n') ?? '', /team\.example\.com\/gpu=true:NoSchedule/)
      // the pool taint with another value is someone else's taint
      d.taints[0] = {key: 'wallaroo.ai/pipelines', value: 'gpu', effect: 'NoSchedule'}
      assert.match(check(facts, 'nodes.schedulable').observed, /^1 of 4/)
    })

    it('the services-by-cores tier counts only schedulable nodes', () => {
      const facts = fixtureFacts('eks') // 4 x 4 cores: the 16-core tier
      const on = values({enable_plateau: '1'})
      assert.equal(check(facts, 'services.cores', {configValues: on}).status, 'pass')
      facts.nodes[0]?.taints.push({key: 'dedicated', value: 'batch', effect: 'NoExecute'})
      const r = check(facts, 'services.cores', {configValues: on})
      assert.equal(r.status, 'fail')
      assert.match(r.observed, /Plateau \(needs 16\)/)
    })
  })

  describe('messages agree with their verdict', () => {
    it('a node just below 16 GB never reads "16 GB | >= 16 GB"', () => {
      const facts = fixtureFacts('eks')
      for (const n of facts.nodes) n.capacity.memory = '15999999999'
      const r = check(facts, 'memory.per-node')
      assert.equal(r.status, 'fail')
      assert.match(r.expected, /^>= 16 GB/)
      assert.doesNotMatch(r.observed, /: 16 GB/)
      assert.match(r.observed, /15\.999999999 GB/)
      for (const n of facts.nodes) n.capacity.memory = '16393356Ki' // 16.79 GB: a "16 GB" machine
      assert.match(check(facts, 'memory.per-node').observed, /16\.79 GB/)
    })
  })

  describe('OpenShift version', () => {
    const ocp = (version?: string, osImage?: string, kubelet?: string) => {
      const facts = fixtureFacts('openshift-4.18')
      if (version) facts.openshift = {version}
      else delete facts.openshift
      for (const n of facts.nodes) {
        if (osImage !== undefined) n.nodeInfo.osImage = osImage
        if (kubelet !== undefined) n.nodeInfo.kubeletVersion = kubelet
      }
      return check(facts, 'version.openshift')
    }

    it('4.16 fails the 4.17 minimum read from the ClusterVersion, from RHCOS, or from the kubelet', () => {
      assert.equal(ocp('4.16.30').status, 'fail')
      const rhcos = ocp(undefined, 'Red Hat Enterprise Linux CoreOS 416.94.202406251923-0 (Ootpa)')
      assert.equal(rhcos.status, 'fail')
      assert.match(rhcos.observed, /^4\.16 \(inferred from node .* osImage/)
      const kubelet = ocp(undefined, 'Red Hat Enterprise Linux 9', 'v1.29.8+632b078')
      assert.equal(kubelet.status, 'fail')
      assert.match(kubelet.observed, /inferred from node .* kubelet 1\.29/)
    })

    it('an inferred 4.18 passes and says how to confirm it; old RHCOS names (47.83) read as 4.7', () => {
      const r = ocp(undefined, 'Red Hat Enterprise Linux CoreOS 418.94.202502041445-0')
      assert.equal(r.status, 'pass')
      assert.match(r.details?.join() ?? '', /oc get clusterversion/)
      assert.match(ocp(undefined, 'Red Hat Enterprise Linux CoreOS 47.83.202103191543-0 (Ootpa)').observed, /^4\.7 /)
    })
  })

  describe('every prerequisite is checked, or said to be uncheckable', () => {
    const dns = (ok: boolean): DnsFacts => ({
      domain: 'wallaroo.example.com',
      via: 'test',
      answers: [
        {name: 'wallaroo.example.com', addresses: ['10.0.0.5']},
        ok ? {name: 'airlock-probe.wallaroo.example.com', addresses: ['10.0.0.5']} : {name: 'airlock-probe.wallaroo.example.com', addresses: [], error: 'no such name'},
      ],
    })
    const domain = values({wallaroo_domain: 'wallaroo.example.com'})

    it('DNS: enterprise needs the domain and a name under it; community needs none; without answers it is unchecked', () => {
      assert.equal(check(fixtureFacts('eks'), 'dns.platform', {configValues: domain, dns: dns(true)}).status, 'pass')
      const bad = check(fixtureFacts('eks'), 'dns.platform', {configValues: domain, dns: dns(false)})
      assert.equal(bad.status, 'fail')
      assert.match(bad.observed, /airlock-probe\.wallaroo\.example\.com: no such name/)
      assert.match(bad.hint ?? '', /\*\.wallaroo\.example\.com/)
      assert.equal(check(fixtureFacts('eks'), 'dns.platform', {configValues: domain}).status, 'unchecked')
      assert.equal(check(fixtureFacts('eks'), 'dns.platform').status, 'unchecked')
      assert.equal(check(fixtureFacts('eks'), 'dns.platform', {edition: 'community'}).status, 'skip')
    })

    it('--domain alone names the domain to resolve; it is not a ConfigValues file, so no services are judged', () => {
      const report = reportFor(fixtureFacts('eks'), loaded, 'enterprise', undefined, dns(true), 'wallaroo.example.com')
      assert.equal(report.checks.find((c) => c.id === 'dns.platform')?.status, 'pass')
      assert.equal(report.checks.find((c) => c.id === 'services.cores'), undefined)
      const over = reportFor(fixtureFacts('eks'), loaded, 'enterprise', domain, dns(false), 'other.example.com')
      assert.match(over.checks.find((c) => c.id === 'dns.platform')?.hint ?? '', /other\.example\.com/, '--domain wins over the ConfigValues')
    })

    it('storage: 50G more for every lab node past the first, from the ConfigValues', () => {
      const facts = fixtureFacts('eks')
      for (const n of facts.nodes) n.capacity['ephemeral-storage'] = '160G' // 640 GB in all
      assert.equal(check(facts, 'storage.total', {configValues: values({lab_nodes: '1'})}).status, 'pass')
      const r = check(facts, 'storage.total', {configValues: values({lab_nodes: '3'})})
      assert.equal(r.status, 'warn')
      assert.match(r.expected, /725 GB/)
      assert.match(r.expected, /lab_nodes=3/)
    })

    it('LoadBalancer: proven by a Service with an address, disproven by one waiting, found through MetalLB or a cloud, else unchecked', () => {
      const kind = fixtureFacts('kind', {loadBalancerServices: [], daemonSets: []})
      const lb = (facts: ClusterFacts, options: Parameters<typeof run>[1] = {}) => check(facts, 'network.load-balancer', options)
      const undecided = lb(kind)
      assert.equal(undecided.status, 'unchecked')
      assert.match(undecided.expected, /enterprise default internal/)
      assert.match(undecided.hint ?? '', /MetalLB/)
      kind.loadBalancerServices = [{namespace: 'demo', name: 'web', addresses: 0}]
      assert.equal(lb(kind).status, 'fail')
      kind.namespaces.push({name: 'metallb-system', labels: {}})
      assert.equal(lb(kind).status, 'warn', 'MetalLB is there but gives no address')
      kind.loadBalancerServices = [{namespace: 'demo', name: 'web', addresses: 1}]
      assert.equal(lb(kind).status, 'pass')
      assert.equal(lb(fixtureFacts('gke', {loadBalancerServices: []})).status, 'pass')
      assert.match(lb(fixtureFacts('gke', {loadBalancerServices: []})).observed, /Google Cloud/)
      assert.equal(lb(fixtureFacts('kind'), {configValues: values({ingress_mode: 'none'})}).status, 'skip')
    })

    it('DaemonSets not ready on every node and upgrade plans in node labels warn', () => {
      const facts = fixtureFacts('rke2', {daemonSets: [{namespace: 'kube-system', name: 'rke2-canal', desired: 5, ready: 4}]})
      const ds = check(facts, 'nodes.daemonsets')
      assert.equal(ds.status, 'warn')
      assert.deepEqual(ds.details, ['kube-system/rke2-canal: 4 of 5 ready'])
      const first = facts.nodes[0] as NodeFacts
      first.labels['plan.upgrade.cattle.io/server-plan'] = 'a1b2c3'
      const up = check(facts, 'nodes.auto-upgrade')
      assert.equal(up.status, 'warn')
      assert.match(up.details?.join() ?? '', /system-upgrade-controller/)
      assert.equal(check(fixtureFacts('gke'), 'nodes.auto-upgrade').status, 'unchecked')
      assert.equal(check(fixtureFacts('kind', {daemonSets: undefined}), 'nodes.daemonsets').status, 'unchecked')
    })
  })

  describe('no silent pass', () => {
    it('an undecided fail-severity check makes the report incomplete, and the table shows its hint', () => {
      const facts = fixtureFacts('eks')
      delete facts.accessReviews
      const report = reportFor(facts, loaded, 'enterprise', values({wallaroo_domain: 'wallaroo.example.com'}))
      assert.equal(report.ok, false)
      assert.equal(report.verdict, 'incomplete')
      assert.equal(report.summary.fail, 0)
      const table = renderTable(report)
      assert.match(table, /^UNCHECKED\s+rbac\.installer/m)
      assert.match(table, /UNCHECKED rbac\.installer: as the installer, run: kubectl auth can-i/)
      assert.match(table, /^INCOMPLETE/m)
    })
  })
})
