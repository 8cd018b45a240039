import {
  ApisApi,
  AppsV1Api,
  AuthorizationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  StorageV1Api,
  VersionApi,
} from '@kubernetes/client-node'

import type {RequirementProfile} from '../profile/index.js'
import {AirlockError} from '../ui/errors.js'
import {pathExists} from '../util/fs.js'
import {homedir} from 'node:os'
import {delimiter, join} from 'node:path'
import {SNAPSHOT_API_VERSION, SNAPSHOT_FORMAT, SNAPSHOT_KIND, type AccessReviewFacts, type ClusterFacts} from './facts.js'
import {probeKubectl} from './kubectl.js'
import {isActivePod, toDaemonSetFacts, toLoadBalancerService, toNamespaceFacts, toNodeFacts, toOpenShiftVersion, toStorageClassFacts} from './normalize.js'

export interface LiveOptions {
  /** a kubeconfig file; otherwise KUBECONFIG (colon-separated, merged) or ~/.kube/config, as kubectl does */
  kubeconfig?: string
  context?: string
  /** per request, milliseconds */
  timeoutMs?: number
  env?: NodeJS.ProcessEnv
}

const OPENSHIFT_CONFIG_GROUP = 'config.openshift.io'
const PAGE = 500

/**
 * A kubeconfig resolved the way kubectl resolves it; client certs, tokens, exec plugins and CAs come with
 * it. The client library quietly falls back to http://localhost:8080 when no file exists, and throws
 * JavaScript errors on a malformed one; both become an error naming the kubeconfig and what to do.
 */
export async function loadKubeConfig(options: LiveOptions): Promise<KubeConfig> {
  const kc = new KubeConfig()
  // process.env, as the client library reads it (options.env is the PATH kubectl is looked up on)
  const where = await kubeconfigFiles(options, process.env)
  try {
    if (options.kubeconfig) kc.loadFromFile(options.kubeconfig)
    else kc.loadFromDefault()
  } catch (error) {
    throw new AirlockError('INPUT_INVALID', `cannot read the kubeconfig ${where}: ${kubeconfigProblem(error)}`, {
      subject: where,
      hint: 'check the file with `kubectl config view`; it must be a kind: Config with clusters, users and contexts',
      cause: error,
    })
  }
  if (options.context) {
    if (!kc.getContexts().some((c) => c.name === options.context)) {
      throw new AirlockError('USAGE', `no context named ${options.context} in the kubeconfig ${where}`, {
        subject: '--context',
        hint: `contexts: ${kc.getContexts().map((c) => c.name).join(', ') || '(none)'}`,
      })
    }
    kc.setCurrentContext(options.context)
  }
  const current = kc.getCurrentContext()
  if (!current || !kc.getContextObject(current)) {
    throw new AirlockError('USAGE', `the kubeconfig ${where} has no current context`, {subject: where, hint: 'pass --context NAME (see `kubectl config get-contexts`), or take facts from a file with --from'})
  }
  if (!kc.getCurrentCluster()?.server) {
    const cluster = kc.getContextObject(current)?.cluster
    throw new AirlockError('INPUT_INVALID', `the kubeconfig ${where}: context ${current} names cluster ${cluster ?? '(none)'}, which has no server address`, {
      subject: `${where}#contexts.${current}`,
      hint: 'fix the context or the cluster entry (`kubectl config view`), or pass --context NAME',
    })
  }
  return kc
}

/** The file(s) a kubeconfig is read from, or an error saying none exists (never the silent localhost:8080 default). */
async function kubeconfigFiles(options: LiveOptions, env: NodeJS.ProcessEnv): Promise<string> {
  const missing = (what: string, subject: string) =>
    new AirlockError('FILE_NOT_FOUND', `no kubeconfig: ${what}`, {subject, hint: 'pass --kubeconfig FILE or --context NAME for a kubeconfig that exists, set KUBECONFIG, or take facts from a file with --from'})
  if (options.kubeconfig) {
    if (!(await pathExists(options.kubeconfig))) throw missing(`${options.kubeconfig} does not exist`, options.kubeconfig)
    return options.kubeconfig
  }
  if (env.KUBECONFIG) {
    const files = env.KUBECONFIG.split(delimiter).filter(Boolean)
    const found = await Promise.all(files.map((f) => pathExists(f)))
    if (!found.some(Boolean)) throw missing(`none of the files in KUBECONFIG exists (${files.join(', ')})`, 'KUBECONFIG')
    return `KUBECONFIG (${files.join(delimiter)})`
  }
  const home = join(env.HOME ?? homedir(), '.kube', 'config')
  if (await pathExists(home)) return home
  // Inside a pod the service account is the kubeconfig, as kubectl does it.
  if (env.KUBERNETES_SERVICE_HOST) return 'the in-cluster service account'
  throw missing(`${home} does not exist and KUBECONFIG is not set`, home)
}

/** What is wrong with a kubeconfig, in words: the library's own TypeErrors name JavaScript internals. */
function kubeconfigProblem(error: unknown): string {
  const e = error as {name?: string; message?: string; code?: string}
  if (e.code === 'EACCES' || e.code === 'EPERM') return 'permission denied'
  if (e.code === 'EISDIR') return 'it is a directory'
  if (e.name === 'YAMLException' || e.name === 'YAMLParseError') return `not valid YAML (${(e.message ?? '').split('\n')[0]})`
  if (error instanceof TypeError || error instanceof RangeError) return 'not a kubeconfig (clusters, users or contexts missing or malformed)'
  const first = (e.message ?? String(error)).split('\n')[0] ?? ''
  return /^[A-Za-z]+Error\b|Cannot read propert|undefined|null/.test(first) ? 'not a kubeconfig (clusters, users or contexts missing or malformed)' : first
}

/**
 * Gathers every fact in one pass over the API: /version, discovery, nodes, namespaces, pods (counted
 * per namespace, nothing else kept), storage classes, the OpenShift ClusterVersion when the group is
 * served, and one SelfSubjectAccessReview per installer permission in the profile.
 */
export async function gatherLiveFacts(profile: RequirementProfile, options: LiveOptions = {}): Promise<ClusterFacts> {
  const kc = await loadKubeConfig(options)
  const cluster = kc.getCurrentCluster()
  const server = cluster?.server ?? ''
  const call = <T>(path: string, fn: () => Promise<T>) => withApiErrors(path, server, options.timeoutMs ?? 30_000, fn)

  const version = await call('/version', () => kc.makeApiClient(VersionApi).getCode())
  const core = kc.makeApiClient(CoreV1Api)
  const apps = kc.makeApiClient(AppsV1Api)
  const [groups, nodes, namespaces, classes, pods, kubectl, daemonSets, loadBalancerServices] = await Promise.all([
    call('/apis', () => kc.makeApiClient(ApisApi).getAPIVersions()),
    call('/api/v1/nodes', () => core.listNode()),
    call('/api/v1/namespaces', () => core.listNamespace()),
    call('/apis/storage.k8s.io/v1/storageclasses', () => kc.makeApiClient(StorageV1Api).listStorageClass()),
    countPods(core, call),
    probeKubectl(options.env),
    listPaged('/apis/apps/v1/daemonsets', (page) => apps.listDaemonSetForAllNamespaces(page), call, (d) => normalized(() => toDaemonSetFacts(d), '/apis/apps/v1/daemonsets', server)),
    listPaged('/api/v1/services', (page) => core.listServiceForAllNamespaces(page), call, toLoadBalancerService),
  ])
  const apiGroups = groups.groups.map((g) => g.name).sort()

  let openshift: ClusterFacts['openshift']
  if (apiGroups.includes(OPENSHIFT_CONFIG_GROUP)) {
    const cv = await call(`/apis/${OPENSHIFT_CONFIG_GROUP}/v1/clusterversions/version`, () =>
      kc.makeApiClient(CustomObjectsApi).getClusterCustomObject({group: OPENSHIFT_CONFIG_GROUP, version: 'v1', plural: 'clusterversions', name: 'version'}),
    )
    openshift = toOpenShiftVersion(cv)
  }

  const authz = kc.makeApiClient(AuthorizationV1Api)
  const accessReviews: AccessReviewFacts[] = await Promise.all(
    profile.rbac.installer.map(async (p) => {
      const review = await call('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', () =>
        authz.createSelfSubjectAccessReview({
          body: {apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: {resourceAttributes: {group: p.group, resource: p.resource, verb: p.verb}}},
        }),
      )
      const reason = review.status?.reason
      return {...p, allowed: review.status?.allowed === true, ...(reason ? {reason} : {})}
    }),
  )

  return {
    apiVersion: SNAPSHOT_API_VERSION,
    kind: SNAPSHOT_KIND,
    format: SNAPSHOT_FORMAT,
    source: {kind: 'live', takenAt: new Date().toISOString(), context: kc.getCurrentContext(), server},
    server: {gitVersion: version.gitVersion, ...(version.platform ? {platform: version.platform} : {})},
    apiGroups,
    ...(openshift ? {openshift} : {}),
    nodes: nodes.items.map((n) => normalized(() => toNodeFacts(n), '/api/v1/nodes', server)),
    namespaces: namespaces.items.map((n) => normalized(() => toNamespaceFacts(n), '/api/v1/namespaces', server)),
    storageClasses: classes.items.map((c) => normalized(() => toStorageClassFacts(c), '/apis/storage.k8s.io/v1/storageclasses', server)),
    podsPerNamespace: pods,
    daemonSets,
    loadBalancerServices,
    accessReviews,
    kubectl,
  }
}

/** Pods are paged and only their namespace is kept: a large cluster's pod list never sits in memory whole. */
async function countPods(core: CoreV1Api, call: <T>(path: string, fn: () => Promise<T>) => Promise<T>): Promise<Record<string, number>> {
  const counts: Record<string, number> = {}
  let token: string | undefined
  do {
    const page = await call('/api/v1/pods', () => core.listPodForAllNamespaces({limit: PAGE, fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed', ...(token ? {_continue: token} : {})}))
    for (const pod of page.items) {
      const active = isActivePod(pod)
      if (active) counts[active.namespace] = (counts[active.namespace] ?? 0) + 1
    }
    token = page.metadata?._continue || undefined
  } while (token)
  return counts
}

/** A paged list reduced item by item; `keep` returns undefined for items that carry nothing the checks read. */
async function listPaged<I, T>(
  path: string,
  list: (page: {limit: number; _continue?: string}) => Promise<{items: I[]; metadata?: {_continue?: string}}>,
  call: <R>(path: string, fn: () => Promise<R>) => Promise<R>,
  keep: (item: I) => T | undefined,
): Promise<T[]> {
  const out: T[] = []
  let token: string | undefined
  do {
    const page = await call(path, () => list({limit: PAGE, ...(token ? {_continue: token} : {})}))
    for (const item of page.items) {
      const kept = keep(item)
      if (kept !== undefined) out.push(kept)
    }
    token = page.metadata?._continue || undefined
  } while (token)
  return out
}

function normalized<T>(fn: () => T, path: string, server: string): T {
  try {
    return fn()
  } catch (error) {
    throw new AirlockError('REMOTE_ERROR', `${server}${path}: ${(error as Error).message}`, {subject: `${server}${path}`, cause: error})
  }
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_SIGNATURE_FAILURE',
])

/**
 * Maps what the client throws to what the user can act on: 401/403 with the API server's own
 * message, TLS trust problems with the CA hint, connection failures with the server address.
 */
async function withApiErrors<T>(path: string, server: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new AirlockError('CLUSTER_UNREACHABLE', `${server}${path} did not answer within ${timeoutMs / 1000}s`, {subject: server, hint: 'check the network path to the API server (VPN, proxy, firewall)'})),
      timeoutMs,
    )
  })
  try {
    return await Promise.race([fn(), timeout])
  } catch (error) {
    throw mapApiError(error, path, server)
  } finally {
    clearTimeout(timer)
  }
}

export function mapApiError(error: unknown, path: string, server: string): unknown {
  if (error instanceof AirlockError) return error
  const e = error as {code?: unknown; body?: unknown; message?: string; cause?: {code?: string}}
  if (typeof e.code === 'number') {
    // The generated client drops the body of some answers (401) and keeps only the status text in its message.
    const message = apiMessage(e.body) ?? /^Message: (.+)$/m.exec(e.message ?? '')?.[1] ?? `HTTP ${e.code}`
    const subject = `${server}${path}`
    if (e.code === 401) {
      return new AirlockError('CLUSTER_AUTH', `the API server refused the credentials (401): ${message}`, {subject, hint: 'the token or client certificate in the kubeconfig is not accepted; log in again (e.g. refresh the token) and retry', cause: error})
    }
    if (e.code === 403) {
      return new AirlockError('CLUSTER_AUTH', `the API server forbids ${path} (403): ${message}`, {subject, hint: 'run with an identity allowed to read nodes, namespaces, pods and storage classes and to create access reviews (the installer identity)', cause: error})
    }
    return new AirlockError('REMOTE_ERROR', `${subject} answered ${e.code}: ${message}`, {subject, cause: error})
  }
  const code = typeof e.code === 'string' ? e.code : e.cause?.code
  if (code && TLS_CODES.has(code)) {
    return new AirlockError('CLUSTER_UNREACHABLE', `the API server's certificate is not trusted (${code}): ${server}`, {
      subject: server,
      hint: 'the kubeconfig needs the cluster CA (certificate-authority or certificate-authority-data) that issued the API server certificate',
      cause: error,
    })
  }
  return new AirlockError('CLUSTER_UNREACHABLE', `cannot reach the API server ${server}: ${e.message ?? String(error)}`, {subject: server, hint: 'check the server address in the kubeconfig and the network path to it', cause: error})
}

/** A Status object's message, from a parsed body or the raw JSON text the client passes along. */
function apiMessage(body: unknown): string | undefined {
  let parsed = body
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body)
    } catch {
      return body.trim().slice(0, 300) || undefined
    }
  }
  const message = (parsed as {message?: unknown} | undefined)?.message
  return typeof message === 'string' ? message : undefined
}
