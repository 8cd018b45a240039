import {generateKeyPairSync, randomBytes} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {chmod, mkdir, writeFile} from 'node:fs/promises'
import {createServer, type Server} from 'node:https'
import type {IncomingMessage, ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import type {TLSSocket} from 'node:tls'
import {join} from 'node:path'

import forge from 'node-forge'

import {registerCleanup} from './cleanup.js'
import {REPO_ROOT} from './paths.js'

/**
 * A Kubernetes API server stand-in for the cluster tests: real HTTPS on 127.0.0.1 with a certificate
 * from a CA made here, a bearer token or a client certificate required, and the real API paths the
 * verifier reads, answered from a fixture of captured-shape objects. Tests change the fixture (or the
 * `deny`/`forbid` knobs) to make a check fail on purpose.
 */

export interface ClusterFixture {
  description?: string
  version: Record<string, unknown>
  apiGroups: string[]
  nodes: {items: any[]} & Record<string, unknown> // eslint-disable-line @typescript-eslint/no-explicit-any
  namespaces: {items: any[]} & Record<string, unknown> // eslint-disable-line @typescript-eslint/no-explicit-any
  storageclasses: {items: any[]} & Record<string, unknown> // eslint-disable-line @typescript-eslint/no-explicit-any
  pods: {items: any[]} & Record<string, unknown> // eslint-disable-line @typescript-eslint/no-explicit-any
  clusterversion?: any // eslint-disable-line @typescript-eslint/no-explicit-any
  daemonsets?: {items: any[]} // eslint-disable-line @typescript-eslint/no-explicit-any
  services?: {items: any[]} // eslint-disable-line @typescript-eslint/no-explicit-any
}

export const FIXTURES = ['eks', 'gke', 'aks', 'openshift-4.18', 'k3s', 'rke2', 'kind'] as const
export type FixtureName = (typeof FIXTURES)[number]

/** A fresh deep copy each time, so a test can break it freely. */
export function loadFixture(name: FixtureName): ClusterFixture {
  return JSON.parse(readFileSync(join(REPO_ROOT, 'test/fixtures/clusters', `${name}.json`), 'utf8')) as ClusterFixture
}

export interface Pki {
  caPem: string
  serverCertPem: string
  serverKeyPem: string
  clientCertPem: string
  clientKeyPem: string
}

function rsaKey(): {forgeKey: forge.pki.rsa.PrivateKey; pem: string; publicKey: forge.pki.rsa.PublicKey} {
  // Node generates the key natively (fast); forge only signs the certificates.
  const {privateKey} = generateKeyPairSync('rsa', {modulusLength: 2048})
  const pem = privateKey.export({type: 'pkcs1', format: 'pem'}).toString()
  const forgeKey = forge.pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey
  return {forgeKey, pem, publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e)}
}

function issue(subjectCn: string, key: forge.pki.rsa.PublicKey, issuer: {cert?: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey}, extensions: object[]): forge.pki.Certificate {
  const cert = forge.pki.createCertificate()
  cert.publicKey = key
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`
  cert.validity.notBefore = new Date(Date.now() - 60_000)
  cert.validity.notAfter = new Date(Date.now() + 86_400_000)
  cert.setSubject([{name: 'commonName', value: subjectCn}])
  cert.setIssuer(issuer.cert ? issuer.cert.subject.attributes : [{name: 'commonName', value: subjectCn}])
  cert.setExtensions(extensions)
  cert.sign(issuer.key, forge.md.sha256.create())
  return cert
}

/** A cluster CA, the API server's certificate (IP SAN 127.0.0.1) and a client certificate, as kubeadm lays them out. */
export function makePki(): Pki {
  const ca = rsaKey()
  const caCert = issue('kubernetes', ca.publicKey, {key: ca.forgeKey}, [{name: 'basicConstraints', cA: true, critical: true}, {name: 'keyUsage', keyCertSign: true, digitalSignature: true, critical: true}])
  const server = rsaKey()
  const serverCert = issue('kube-apiserver', server.publicKey, {cert: caCert, key: ca.forgeKey}, [
    {name: 'basicConstraints', cA: false},
    {name: 'extKeyUsage', serverAuth: true},
    {name: 'subjectAltName', altNames: [{type: 7, ip: '127.0.0.1'}, {type: 2, value: 'kubernetes.default.svc'}]},
  ])
  const client = rsaKey()
  const clientCert = issue('kubernetes-admin', client.publicKey, {cert: caCert, key: ca.forgeKey}, [{name: 'basicConstraints', cA: false}, {name: 'extKeyUsage', clientAuth: true}])
  return {
    caPem: forge.pki.certificateToPem(caCert),
    serverCertPem: forge.pki.certificateToPem(serverCert),
    serverKeyPem: server.pem,
    clientCertPem: forge.pki.certificateToPem(clientCert),
    clientKeyPem: client.pem,
  }
}

export interface KubeApiOptions {
  pki: Pki
  token?: string
  /** installer permissions the access reviews deny, as `verb resource.group` (`escalate clusterroles.rbac.authorization.k8s.io`) */
  deny?: string[]
  /** API paths answered 403 with a Status message as the API server words it */
  forbid?: string[]
  /** page size the server imposes on pod lists, to exercise `continue` */
  podPageSize?: number
}

export interface KubeApi {
  url: string
  fixture: ClusterFixture
  /** every request path seen, for assertions on what was (not) asked */
  requests: string[]
  close(): Promise<void>
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(code, {'content-type': 'application/json', 'content-length': Buffer.byteLength(text)})
  res.end(text)
}

function status(code: number, reason: string, message: string): object {
  return {kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code}
}

function authenticated(req: IncomingMessage, options: KubeApiOptions): boolean {
  const socket = req.socket as TLSSocket
  if (socket.authorized) return true
  return options.token !== undefined && req.headers.authorization === `Bearer ${options.token}`
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = []
    req.on('data', (c: Buffer) => parts.push(c))
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')))
    req.on('error', reject)
  })
}

/** `status.phase!=Succeeded,status.phase!=Failed`, the one field selector the verifier sends. */
function matchesFieldSelector(pod: {status?: {phase?: string}}, selector: string | null): boolean {
  if (!selector) return true
  return selector.split(',').every((term) => {
    const m = /^status\.phase(!=|=)(.*)$/.exec(term)
    if (!m) return true
    return m[1] === '=' ? pod.status?.phase === m[2] : pod.status?.phase !== m[2]
  })
}

export async function startKubeApi(fixture: ClusterFixture, options: KubeApiOptions): Promise<KubeApi> {
  const requests: string[] = []
  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1')
    const path = url.pathname
    requests.push(`${req.method} ${path}`)
    if (!authenticated(req, options)) return send(res, 401, status(401, 'Unauthorized', 'Unauthorized'))
    if (options.forbid?.includes(path)) {
      const resource = path.split('/').at(-1) ?? ''
      return send(res, 403, status(403, 'Forbidden', `${resource} is forbidden: User "system:serviceaccount:default:reader" cannot ${req.method === 'POST' ? 'create' : 'list'} resource "${resource}" at the cluster scope`))
    }
    if (req.method === 'POST' && path === '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews') {
      const review = JSON.parse(await readBody(req)) as {spec: {resourceAttributes: {group?: string; resource: string; verb: string}}}
      const a = review.spec.resourceAttributes
      const key = `${a.verb} ${a.group ? `${a.resource}.${a.group}` : a.resource}`
      const allowed = !options.deny?.includes(key)
      return send(res, 201, {
        kind: 'SelfSubjectAccessReview',
        apiVersion: 'authorization.k8s.io/v1',
        metadata: {creationTimestamp: null},
        spec: review.spec,
        status: allowed ? {allowed: true, reason: 'RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin" to User "kubernetes-admin"'} : {allowed: false},
      })
    }
    if (req.method !== 'GET') return send(res, 405, status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'))
    switch (path) {
      case '/version':
        return send(res, 200, fixture.version)
      case '/api':
        return send(res, 200, {kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{clientCIDR: '0.0.0.0/0', serverAddress: '10.0.0.1:6443'}]})
      case '/apis':
        return send(res, 200, {
          kind: 'APIGroupList',
          apiVersion: 'v1',
          groups: fixture.apiGroups.map((name) => ({name, versions: [{groupVersion: `${name}/v1`, version: 'v1'}], preferredVersion: {groupVersion: `${name}/v1`, version: 'v1'}})),
        })
      case '/api/v1/nodes':
        return send(res, 200, fixture.nodes)
      case '/api/v1/namespaces':
        return send(res, 200, fixture.namespaces)
      case '/apis/storage.k8s.io/v1/storageclasses':
        return send(res, 200, fixture.storageclasses)
      case '/api/v1/pods': {
        const all = fixture.pods.items.filter((p) => matchesFieldSelector(p, url.searchParams.get('fieldSelector')))
        const limit = Math.min(Number(url.searchParams.get('limit') ?? all.length) || all.length, options.podPageSize ?? Number.POSITIVE_INFINITY)
        const start = Number(url.searchParams.get('continue') ?? 0)
        const items = all.slice(start, start + limit)
        const next = start + limit < all.length ? String(start + limit) : undefined
        return send(res, 200, {apiVersion: 'v1', kind: 'PodList', metadata: {resourceVersion: '48213377', ...(next ? {continue: next} : {})}, items})
      }
      case '/apis/apps/v1/daemonsets':
        return send(res, 200, {apiVersion: 'apps/v1', kind: 'DaemonSetList', metadata: {resourceVersion: '48213377'}, items: fixture.daemonsets?.items ?? []})
      case '/api/v1/services':
        return send(res, 200, {apiVersion: 'v1', kind: 'ServiceList', metadata: {resourceVersion: '48213377'}, items: fixture.services?.items ?? []})
      case '/apis/config.openshift.io/v1/clusterversions/version':
        if (fixture.clusterversion) return send(res, 200, fixture.clusterversion)
        return send(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'))
      default:
        return send(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'))
    }
  }
  const server: Server = createServer({key: options.pki.serverKeyPem, cert: options.pki.serverCertPem, ca: [options.pki.caPem], requestCert: true, rejectUnauthorized: false}, (req, res) => {
    handler(req, res).catch((error: unknown) => send(res, 500, status(500, 'InternalError', String(error))))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  const close = registerCleanup(`Kubernetes API on ${port}`, () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  )
  return {
    url: `https://127.0.0.1:${port}`,
    fixture,
    requests,
    close,
  }
}

export interface KubeconfigOptions {
  server: string
  caPem: string
  token?: string
  client?: {certPem: string; keyPem: string}
  context?: string
}

/** A kubeconfig as `kubectl config view --raw` writes it, with inline (base64) CA and credentials. */
export async function writeKubeconfig(path: string, options: KubeconfigOptions): Promise<string> {
  const b64 = (s: string) => Buffer.from(s).toString('base64')
  const context = options.context ?? 'test'
  const user: Record<string, string> = options.token ? {token: options.token} : {}
  if (options.client) {
    user['client-certificate-data'] = b64(options.client.certPem)
    user['client-key-data'] = b64(options.client.keyPem)
  }
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{name: 'test-cluster', cluster: {server: options.server, 'certificate-authority-data': b64(options.caPem)}}],
    users: [{name: 'test-user', user}],
    contexts: [{name: context, context: {cluster: 'test-cluster', user: 'test-user'}}],
    'current-context': context,
  }
  await writeFile(path, JSON.stringify(config, null, 2), {mode: 0o600})
  return path
}

/** A kubectl that answers `version --client -o json`, so the kubectl check sees a known version. */
export async function fakeKubectl(dir: string, gitVersion: string): Promise<string> {
  const bin = join(dir, 'bin')
  await mkdir(bin, {recursive: true})
  await writeFile(join(bin, 'kubectl'), `#!/bin/sh\necho '{"clientVersion":{"major":"1","gitVersion":"${gitVersion}"}}'\n`)
  await chmod(join(bin, 'kubectl'), 0o755)
  return bin
}
