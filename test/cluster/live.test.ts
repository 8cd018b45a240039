import {strict as assert} from 'node:assert'
import {createServer} from 'node:net'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {gatherLiveFacts} from '../../src/cluster/live.js'
import {loadProfile, type RequirementProfile} from '../../src/profile/index.js'
import {AirlockError} from '../../src/ui/errors.js'
import {makeTempDir} from '../support/cli.js'
import {fakeKubectl, loadFixture, makePki, startKubeApi, writeKubeconfig, type KubeApi, type Pki} from '../support/kube-api.js'

const TOKEN = 'kubeadm-token-7f3a9c.0b1d2e3f4a5b6c7d'

/** Bad YAML is an input error; YAML the client reads as an empty kubeconfig has no context to use: a usage error. */
const err0 = (what: string): string => (what === 'not YAML' ? 'INPUT_INVALID' : 'USAGE')

async function rejectsWith(p: Promise<unknown>, code: string): Promise<AirlockError> {
  try {
    await p
  } catch (error) {
    assert.ok(error instanceof AirlockError, `not an AirlockError: ${String(error)}`)
    assert.equal(error.code, code, error.message)
    return error
  }
  assert.fail(`expected ${code}`)
}

describe('live facts through @kubernetes/client-node', () => {
  let pki: Pki
  let profile: RequirementProfile
  let dir: string
  let bin: string
  const servers: KubeApi[] = []

  before(async () => {
    pki = makePki()
    profile = (await loadProfile('wallaroo-2025.1')).profile
    dir = await makeTempDir()
    bin = await fakeKubectl(dir, 'v1.31.4')
  })
  after(async () => {
    await Promise.all(servers.map((s) => s.close()))
  })

  async function serve(name: Parameters<typeof loadFixture>[0], options: Partial<Parameters<typeof startKubeApi>[1]> = {}): Promise<KubeApi> {
    const api = await startKubeApi(loadFixture(name), {pki, token: TOKEN, ...options})
    servers.push(api)
    return api
  }

  it('reads every fact with a bearer token, paging through pods and keeping only counts', async () => {
    const api = await serve('openshift-4.18', {podPageSize: 4})
    const kubeconfig = await writeKubeconfig(join(dir, 'token.kubeconfig'), {server: api.url, caPem: pki.caPem, token: TOKEN})
    const facts = await gatherLiveFacts(profile, {kubeconfig, env: {PATH: bin}})
    assert.equal(facts.nodes.length, 7)
    assert.equal(facts.server?.gitVersion, 'v1.31.6')
    assert.deepEqual(facts.openshift, {version: '4.18.3', channel: 'stable-4.18'})
    assert.equal(facts.accessReviews?.length, profile.rbac.installer.length)
    assert.ok(facts.accessReviews?.every((r) => r.allowed))
    assert.equal(facts.podsPerNamespace?.['openshift-dns'], 7)
    assert.ok(api.requests.filter((r) => r === 'GET /api/v1/pods').length >= 5, 'pods were paged')
    assert.deepEqual(facts.kubectl, {gitVersion: 'v1.31.4'})
    const text = JSON.stringify(facts)
    assert.doesNotMatch(text, /registry\.k8s\.io\/pause|ownerReferences|"spec"/, 'no pod content is kept')
  })

  it('authenticates with a client certificate (no token)', async () => {
    const api = await serve('k3s', {token: undefined})
    const kubeconfig = await writeKubeconfig(join(dir, 'cert.kubeconfig'), {server: api.url, caPem: pki.caPem, client: {certPem: pki.clientCertPem, keyPem: pki.clientKeyPem}})
    const facts = await gatherLiveFacts(profile, {kubeconfig, env: {PATH: bin}})
    assert.equal(facts.nodes.length, 4)
    assert.equal(facts.openshift, undefined)
    assert.ok(!api.requests.some((r) => r.includes('clusterversions')), 'no OpenShift request where the group is not served')
  })

  it('honours KUBECONFIG and --context', async () => {
    const api = await serve('kind')
    const kubeconfig = await writeKubeconfig(join(dir, 'ctx.kubeconfig'), {server: api.url, caPem: pki.caPem, token: TOKEN, context: 'kind-wallaroo'})
    const saved = process.env.KUBECONFIG
    process.env.KUBECONFIG = kubeconfig
    try {
      const facts = await gatherLiveFacts(profile, {context: 'kind-wallaroo', env: {PATH: bin}})
      assert.equal(facts.source.context, 'kind-wallaroo')
      const err = await rejectsWith(gatherLiveFacts(profile, {context: 'prod', env: {PATH: bin}}), 'USAGE')
      assert.equal(err.subject, '--context')
    } finally {
      if (saved === undefined) delete process.env.KUBECONFIG
      else process.env.KUBECONFIG = saved
    }
  })

  it('401: a wrong token is CLUSTER_AUTH with the API message', async () => {
    const api = await serve('eks')
    const kubeconfig = await writeKubeconfig(join(dir, 'bad-token.kubeconfig'), {server: api.url, caPem: pki.caPem, token: 'expired'})
    const err = await rejectsWith(gatherLiveFacts(profile, {kubeconfig, env: {PATH: bin}}), 'CLUSTER_AUTH')
    assert.equal(err.exitCode, 4)
    assert.match(err.message, /401.*Unauthorized/)
  })

  it('403 on access reviews is CLUSTER_AUTH naming the path and quoting the API', async () => {
    const api = await serve('gke', {forbid: ['/apis/authorization.k8s.io/v1/selfsubjectaccessreviews']})
    const kubeconfig = await writeKubeconfig(join(dir, 'forbid.kubeconfig'), {server: api.url, caPem: pki.caPem, token: TOKEN})
    const err = await rejectsWith(gatherLiveFacts(profile, {kubeconfig, env: {PATH: bin}}), 'CLUSTER_AUTH')
    assert.equal(err.subject, `${api.url}/apis/authorization.k8s.io/v1/selfsubjectaccessreviews`)
    assert.match(err.message, /cannot create resource "selfsubjectaccessreviews"/)
  })

  it('a server certificate from another CA is CLUSTER_UNREACHABLE with the CA hint', async () => {
    const api = await serve('aks')
    const other = makePki()
    const kubeconfig = await writeKubeconfig(join(dir, 'wrong-ca.kubeconfig'), {server: api.url, caPem: other.caPem, token: TOKEN})
    const err = await rejectsWith(gatherLiveFacts(profile, {kubeconfig, env: {PATH: bin}}), 'CLUSTER_UNREACHABLE')
    assert.match(err.hint ?? '', /certificate-authority/)
    assert.equal(err.subject, api.url)
  })

  it('an unreachable server is CLUSTER_UNREACHABLE naming it', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as {port: number}).port
        s.close(() => resolve(p))
      })
    })
    const server = `https://127.0.0.1:${port}`
    const kubeconfig = await writeKubeconfig(join(dir, 'down.kubeconfig'), {server, caPem: pki.caPem, token: TOKEN})
    const err = await rejectsWith(gatherLiveFacts(profile, {kubeconfig, env: {PATH: bin}}), 'CLUSTER_UNREACHABLE')
    assert.equal(err.subject, server)
  })

  it('a kubeconfig that does not exist is FILE_NOT_FOUND', async () => {
    const err = await rejectsWith(gatherLiveFacts(profile, {kubeconfig: join(dir, 'nope'), env: {PATH: bin}}), 'FILE_NOT_FOUND')
    assert.equal(err.subject, join(dir, 'nope'))
  })

  describe('kubeconfig errors name the kubeconfig and what to do, never JavaScript internals', () => {
    const withEnv = async <T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> => {
      const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]))
      for (const [k, v] of Object.entries(vars)) {
        if (v === undefined) delete process.env[k]
        else process.env[k] = v
      }
      try {
        return await fn()
      } finally {
        for (const [k, v] of Object.entries(saved)) {
          if (v === undefined) delete process.env[k]
          else process.env[k] = v
        }
      }
    }

    it('no kubeconfig at all says so, instead of trying http://localhost:8080', async () => {
      const home = join(dir, 'empty-home')
      const err = await withEnv({KUBECONFIG: undefined, HOME: home, KUBERNETES_SERVICE_HOST: undefined}, () => rejectsWith(gatherLiveFacts(profile, {env: {PATH: bin}}), 'FILE_NOT_FOUND'))
      assert.match(err.message, /no kubeconfig: .*empty-home\/\.kube\/config does not exist and KUBECONFIG is not set/)
      assert.doesNotMatch(err.message, /localhost:8080/)
      assert.match(err.hint ?? '', /--kubeconfig/)
      const listed = await withEnv({KUBECONFIG: `${join(dir, 'a')}:${join(dir, 'b')}`}, () => rejectsWith(gatherLiveFacts(profile, {env: {PATH: bin}}), 'FILE_NOT_FOUND'))
      assert.equal(listed.subject, 'KUBECONFIG')
      assert.match(listed.message, /none of the files in KUBECONFIG exists/)
    })

    for (const [what, text] of [
      ['not YAML', 'clusters: [unclosed\n'],
      ['a YAML list', '- a\n- b\n'],
      ['clusters that are not a list', 'apiVersion: v1\nkind: Config\nclusters: 7\ncontexts: {}\n'],
    ] as const) {
      it(`a kubeconfig that is ${what} is a clear error naming the file, without a TypeError`, async () => {
        const file = join(dir, `bad-${what.replaceAll(' ', '-')}.kubeconfig`)
        await writeFile(file, text)
        const err = await rejectsWith(gatherLiveFacts(profile, {kubeconfig: file, env: {PATH: bin}}), err0(what))
        assert.equal(err.subject, err.code === 'INPUT_INVALID' ? file : err.subject)
        assert.ok(err.message.includes(file), err.message)
        assert.doesNotMatch(err.message, /TypeError|Cannot read propert|undefined|is not a function|\bat \w+ \(/)
      })
    }

    it('a context whose cluster is missing names the context', async () => {
      const file = join(dir, 'dangling.kubeconfig')
      await writeFile(file, JSON.stringify({apiVersion: 'v1', kind: 'Config', clusters: [], users: [{name: 'u', user: {token: 't'}}], contexts: [{name: 'prod', context: {cluster: 'gone', user: 'u'}}], 'current-context': 'prod'}))
      const err = await rejectsWith(gatherLiveFacts(profile, {kubeconfig: file, env: {PATH: bin}}), 'INPUT_INVALID')
      assert.match(err.message, /context prod names cluster gone, which has no server address/)
    })
  })
})
