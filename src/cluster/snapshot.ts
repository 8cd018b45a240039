import {parseYaml} from '../util/yaml.js'
import {z} from 'zod'

import {formatYamlPath} from '../spec/load.js'
import {AirlockError} from '../ui/errors.js'
import {readSmallFile, writeFileAtomic} from '../util/fs.js'
import {SNAPSHOT_API_VERSION, SNAPSHOT_FORMAT, SNAPSHOT_KIND, type ClusterFacts} from './facts.js'
import {isActivePod, toDaemonSetFacts, toLoadBalancerService, toNamespaceFacts, toNodeFacts, toOpenShiftVersion, toStorageClassFacts} from './normalize.js'
import {isQuantity} from './quantity.js'

const MAX_INPUT_BYTES = 256 << 20

const quantityMap = z.record(z.string(), z.string().refine(isQuantity, 'not a Kubernetes quantity'))
const stringMap = z.record(z.string(), z.string())

/** Checked against the ClusterFacts interface at compile time, so the two cannot drift apart. */
const snapshotSchema: z.ZodType<ClusterFacts> = z.object({
  apiVersion: z.literal(SNAPSHOT_API_VERSION),
  kind: z.literal(SNAPSHOT_KIND),
  format: z.literal(SNAPSHOT_FORMAT),
  source: z.object({
    kind: z.enum(['live', 'snapshot', 'kubectl-dump']),
    takenAt: z.string(),
    context: z.string().optional(),
    server: z.string().optional(),
    file: z.string().optional(),
  }),
  server: z.object({gitVersion: z.string(), platform: z.string().optional()}).optional(),
  apiGroups: z.array(z.string()).optional(),
  openshift: z.object({version: z.string(), channel: z.string().optional()}).optional(),
  nodes: z.array(
    z.object({
      name: z.string().min(1),
      labels: stringMap,
      taints: z.array(z.object({key: z.string(), value: z.string().optional(), effect: z.string()})),
      unschedulable: z.boolean(),
      conditions: z.array(z.object({type: z.string(), status: z.string(), reason: z.string().optional()})),
      capacity: quantityMap,
      allocatable: quantityMap,
      providerID: z.string().optional(),
      nodeInfo: z.object({
        kubeletVersion: z.string().optional(),
        containerRuntimeVersion: z.string().optional(),
        osImage: z.string().optional(),
        kernelVersion: z.string().optional(),
        architecture: z.string().optional(),
        operatingSystem: z.string().optional(),
      }),
    }),
  ),
  namespaces: z.array(z.object({name: z.string().min(1), labels: stringMap, phase: z.string().optional()})),
  storageClasses: z.array(
    z.object({name: z.string().min(1), provisioner: z.string(), isDefault: z.boolean(), volumeBindingMode: z.string().optional(), allowVolumeExpansion: z.boolean().optional()}),
  ),
  podsPerNamespace: z.record(z.string(), z.number().int().nonnegative()).optional(),
  accessReviews: z.array(z.object({group: z.string(), resource: z.string(), verb: z.string(), allowed: z.boolean(), reason: z.string().optional()})).optional(),
  daemonSets: z.array(z.object({namespace: z.string(), name: z.string(), desired: z.number().int().nonnegative(), ready: z.number().int().nonnegative()})).optional(),
  loadBalancerServices: z.array(z.object({namespace: z.string(), name: z.string(), addresses: z.number().int().nonnegative()})).optional(),
  kubectl: z.object({gitVersion: z.string()}).nullable().optional(),
})

function invalid(file: string, message: string, at?: string): AirlockError {
  return new AirlockError('SNAPSHOT_INVALID', `${file}${at ? `: ${at}` : ''}: ${message}`, {
    subject: at ? `${file}#${at}` : file,
    hint: 'give a file written by `airlock cluster snapshot --out FILE`, or the output of `kubectl get nodes,namespaces,storageclasses -o json` (add clusterversions on OpenShift)',
  })
}

/**
 * Facts from a file: an airlock snapshot, or a `kubectl get ... -o json` (or -o yaml) List. A kubectl
 * dump carries no server version, access reviews or pod counts unless pods were asked for too; the
 * checks that need them say so instead of guessing.
 */
export async function readFactsFile(file: string): Promise<ClusterFacts> {
  const raw = (await readSmallFile(file, {what: 'snapshot', maxBytes: MAX_INPUT_BYTES})).toString('utf8')
  let doc: unknown
  try {
    doc = JSON.parse(raw)
  } catch {
    try {
      doc = parseYaml(raw, {source: file, code: 'SNAPSHOT_INVALID'})
    } catch (error) {
      if (error instanceof AirlockError && /alias/.test(error.message)) throw error
      throw invalid(file, 'neither JSON nor YAML')
    }
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalid(file, 'not an object')
  const kind = (doc as {kind?: unknown}).kind
  if (kind === SNAPSHOT_KIND) return parseSnapshot(doc, file)
  if (typeof kind === 'string' && (kind === 'List' || kind.endsWith('List'))) return parseKubectlDump(doc as {items?: unknown; kind: string}, file)
  throw invalid(file, `kind ${JSON.stringify(kind)} is neither ${SNAPSHOT_KIND} nor a kubectl List`, 'kind')
}

function parseSnapshot(doc: unknown, file: string): ClusterFacts {
  const format = (doc as {format?: unknown}).format
  if (format !== SNAPSHOT_FORMAT) {
    throw invalid(file, `snapshot format ${JSON.stringify(format)} is not supported (this airlock reads format ${SNAPSHOT_FORMAT})`, 'format')
  }
  const result = snapshotSchema.safeParse(doc)
  if (!result.success) {
    const issue = result.error.issues[0]
    throw invalid(file, issue?.message ?? 'invalid', issue ? formatYamlPath(issue.path) : undefined)
  }
  return {...result.data, source: {...result.data.source, kind: 'snapshot', file}}
}

function parseKubectlDump(doc: {items?: unknown; kind: string}, file: string): ClusterFacts {
  if (!Array.isArray(doc.items)) throw invalid(file, 'a List without items', 'items')
  // A typed list (`kubectl get --raw /api/v1/nodes`, a support bundle's nodes.json) names the kind
  // once, on the list: its items carry no kind of their own.
  const listed = doc.kind !== 'List' ? doc.kind.slice(0, -'List'.length) : undefined
  const facts: ClusterFacts = {
    apiVersion: SNAPSHOT_API_VERSION,
    kind: SNAPSHOT_KIND,
    format: SNAPSHOT_FORMAT,
    source: {kind: 'kubectl-dump', takenAt: new Date().toISOString(), file},
    nodes: [],
    namespaces: [],
    storageClasses: [],
  }
  let pods: Record<string, number> | undefined
  let daemonSets: ClusterFacts['daemonSets']
  let services: ClusterFacts['loadBalancerServices']
  for (const [i, item] of doc.items.entries()) {
    const at = `items[${i}]`
    const itemKind = (item as {kind?: unknown} | null)?.kind ?? listed
    try {
      switch (itemKind) {
        case 'Node': {
          const node = toNodeFacts(item)
          for (const [k, v] of [...Object.entries(node.capacity), ...Object.entries(node.allocatable)]) {
            if (!isQuantity(v)) throw new Error(`Node ${node.name}: ${k} ${JSON.stringify(v)} is not a Kubernetes quantity`)
          }
          facts.nodes.push(node)
          break
        }
        case 'Namespace':
          facts.namespaces.push(toNamespaceFacts(item))
          break
        case 'StorageClass':
          facts.storageClasses.push(toStorageClassFacts(item))
          break
        case 'Pod': {
          pods ??= {}
          const active = isActivePod(item)
          if (active) pods[active.namespace] = (pods[active.namespace] ?? 0) + 1
          break
        }
        case 'ClusterVersion': {
          // `kubectl get ...,clusterversions -o json`: the OpenShift version as the cluster reports it
          const name = (item as {metadata?: {name?: unknown}}).metadata?.name
          const version = name === 'version' ? toOpenShiftVersion(item) : undefined
          if (version) facts.openshift = version
          break
        }
        case 'DaemonSet':
          daemonSets ??= []
          daemonSets.push(toDaemonSetFacts(item))
          break
        case 'Service': {
          services ??= []
          const lb = toLoadBalancerService(item)
          if (lb) services.push(lb)
          break
        }
        default:
          // Other kinds (a site may dump more than asked) carry nothing the checks read.
          break
      }
    } catch (error) {
      throw invalid(file, (error as Error).message, at)
    }
  }
  if (facts.nodes.length === 0) throw invalid(file, 'the dump holds no Node objects: include nodes in the kubectl command', 'items')
  if (pods) facts.podsPerNamespace = pods
  if (daemonSets) facts.daemonSets = daemonSets
  if (services) facts.loadBalancerServices = services
  return facts
}

/** The snapshot file: pretty JSON (people read it before handing it over), never replaced without force. */
export async function writeSnapshot(facts: ClusterFacts, out: string, force = false): Promise<void> {
  await writeFileAtomic(out, `${JSON.stringify(facts, null, 2)}\n`, {force})
}
