import type {LoadedProfile} from '../profile/index.js'
import {classifyNode, clusterCores, runChecks, type CheckResult, type CheckStatus, type ConfigValuesInput, type NodeRole} from './checks.js'
import {detectDistribution, type Distribution} from './distribution.js'
import type {ClusterFacts} from './facts.js'
import {probeKubectl} from './kubectl.js'
import type {LiveOptions} from './live.js'
import {readFactsFile, writeSnapshot} from './snapshot.js'

export type {CheckResult, CheckStatus, ConfigValuesInput} from './checks.js'
export type {ClusterFacts} from './facts.js'
export type {Distribution} from './distribution.js'
export {renderJunit, renderMarkdown, renderTable} from './report.js'
export {readBundleInputs, readConfigValuesFile} from './inputs.js'

export interface FactSourceOptions extends LiveOptions {
  /** a snapshot or kubectl dump; when set, the cluster is not contacted */
  from?: string
}

export interface ClusterReport {
  /** true when no check failed (warnings allowed) */
  ok: boolean
  profile: {name: string; version: string; source: string; sha256: string}
  source: ClusterFacts['source']
  distribution: Distribution
  kubernetesVersion?: string
  edition: string
  nodes: {total: number; workers: number; excluded: NodeRole[]}
  cores: {whole: number; allocatable: number}
  summary: Record<CheckStatus, number>
  checks: CheckResult[]
}

/** Facts from exactly one source: a file when `from` is set, else the cluster the kubeconfig names. */
export async function gatherFacts(profile: LoadedProfile, options: FactSourceOptions): Promise<ClusterFacts> {
  if (options.from) {
    const facts = await readFactsFile(options.from)
    // A snapshot records the kubectl of the machine it was taken on; a dump does not, so look here.
    if (facts.kubectl === undefined) facts.kubectl = await probeKubectl(options.env)
    return facts
  }
  return (await liveSource()).gatherLiveFacts(profile.profile, options)
}

export interface VerifyClusterOptions extends FactSourceOptions {
  profile: LoadedProfile
  edition: string
  configValues?: ConfigValuesInput
}

export async function verifyCluster(options: VerifyClusterOptions): Promise<ClusterReport> {
  const facts = await gatherFacts(options.profile, options)
  return reportFor(facts, options.profile, options.edition, options.configValues)
}

/** Pure: the report for a set of facts. */
export function reportFor(facts: ClusterFacts, profile: LoadedProfile, edition: string, configValues?: ConfigValuesInput): ClusterReport {
  const distribution = detectDistribution(facts)
  const checks = runChecks(facts, profile.profile, {edition, distribution, ...(configValues ? {configValues} : {})})
  const roles = facts.nodes.map(classifyNode)
  const workers = facts.nodes.filter((_, i) => roles[i]?.worker)
  const summary: Record<CheckStatus, number> = {pass: 0, warn: 0, fail: 0, skip: 0}
  for (const c of checks) summary[c.status]++
  const p = profile.profile.metadata
  return {
    ok: summary.fail === 0,
    profile: {name: p.name, version: p.version, source: profile.source, sha256: profile.sha256},
    source: facts.source,
    distribution,
    ...(facts.server ? {kubernetesVersion: facts.server.gitVersion} : {}),
    edition,
    nodes: {total: facts.nodes.length, workers: workers.length, excluded: roles.filter((r) => !r.worker)},
    cores: clusterCores(workers),
    summary,
    checks,
  }
}

export interface SnapshotResult {
  out: string
  source: ClusterFacts['source']
  distribution: Distribution
  nodes: number
  namespaces: number
  storageClasses: number
  accessReviews: number
}

export async function snapshotCluster(profile: LoadedProfile, options: LiveOptions & {out: string; force?: boolean}): Promise<SnapshotResult> {
  const facts = await (await liveSource()).gatherLiveFacts(profile.profile, options)
  await writeSnapshot(facts, options.out, options.force)
  return {
    out: options.out,
    source: facts.source,
    distribution: detectDistribution(facts),
    nodes: facts.nodes.length,
    namespaces: facts.namespaces.length,
    storageClasses: facts.storageClasses.length,
    accessReviews: facts.accessReviews?.length ?? 0,
  }
}

/** @kubernetes/client-node is loaded only when a live cluster is asked: it is the slowest module to load. */
async function liveSource(): Promise<typeof import('./live.js')> {
  return import('./live.js')
}
