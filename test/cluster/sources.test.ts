import {strict as assert} from 'node:assert'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import type {ClusterFacts} from '../../src/cluster/facts.js'
import {reportFor, type ClusterReport} from '../../src/cluster/index.js'
import {gatherLiveFacts} from '../../src/cluster/live.js'
import {readFactsFile, writeSnapshot} from '../../src/cluster/snapshot.js'
import type {ConfigValues} from '../../src/kots/index.js'
import {loadProfile, type LoadedProfile} from '../../src/profile/index.js'
import {makeTempDir} from '../support/cli.js'
import {fakeKubectl, makePki, startKubeApi, writeKubeconfig, type ClusterFixture, type KubeApi} from '../support/kube-api.js'

/**
 * One cluster holding a node of every awkward shape real clusters have, built in code: Ki/Mi/m
 * quantities, control planes of both generations, a k3s server tainted CriticalAddonsOnly, an
 * OpenShift infra node, a GPU node, an untainted Windows node, virtual-kubelet and Fargate nodes,
 * a cordoned node, an unreachable one, an untainted arm64 node (the profile's images are amd64
 * only), a node of the profile's pipelines pool.
 * Read live (through the HTTPS API fake), from a snapshot, and from two kinds of kubectl dump, the
 * verdicts must be the same.
 */
type Taint = {key: string; value?: string; effect: string}

interface NodeShape {
  name: string
  labels?: Record<string, string>
  taints?: Taint[]
  unschedulable?: boolean
  ready?: 'True' | 'False' | 'Unknown'
  cpu?: [string, string]
  memory?: [string, string]
  storage?: [string, string]
  pods?: string
  os?: string
  arch?: string
  kubelet?: string
  runtime?: string
}

function node(s: NodeShape): Record<string, unknown> {
  const os = s.os ?? 'linux'
  const arch = s.arch ?? 'amd64'
  const [cpuCap, cpuAlloc] = s.cpu ?? ['4', '3920m']
  const [memCap, memAlloc] = s.memory ?? ['16393356Ki', '15242380Ki']
  const [diskCap, diskAlloc] = s.storage ?? ['209702892Ki', '193255371054']
  const pods = s.pods ?? '110'
  const ready = s.ready ?? 'True'
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: s.name,
      creationTimestamp: '2025-01-14T09:12:44Z',
      labels: {'kubernetes.io/arch': arch, 'kubernetes.io/os': os, 'beta.kubernetes.io/os': os, 'kubernetes.io/hostname': s.name, ...s.labels},
      annotations: {'node.alpha.kubernetes.io/ttl': '0'},
    },
    spec: {...(s.taints ? {taints: s.taints.map((t) => ({...t, ...(t.effect === 'NoExecute' ? {timeAdded: '2025-02-03T10:40:00Z'} : {})}))} : {}), ...(s.unschedulable ? {unschedulable: true} : {})},
    status: {
      capacity: {cpu: cpuCap, 'ephemeral-storage': diskCap, 'hugepages-2Mi': '0', memory: memCap, pods},
      allocatable: {cpu: cpuAlloc, 'ephemeral-storage': diskAlloc, 'hugepages-2Mi': '0', memory: memAlloc, pods},
      conditions: [
        {type: 'MemoryPressure', status: ready === 'Unknown' ? 'Unknown' : 'False', reason: ready === 'Unknown' ? 'NodeStatusUnknown' : 'KubeletHasSufficientMemory', lastHeartbeatTime: '2025-02-03T10:41:02Z', lastTransitionTime: '2025-01-14T09:12:44Z'},
        {type: 'Ready', status: ready, reason: ready === 'True' ? 'KubeletReady' : ready === 'Unknown' ? 'NodeStatusUnknown' : 'KubeletNotReady', lastHeartbeatTime: '2025-02-03T10:41:02Z', lastTransitionTime: '2025-01-14T09:12:44Z'},
      ],
      nodeInfo: {
        architecture: arch,
        operatingSystem: os,
        osImage: os === 'windows' ? 'Windows Server 2022 Datacenter' : 'Ubuntu 22.04.5 LTS',
        kernelVersion: os === 'windows' ? '10.0.20348.2966' : '6.8.0-1021-aws',
        kubeletVersion: s.kubelet ?? 'v1.31.4',
        kubeProxyVersion: '',
        containerRuntimeVersion: s.runtime ?? 'containerd://1.7.24',
        machineID: '',
        systemUUID: '',
        bootID: '',
      },
    },
  }
}

const NODES: NodeShape[] = [
  {name: 'worker-1'},
  {name: 'worker-2', cpu: ['4', '3860m'], memory: ['16384Mi', '14Gi']},
  {name: 'worker-3', arch: 'arm64', cpu: ['4', '4']},
  {name: 'pipelines-1', labels: {'wallaroo.ai/node-purpose': 'pipelines'}, taints: [{key: 'wallaroo.ai/pipelines', value: 'true', effect: 'NoSchedule'}]},
  {name: 'soft-1', taints: [{key: 'team.example.com/batch', value: 'true', effect: 'PreferNoSchedule'}]},
  {name: 'cp-old', labels: {'node-role.kubernetes.io/master': ''}, taints: [{key: 'node-role.kubernetes.io/master', effect: 'NoSchedule'}]},
  {name: 'cp-new', labels: {'node-role.kubernetes.io/control-plane': ''}, taints: [{key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule'}]},
  {name: 'k3s-server', labels: {'node-role.kubernetes.io/control-plane': 'true'}, taints: [{key: 'CriticalAddonsOnly', value: 'true', effect: 'NoExecute'}], kubelet: 'v1.31.4+k3s1', runtime: 'containerd://1.7.23-k3s2'},
  {name: 'infra-1', labels: {'node-role.kubernetes.io/infra': ''}, taints: [{key: 'node-role.kubernetes.io/infra', value: 'reserved', effect: 'NoSchedule'}]},
  {name: 'gpu-1', cpu: ['8', '7910m'], taints: [{key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule'}]},
  {name: 'aksnpwin000000', os: 'windows', cpu: ['8', '7820m'], runtime: 'containerd://1.7.20+azure'},
  // virtual-kubelet reports no container runtime at all
  {name: 'virtual-node-aci-linux', labels: {type: 'virtual-kubelet', 'kubernetes.io/role': 'agent'}, taints: [{key: 'virtual-kubelet.io/provider', value: 'azure', effect: 'NoSchedule'}], cpu: ['10k', '10k'], memory: ['4Ti', '4Ti'], pods: '5k', runtime: '', kubelet: 'v1.19.10-vk-azure-aci-1.4.1'},
  {name: 'fargate-ip-10-0-1-5.ec2.internal', labels: {'eks.amazonaws.com/compute-type': 'fargate'}, cpu: ['2', '2'], runtime: 'containerd://1.7.24'},
  {name: 'cordoned-1', unschedulable: true, taints: [{key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule'}]},
  {
    name: 'gone-1',
    ready: 'Unknown',
    taints: [
      {key: 'node.kubernetes.io/unreachable', effect: 'NoExecute'},
      {key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule'},
    ],
  },
]

const WORKERS = ['worker-1', 'worker-2', 'pipelines-1', 'soft-1']

function fixture(): ClusterFixture {
  return {
    version: {major: '1', minor: '31', gitVersion: 'v1.31.4', platform: 'linux/amd64'},
    apiGroups: ['apps', 'storage.k8s.io', 'rbac.authorization.k8s.io'],
    nodes: {apiVersion: 'v1', kind: 'NodeList', metadata: {resourceVersion: '1'}, items: NODES.map(node)},
    namespaces: {apiVersion: 'v1', kind: 'NamespaceList', items: ['default', 'kube-system'].map((name) => ({apiVersion: 'v1', kind: 'Namespace', metadata: {name, labels: {'kubernetes.io/metadata.name': name}}, status: {phase: 'Active'}}))},
    storageclasses: {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClassList',
      items: [{apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: {name: 'standard', annotations: {'storageclass.kubernetes.io/is-default-class': 'true'}}, provisioner: 'ebs.csi.aws.com', volumeBindingMode: 'WaitForFirstConsumer', allowVolumeExpansion: true}],
    },
    pods: {apiVersion: 'v1', kind: 'PodList', items: [{apiVersion: 'v1', kind: 'Pod', metadata: {name: 'coredns-1', namespace: 'kube-system'}, status: {phase: 'Running'}}]},
  }
}

/** Checks whose verdict depends only on the nodes: every source must agree on them exactly. */
const NODE_CHECKS = ['nodes.schedulable', 'cpu.total', 'memory.per-node', 'storage.ephemeral-per-node', 'storage.total', 'capacity.pods', 'runtime.container', 'services.cores', 'node-pool.pipelines', 'version.openshift']

function verdicts(report: ClusterReport): Record<string, string> {
  return Object.fromEntries(report.checks.filter((c) => NODE_CHECKS.includes(c.id)).map((c) => [c.id, `${c.status}: ${c.observed}${c.details ? ` [${c.details.join('; ')}]` : ''}`]))
}

describe('cluster verdicts: every node shape, the same from a live API, a snapshot and a dump', () => {
  let loaded: LoadedProfile
  let dir: string
  let api: KubeApi | undefined
  const plateauOn: ConfigValues = {source: 'config-values.yaml', items: new Map([['enable_plateau', {value: '1', secret: false}]])}

  before(async () => {
    loaded = await loadProfile('wallaroo-2025.1')
    dir = await makeTempDir()
  })
  after(async () => {
    await api?.close()
  })

  async function sources(): Promise<Record<string, ClusterFacts>> {
    const f = fixture()
    const pki = makePki()
    api = await startKubeApi(f, {pki, token: 'token-7f3a9c'})
    const kubeconfig = await writeKubeconfig(join(dir, 'kubeconfig'), {server: api.url, caPem: pki.caPem, token: 'token-7f3a9c'})
    const live = await gatherLiveFacts(loaded.profile, {kubeconfig, env: {PATH: await fakeKubectl(dir, 'v1.31.4')}})
    await writeSnapshot(live, join(dir, 'snapshot.json'))
    // `kubectl get nodes,namespaces,storageclasses,pods -A -o json`: a List whose items carry their kind
    await writeFile(join(dir, 'dump.json'), JSON.stringify({apiVersion: 'v1', kind: 'List', items: [...f.nodes.items, ...f.namespaces.items, ...f.storageclasses.items, ...f.pods.items]}))
    // `kubectl get --raw /api/v1/nodes` or a support bundle's nodes.json: a NodeList whose items carry no kind
    await writeFile(join(dir, 'nodelist.json'), JSON.stringify({kind: 'NodeList', apiVersion: 'v1', metadata: {resourceVersion: '1'}, items: f.nodes.items.map(({kind: _k, apiVersion: _a, ...rest}) => rest)}))
    return {
      live,
      snapshot: await readFactsFile(join(dir, 'snapshot.json')),
      dump: await readFactsFile(join(dir, 'dump.json')),
      nodelist: await readFactsFile(join(dir, 'nodelist.json')),
    }
  }

  it('counts only Linux machines the platform can schedule on, names every other node with its reason, and agrees across sources', async () => {
    const facts = await sources()
    const reports = Object.fromEntries(Object.entries(facts).map(([k, f]) => [k, reportFor(f, loaded, 'enterprise', plateauOn)]))
    const live = reports.live as ClusterReport
    assert.deepEqual(live.nodes.total, NODES.length)
    assert.deepEqual(
      NODES.map((n) => n.name).filter((n) => !live.nodes.excluded.some((e) => e.name === n)),
      WORKERS,
    )
    const reason = (name: string) => live.nodes.excluded.find((e) => e.name === name)?.reason ?? ''
    assert.match(reason('cp-old'), /^control plane \(taint node-role\.kubernetes\.io\/master:NoSchedule/)
    assert.match(reason('cp-new'), /^control plane \(taint node-role\.kubernetes\.io\/control-plane:NoSchedule/)
    assert.match(reason('k3s-server'), /CriticalAddonsOnly=true:NoExecute/)
    assert.match(reason('infra-1'), /^infra node/)
    assert.match(reason('gpu-1'), /^GPU node \(taint nvidia\.com\/gpu=present:NoSchedule/)
    assert.match(reason('aksnpwin000000'), /^windows node \(kubernetes\.io\/os=windows\): the platform's Linux containers cannot run there/)
    assert.match(reason('virtual-node-aci-linux'), /^virtual node/)
    assert.match(reason('fargate-ip-10-0-1-5.ec2.internal'), /^virtual node \(label eks\.amazonaws\.com\/compute-type=fargate/)
    assert.match(reason('cordoned-1'), /^cordoned/)
    assert.match(reason('gone-1'), /^NotReady \(NodeStatusUnknown\)/)
    assert.match(reason('worker-3'), /^arm64 node \(kubernetes\.io\/arch=arm64\): the platform's images are built for amd64 only/)
    // 4 workers of 4 cores: the 16-core tier, so plateau fits; the arm64, Windows, GPU and virtual nodes add nothing
    assert.equal(live.cores.whole, 16)
    const byId = (r: ClusterReport, id: string) => r.checks.find((c) => c.id === id)
    assert.equal(byId(live, 'services.cores')?.status, 'pass')
    assert.equal(byId(live, 'runtime.container')?.status, 'pass', 'the Windows, arm64 and virtual nodes\' runtimes are not judged')
    assert.match(byId(live, 'runtime.container')?.observed ?? '', /^containerd on 11 nodes$/)
    assert.equal(byId(live, 'capacity.pods')?.status, 'pass')
    assert.match(byId(live, 'capacity.pods')?.observed ?? '', /^440 pods allocatable on 4 workers/)
    assert.equal(byId(live, 'nodes.schedulable')?.status, 'pass')
    assert.match(byId(live, 'nodes.schedulable')?.observed ?? '', /^4 of 15 nodes \(11 excluded\)/)
    // a dump has no /version: the oldest real kubelet stands in, never virtual-kubelet's own version
    assert.equal(byId(reports.dump as ClusterReport, 'version.kubernetes')?.status, 'pass')
    for (const [name, report] of Object.entries(reports)) {
      assert.deepEqual(report.nodes.excluded, live.nodes.excluded, `${name}: the same nodes excluded, for the same reasons`)
      assert.deepEqual(verdicts(report), verdicts(live), `${name}: the same verdicts as live`)
    }
  })

  it('a Windows node without any taint and a virtual node without its label still do not count (classifier alone)', async () => {
    const {classifyNode} = await import('../../src/cluster/schedulable.js')
    const {toNodeFacts} = await import('../../src/cluster/normalize.js')
    const win = toNodeFacts(node({name: 'win', os: 'windows'}))
    delete win.labels['kubernetes.io/os']
    delete win.labels['beta.kubernetes.io/os']
    assert.match(classifyNode(win).reason ?? '', /windows node/)
    const vk = toNodeFacts(node({name: 'vk', taints: [{key: 'virtual-kubelet.io/provider', value: 'azure', effect: 'NoSchedule'}]}))
    assert.match(classifyNode(vk).reason ?? '', /^virtual node \(taint virtual-kubelet\.io\/provider=azure:NoSchedule/)
    const noReady = toNodeFacts(node({name: 'fresh'}))
    noReady.conditions = []
    assert.match(classifyNode(noReady).reason ?? '', /NotReady \(the node reports no Ready condition\)/)
    const {reportFor: report} = await import('../../src/cluster/index.js')
    const tainted = [toNodeFacts(node({name: 'a', taints: [{key: 'dedicated', value: 'batch', effect: 'NoSchedule'}]})), toNodeFacts(node({name: 'b', unschedulable: true})), toNodeFacts(node({name: 'c', labels: {'node-role.kubernetes.io/control-plane': ''}, taints: [{key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule'}]}))]
    const facts: ClusterFacts = {apiVersion: 'airlock.dev/v1', kind: 'ClusterSnapshot', format: 1, source: {kind: 'snapshot', takenAt: '2025-02-03T10:41:02Z'}, nodes: tainted, namespaces: [], storageClasses: []}
    const hint = report(facts, loaded, 'enterprise').checks.find((c) => c.id === 'nodes.schedulable')?.hint ?? ''
    assert.match(hint, /or, where those nodes may run the platform: kubectl taint nodes a dedicated=batch:NoSchedule-; kubectl uncordon b$/, 'a foreign taint and a cordon are the site\'s to lift; a control plane is not')
    const aksGpu = toNodeFacts(node({name: 'aks-gpu', taints: [{key: 'sku', value: 'gpu', effect: 'NoSchedule'}]}))
    assert.match(classifyNode(aksGpu).reason ?? '', /^GPU node \(taint sku=gpu:NoSchedule/)
  })

  it('a node of another CPU architecture counts only where the profile allows it, read from the label or from nodeInfo', async () => {
    const {classifyNode} = await import('../../src/cluster/schedulable.js')
    const {toNodeFacts} = await import('../../src/cluster/normalize.js')
    // an EKS Graviton node: untainted, Ready, as schedulable as its amd64 neighbours
    const graviton = toNodeFacts(node({name: 'ip-10-0-3-17.ec2.internal', arch: 'arm64', labels: {'node.kubernetes.io/instance-type': 'm7g.xlarge'}}))
    assert.equal(classifyNode(graviton).worker, true, 'a profile that names no architecture takes any')
    assert.equal(classifyNode(graviton, [], ['amd64', 'arm64']).worker, true)
    assert.match(classifyNode(graviton, [], ['amd64']).reason ?? '', /^arm64 node \(kubernetes\.io\/arch=arm64\): the platform's images are built for amd64 only$/)
    // an older kubelet with only the beta label, and a dump that lost its labels: nodeInfo still tells
    delete graviton.labels['kubernetes.io/arch']
    assert.equal(classifyNode(graviton, [], ['amd64']).worker, false)
    assert.equal(classifyNode(toNodeFacts(node({name: 'x86'})), [], ['amd64']).worker, true)
  })
})
