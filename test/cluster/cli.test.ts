import {strict as assert} from 'node:assert'
import {readFile, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {makeKeys} from '../support/bundles.js'
import {startDnsServer, type DnsServer} from './dns-server.js'
import {makeTempDir, removeTempDir, runCli, type CliResult} from '../support/cli.js'
import {fakeKubectl, loadFixture, makePki, startKubeApi, writeKubeconfig, type ClusterFixture, type FixtureName, type KubeApi, type KubeApiOptions, type Pki} from '../support/kube-api.js'

const TOKEN = 'sha256~Zk3x9QbW1mN7cVt2LpR8sYdH4gJ6fA0eUo5iKq'

interface Case {
  fixture: FixtureName
  distribution: string
  /** what breaks it on purpose, and the check that must then fail */
  breakIt: (f: ClusterFixture) => Partial<KubeApiOptions> | void
  fails: string[]
  /** the distribution-specific words the hint must carry */
  hint?: RegExp
  /** required checks the captured cluster cannot decide (nothing shows a LoadBalancer can be served): exit 5 */
  undecided?: string[]
}

const setReady = (node: {status: {conditions: {type: string; status: string; reason?: string}[]}}, status: string) => {
  node.status.conditions = node.status.conditions.map((c) => (c.type === 'Ready' ? {...c, status, reason: 'NodeStatusUnknown'} : c))
}

const CASES: Case[] = [
  {fixture: 'eks', distribution: 'eks', breakIt: (f) => setReady(f.nodes.items[2], 'Unknown'), fails: ['nodes.schedulable', 'capacity.pods'], hint: /eksctl create nodegroup/},
  {fixture: 'gke', distribution: 'gke', breakIt: (f) => void (f.version.gitVersion = 'v1.28.15-gke.1020000'), fails: ['version.kubernetes']},
  {
    fixture: 'aks',
    distribution: 'aks',
    // Azure CNI's default of 30 pods per node: 120 is below the enterprise 200
    breakIt: (f) => f.nodes.items.forEach((n) => (n.status.allocatable.pods = '30')),
    fails: ['capacity.pods'],
    hint: /az aks nodepool add/,
  },
  {
    fixture: 'openshift-4.18',
    distribution: 'openshift',
    // captured without providerIDs, MetalLB or a LoadBalancer Service: nothing shows one can be served
    undecided: ['network.load-balancer'],
    breakIt: (f) => {
      f.clusterversion.status.history[0].version = '4.16.30'
      f.clusterversion.status.desired.version = '4.16.30'
    },
    fails: ['version.openshift'],
  },
  {
    fixture: 'k3s',
    distribution: 'k3s',
    breakIt: (f) => {
      f.namespaces.items.push({apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'wallaroo', labels: {'kubernetes.io/metadata.name': 'wallaroo'}}, status: {phase: 'Active'}})
      f.pods.items.push({apiVersion: 'v1', kind: 'Pod', metadata: {name: 'api-lb-7d9f8-x2x', namespace: 'wallaroo'}, spec: {nodeName: 'k3s-agent-1'}, status: {phase: 'Running'}})
    },
    fails: ['namespace.install'],
  },
  {
    fixture: 'rke2',
    distribution: 'rke2',
    breakIt: (f) => void (f.nodes.items.find((n) => n.metadata.name === 'rke2-agent-2').metadata.labels['wallaroo.ai/node-purpose'] = 'pipelines'),
    fails: ['node-pool.pipelines'],
    undecided: ['network.load-balancer'],
  },
  {fixture: 'kind', distribution: 'kind', breakIt: () => ({deny: ['escalate clusterroles.rbac.authorization.k8s.io']}), fails: ['rbac.installer'], undecided: ['network.load-balancer']},
]

describe('airlock cluster verify / snapshot (built CLI against a local HTTPS API server)', () => {
  let pki: Pki
  let dir: string
  let env: NodeJS.ProcessEnv
  const servers: KubeApi[] = []
  let dns: DnsServer
  const DOMAIN = 'platform.example.test'

  before(async () => {
    dns = await startDnsServer({[DOMAIN]: '10.20.0.15', [`airlock-probe.${DOMAIN}`]: '10.20.0.15'})
    pki = makePki()
    dir = await makeTempDir()
    env = {PATH: `${await fakeKubectl(dir, 'v1.31.4')}:${process.env.PATH ?? ''}`, KUBECONFIG: join(dir, 'none')}
  })
  after(async () => {
    await Promise.all(servers.map((s) => s.close()))
    await dns.close()
    await removeTempDir(dir)
  })

  async function kubeconfigFor(fixture: ClusterFixture, name: string, options: Partial<KubeApiOptions> = {}): Promise<string> {
    const api = await startKubeApi(fixture, {pki, token: TOKEN, ...options})
    servers.push(api)
    return writeKubeconfig(join(dir, `${name}.kubeconfig`), {server: api.url, caPem: pki.caPem, token: TOKEN})
  }

  /** The enterprise edition needs DNS: every live run names the domain and the test's DNS server. */
  const verify = (args: string[]): Promise<CliResult> => runCli(['cluster', 'verify', '--json', '--domain', DOMAIN, '--dns-server', dns.address, ...args], {env})
  const undecidedOf = (r: CliResult) => r.json.checks.filter((x: {status: string; severity: string}) => x.status === 'unchecked' && x.severity === 'fail').map((x: {id: string}) => x.id)
  const statusOf = (r: CliResult, id: string) => r.json?.checks?.find((c: {id: string}) => c.id === id)?.status

  for (const c of CASES) {
    it(`${c.fixture}: passes as captured, fails ${c.fails.join(' and ')} when broken on purpose`, async () => {
      const ok = await verify(['--kubeconfig', await kubeconfigFor(loadFixture(c.fixture), `${c.fixture}-ok`)])
      assert.deepEqual(undecidedOf(ok), c.undecided ?? [])
      assert.equal(ok.code, c.undecided ? 5 : 0, ok.stdout + ok.stderr)
      assert.equal(ok.json.ok, !c.undecided)
      assert.equal(ok.json.verdict, c.undecided ? 'incomplete' : 'ready')
      assert.equal(statusOf(ok, 'dns.platform'), 'pass')
      assert.equal(ok.json.distribution.id, c.distribution)
      assert.equal(ok.json.summary.fail, 0)

      const broken = loadFixture(c.fixture)
      const options = c.breakIt(broken) ?? {}
      const bad = await verify(['--kubeconfig', await kubeconfigFor(broken, `${c.fixture}-bad`, options)])
      assert.equal(bad.code, 1, bad.stdout + bad.stderr)
      assert.equal(bad.json.ok, false)
      const failed = bad.json.checks.filter((x: {status: string}) => x.status === 'fail').map((x: {id: string}) => x.id)
      assert.deepEqual(failed, c.fails)
      const check = bad.json.checks.find((x: {id: string}) => x.id === c.fails[0])
      assert.ok(check.hint && check.observed && check.expected)
      if (c.hint) assert.match(check.hint, c.hint)
    })
  }

  it('AKS at 30 pods per node still fits the community edition', async () => {
    const f = loadFixture('aks')
    f.nodes.items.forEach((n) => (n.status.allocatable.pods = '30'))
    const r = await verify(['--kubeconfig', await kubeconfigFor(f, 'aks-community'), '--edition', 'community'])
    assert.equal(r.code, 0, r.stdout)
    assert.equal(statusOf(r, 'capacity.pods'), 'pass')
  })

  it('prints a table without --json, and writes JUnit and Markdown reports even when a check fails', async () => {
    const f = loadFixture('eks')
    setReady(f.nodes.items[0], 'Unknown')
    const kubeconfig = await kubeconfigFor(f, 'eks-reports')
    const junit = join(dir, 'reports', 'cluster.xml')
    const markdown = join(dir, 'cluster.md')
    await runCli(['cluster', 'verify', '--kubeconfig', kubeconfig, '--junit', junit, '--markdown', markdown], {env}).then(async (r) => {
      assert.equal(r.code, 2, 'a report folder that does not exist is a usage error')
      assert.match(r.stderr, /reports/)
    })
    const r = await runCli(['cluster', 'verify', '--kubeconfig', kubeconfig, '--domain', DOMAIN, '--dns-server', dns.address, '--junit', join(dir, 'cluster.xml'), '--markdown', markdown], {env})
    assert.equal(r.code, 1)
    assert.match(r.stdout, /^FAIL\s+nodes\.schedulable/m)
    assert.match(r.stdout, /^PASS\s+memory\.per-node/m)
    const xml = await readFile(join(dir, 'cluster.xml'), 'utf8')
    // one node NotReady of four m5.xlarge: too few nodes, and 3 x 58 pods is below 200
    assert.match(xml, /<testsuites name="airlock cluster verify" tests="\d+" failures="2"/)
    assert.equal(xml.match(/<failure /g)?.length, 2)
    assert.match(xml, /name="nodes\.schedulable: [^"]*">\s*<failure/)
    const md = await readFile(markdown, 'utf8')
    assert.match(md, /\| FAIL \| `nodes\.schedulable`/)
    assert.match(md, /## Nodes not counted/)
  })

  it('does not overwrite an existing JUnit or Markdown report without --force', async () => {
    const kubeconfig = await kubeconfigFor(loadFixture('eks'), 'eks-keep-reports')
    for (const flag of ['junit', 'markdown']) {
      const report = join(dir, `kept-${flag}.report`)
      await writeFile(report, 'an earlier report\n')
      const r = await runCli(['cluster', 'verify', '--kubeconfig', kubeconfig, `--${flag}`, report, '--json'], {env})
      assert.equal(r.code, 2, r.stdout + r.stderr)
      assert.equal(r.json.error.code, 'FILE_EXISTS')
      assert.equal(r.json.error.subject, report)
      assert.match(r.json.error.hint, /--force/)
      assert.equal(await readFile(report, 'utf8'), 'an earlier report\n', 'the earlier report is kept')
      const text = await runCli(['cluster', 'verify', '--kubeconfig', kubeconfig, `--${flag}`, report], {env})
      assert.equal(text.code, 2)
      assert.match(text.stderr, new RegExp(`${report.replaceAll(/[.*+?^${}()|[\]\\/]/g, '\\$&')} already exists`))
      assert.match(text.stderr, /--force/)
      const forced = await runCli(['cluster', 'verify', '--kubeconfig', kubeconfig, `--${flag}`, report, '--force', '--json'], {env})
      assert.notEqual(forced.code, 2, forced.stdout + forced.stderr)
      assert.match(await readFile(report, 'utf8'), flag === 'junit' ? /<testsuites name="airlock cluster verify"/ : /\| (PASS|FAIL|WARN) \|/)
    }
    const same = join(dir, 'same.report')
    const both = await runCli(['cluster', 'verify', '--kubeconfig', kubeconfig, '--junit', same, '--markdown', same, '--json'], {env})
    assert.equal(both.code, 2)
    assert.equal(both.json.error.code, 'USAGE')
  })

  it('snapshot: writes the facts once, verify --from reads them without the cluster; no secrets or env values', async () => {
    const f = loadFixture('openshift-4.18')
    f.pods.items[0].spec.containers[0].env = [{name: 'DB_PASSWORD', value: 'hunter2-do-not-leak'}]
    const kubeconfig = await kubeconfigFor(f, 'ocp-snap')
    const out = join(dir, 'ocp.snapshot.json')
    const s = await runCli(['cluster', 'snapshot', '--kubeconfig', kubeconfig, '--out', out, '--json'], {env})
    assert.equal(s.code, 0, s.stdout + s.stderr)
    assert.equal(s.json.nodes, 7)
    assert.equal(s.json.distribution.id, 'openshift')
    const text = await readFile(out, 'utf8')
    assert.doesNotMatch(text, /hunter2|DB_PASSWORD|"env"|containers/)
    const snap = JSON.parse(text)
    assert.equal(snap.kind, 'ClusterSnapshot')
    assert.equal(snap.format, 1)
    assert.equal(snap.accessReviews.length, 6)

    const again = await runCli(['cluster', 'snapshot', '--kubeconfig', kubeconfig, '--out', out, '--json'], {env})
    assert.equal(again.code, 2)
    assert.equal(again.json.error.code, 'FILE_EXISTS')

    const r = await verify(['--from', out])
    // a snapshot says nothing about the DNS the clients use now: resolved only live
    assert.equal(r.code, 5, r.stdout)
    assert.deepEqual(undecidedOf(r), ['dns.platform', 'network.load-balancer'])
    assert.equal(r.json.source.kind, 'snapshot')
    assert.equal(r.json.distribution.id, 'openshift')
    assert.equal(statusOf(r, 'version.openshift'), 'pass')
    assert.equal(statusOf(r, 'rbac.installer'), 'pass')
  })

  it('--from a kubectl dump: OpenShift found by its labels, CRI-O accepted, access reviews skipped with the can-i commands', async () => {
    const f = loadFixture('openshift-4.18')
    const dump = {apiVersion: 'v1', kind: 'List', metadata: {resourceVersion: ''}, items: [...f.nodes.items, ...f.namespaces.items, ...f.storageclasses.items]}
    const file = join(dir, 'dump.json')
    await writeFile(file, JSON.stringify(dump))
    const r = await verify(['--from', file])
    assert.equal(r.code, 5, r.stdout)
    assert.equal(r.json.verdict, 'incomplete')
    assert.equal(r.json.source.kind, 'kubectl-dump')
    assert.equal(r.json.distribution.id, 'openshift')
    assert.equal(statusOf(r, 'runtime.container'), 'pass')
    assert.equal(statusOf(r, 'rbac.installer'), 'unchecked')
    assert.equal(statusOf(r, 'version.openshift'), 'pass')
    assert.match(r.json.checks.find((c: {id: string}) => c.id === 'version.openshift').observed, /inferred from node .* osImage/)
    assert.match(r.json.checks.find((c: {id: string}) => c.id === 'version.kubernetes').observed, /kubelet/)
  })

  it('--from a dump of k3s nodes alone, as YAML', async () => {
    const f = loadFixture('k3s')
    const file = join(dir, 'dump.yaml')
    const {stringify} = await import('yaml')
    await writeFile(file, stringify({apiVersion: 'v1', kind: 'List', items: [...f.nodes.items, ...f.storageclasses.items]}))
    const r = await verify(['--from', file])
    assert.equal(r.code, 5, r.stdout)
    assert.deepEqual(undecidedOf(r), ['rbac.installer', 'dns.platform'])
    assert.equal(r.json.distribution.id, 'k3s')
  })

  it('OpenShift 4.16 fails the 4.17 minimum from every input: live, snapshot, a dump with clusterversions, a dump of nodes alone', async () => {
    const f = loadFixture('openshift-4.18')
    f.clusterversion.status.history[0].version = '4.16.30'
    f.clusterversion.status.desired.version = '4.16.30'
    for (const n of f.nodes.items) {
      n.status.nodeInfo.osImage = 'Red Hat Enterprise Linux CoreOS 416.94.202410211619-0'
      n.status.nodeInfo.kubeletVersion = 'v1.29.10+67d3387'
    }
    const kubeconfig = await kubeconfigFor(f, 'ocp-416')
    const live = await verify(['--kubeconfig', kubeconfig])
    const snapshot = join(dir, 'ocp-416.snapshot.json')
    assert.equal((await runCli(['cluster', 'snapshot', '--kubeconfig', kubeconfig, '--out', snapshot], {env})).code, 0)
    const withCv = join(dir, 'ocp-416-cv.json')
    // `kubectl get nodes,namespaces,storageclasses,clusterversions -o json`: the ClusterVersion is a list item
    await writeFile(withCv, JSON.stringify({apiVersion: 'v1', kind: 'List', items: [...f.nodes.items, ...f.namespaces.items, ...f.storageclasses.items, {apiVersion: 'config.openshift.io/v1', kind: 'ClusterVersion', ...f.clusterversion}]}))
    const nodesOnly = join(dir, 'ocp-416-nodes.json')
    await writeFile(nodesOnly, JSON.stringify({apiVersion: 'v1', kind: 'List', items: f.nodes.items}))
    for (const [what, r] of [['live', live], ['snapshot', await verify(['--from', snapshot])], ['dump with clusterversions', await verify(['--from', withCv])], ['dump of nodes', await verify(['--from', nodesOnly])]] as const) {
      assert.equal(r.code, 1, `${what}: ${r.stdout}`)
      assert.equal(statusOf(r, 'version.openshift'), 'fail', what)
    }
    const cv = (await verify(['--from', withCv])).json.checks.find((c: {id: string}) => c.id === 'version.openshift')
    assert.match(cv.observed, /^4\.16\.30 \(ClusterVersion\)/)
    const inferred = (await verify(['--from', nodesOnly])).json.checks.find((c: {id: string}) => c.id === 'version.openshift')
    assert.match(inferred.observed, /inferred/)
  })

  it('live: a domain that does not resolve fails dns.platform; a LoadBalancer Service waiting for an address fails network.load-balancer', async () => {
    const f = loadFixture('kind')
    f.services = {items: [{apiVersion: 'v1', kind: 'Service', metadata: {name: 'web', namespace: 'demo'}, spec: {type: 'LoadBalancer', ports: [{port: 80}]}, status: {loadBalancer: {}}}]}
    const r = await runCli(['cluster', 'verify', '--json', '--domain', 'missing.example.test', '--dns-server', dns.address, '--kubeconfig', await kubeconfigFor(f, 'kind-lb')], {env})
    assert.equal(r.code, 1, r.stdout)
    assert.equal(statusOf(r, 'dns.platform'), 'fail')
    assert.equal(statusOf(r, 'network.load-balancer'), 'fail')
    assert.ok(dns.queries.includes('missing.example.test A'), dns.queries.join())
    const served = loadFixture('kind')
    served.services = {items: [{apiVersion: 'v1', kind: 'Service', metadata: {name: 'web', namespace: 'demo'}, spec: {type: 'LoadBalancer'}, status: {loadBalancer: {ingress: [{ip: '172.18.255.200'}]}}}]}
    const ok = await verify(['--kubeconfig', await kubeconfigFor(served, 'kind-lb-ok')])
    assert.equal(statusOf(ok, 'network.load-balancer'), 'pass')
    assert.equal(ok.code, 0, ok.stdout)
  })

  it('without --json the table shows each check that could not be decided with its hint, and exit 5', async () => {
    const f = loadFixture('eks')
    const file = join(dir, 'eks-dump.json')
    await writeFile(file, JSON.stringify({apiVersion: 'v1', kind: 'List', items: [...f.nodes.items, ...f.namespaces.items, ...f.storageclasses.items]}))
    const r = await runCli(['cluster', 'verify', '--from', file, '--domain', DOMAIN], {env})
    assert.equal(r.code, 5, r.stdout + r.stderr)
    assert.match(r.stdout, /^UNCHECKED\s+rbac\.installer/m)
    assert.match(r.stdout, /UNCHECKED rbac\.installer: as the installer, run: kubectl auth can-i create namespaces/)
    assert.match(r.stdout, /UNCHECKED dns\.platform: run verify live/)
    assert.match(r.stdout, /^INCOMPLETE/m)
  })

  describe('malformed input files exit 2 with SNAPSHOT_INVALID naming the file and field', () => {
    const bad: [string, string, string | RegExp][] = [
      ['not JSON', '{"kind": "ClusterSnapshot", ', ''],
      ['a quantity that is not one', 'QTY', '#nodes[0].capacity.memory'],
      ['a future format', 'FORMAT', '#format'],
      ['a dump without nodes', JSON.stringify({apiVersion: 'v1', kind: 'List', items: []}), '#items'],
      ['a dump node without status', JSON.stringify({apiVersion: 'v1', kind: 'List', items: [{kind: 'Node', metadata: {name: 'n1'}}]}), '#items[0]'],
      ['some other kind', JSON.stringify({apiVersion: 'v1', kind: 'Secret', data: {}}), '#kind'],
    ]
    // each file below starts from a good snapshot, made here so that each test also runs alone
    const base = () => join(dir, 'malformed-base.snapshot.json')
    before(async () => {
      const kubeconfig = await kubeconfigFor(loadFixture('openshift-4.18'), 'ocp-malformed')
      const s = await runCli(['cluster', 'snapshot', '--kubeconfig', kubeconfig, '--out', base(), '--json'], {env})
      assert.equal(s.code, 0, s.stdout + s.stderr)
    })
    for (const [what, content, at] of bad) {
      it(what, async () => {
        const snapshot = JSON.parse(await readFile(base(), 'utf8'))
        let text = content
        if (content === 'QTY') {
          snapshot.nodes[0].capacity.memory = '16 GB'
          text = JSON.stringify(snapshot)
        } else if (content === 'FORMAT') {
          text = JSON.stringify({...snapshot, format: 2})
        }
        const file = join(dir, `bad-${what.replaceAll(' ', '-')}.json`)
        await writeFile(file, text)
        const r = await verify(['--from', file])
        assert.equal(r.code, 2, r.stdout)
        assert.equal(r.json.error.code, 'SNAPSHOT_INVALID')
        assert.equal(r.json.error.subject, `${file}${at}`)
        assert.ok(r.json.error.hint)
      })
    }
  })

  it('401 and an unreachable server exit 4 with CLUSTER_AUTH / CLUSTER_UNREACHABLE', async () => {
    const api = await startKubeApi(loadFixture('gke'), {pki, token: TOKEN})
    servers.push(api)
    const wrong = await writeKubeconfig(join(dir, 'wrong.kubeconfig'), {server: api.url, caPem: pki.caPem, token: 'revoked'})
    const r = await verify(['--kubeconfig', wrong])
    assert.equal(r.code, 4)
    assert.equal(r.json.error.code, 'CLUSTER_AUTH')
    assert.match(r.json.error.message, /Unauthorized/)
    const down = await writeKubeconfig(join(dir, 'down.kubeconfig'), {server: 'https://127.0.0.1:9', caPem: pki.caPem, token: TOKEN})
    const d = await verify(['--kubeconfig', down])
    assert.equal(d.code, 4)
    assert.equal(d.json.error.code, 'CLUSTER_UNREACHABLE')
    assert.equal(d.json.error.subject, 'https://127.0.0.1:9')
  })

  it('--config-values: a service switched on that the cores cannot carry fails, naming it', async () => {
    const f = loadFixture('eks')
    f.nodes.items.forEach((n) => {
      n.status.capacity.cpu = '2'
      n.status.allocatable.cpu = '1930m'
    })
    const kubeconfig = await kubeconfigFor(f, 'eks-8')
    const values = join(dir, 'config-values.yaml')
    await writeFile(values, 'apiVersion: kots.io/v1beta1\nkind: ConfigValues\nmetadata: {name: wallaroo}\nspec:\n  values:\n    enable_plateau: {value: "1"}\n    enable_alerting: {value: "0"}\n')
    const r = await verify(['--kubeconfig', kubeconfig, '--config-values', values])
    assert.equal(r.code, 1)
    const check = r.json.checks.find((c: {id: string}) => c.id === 'services.cores')
    assert.equal(check.status, 'fail')
    assert.match(check.observed, /Plateau/)
    assert.doesNotMatch(check.observed, /Alerting/)

    await writeFile(values, 'apiVersion: v1\nkind: ConfigMap\n')
    const wrong = await verify(['--kubeconfig', kubeconfig, '--config-values', values])
    assert.equal(wrong.code, 2)
    assert.equal(wrong.json.error.subject, `${values}#kind`)
  })

  it('--bundle: verified first, then its requirements and ConfigValues are checked; a bundle from an untrusted signer is refused (exit 3)', async () => {
    const keys = await makeKeys(dir)
    const spec = join(dir, 'site.yaml')
    await writeFile(spec, 'apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: site, version: 1.0.0}\nspec:\n  profile: wallaroo-2025.1\n  kots: {cores: 16, domain: wallaroo.example.com}\n')
    const bundle = join(dir, 'site.tar')
    const b = await runCli(['bundle', 'build', spec, '--key', keys.key, '--out', bundle, '--json'], {env})
    assert.equal(b.code, 0, b.stdout + b.stderr)

    const f = loadFixture('eks')
    f.nodes.items.forEach((n) => {
      n.status.capacity.cpu = '2'
      n.status.allocatable.cpu = '1930m'
    })
    const small = await kubeconfigFor(f, 'eks-bundle-8')
    const r = await verify(['--kubeconfig', small, '--bundle', bundle, '--trust', keys.pub])
    assert.equal(r.code, 1, r.stdout + r.stderr)
    assert.equal(r.json.profile.source, 'site-1.0.0/requirements.yaml')
    const check = r.json.checks.find((c: {id: string}) => c.id === 'services.cores')
    assert.equal(check.status, 'fail')
    assert.match(check.observed, /Plateau/)

    const big = await verify(['--kubeconfig', await kubeconfigFor(loadFixture('eks'), 'eks-bundle-16'), '--bundle', bundle, '--trust', keys.pub])
    assert.equal(big.code, 0, big.stdout)

    const other = await makeKeys(dir, 'stranger')
    const untrusted = await verify(['--kubeconfig', small, '--bundle', bundle, '--trust', other.pub])
    assert.equal(untrusted.code, 3)
    const missing = await verify(['--kubeconfig', small, '--bundle', bundle])
    assert.equal(missing.code, 2)
    assert.equal(missing.json.error.subject, '--trust')
    assert.ok((await stat(bundle)).size > 0)
  })
})
