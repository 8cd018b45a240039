import type {ConfigValues} from '../kots/index.js'
import {effectiveValues} from '../kots/index.js'
import type {LoadedProfile} from '../profile/index.js'
import {runChecks, type CheckStatus} from './checks.js'
import {detectDistribution} from './distribution.js'
import {resolvePlatformNames, type DnsFacts} from './dns.js'
import type {ClusterFacts} from './facts.js'
import {probeKubectl} from './kubectl.js'
import type {LiveOptions} from './live.js'
import type {ClusterReport} from './report.js'
import {classifyNodes, clusterCores} from './schedulable.js'
import {readFactsFile, writeSnapshot} from './snapshot.js'

export type {CheckResult, CheckStatus} from './checks.js'
export type {ClusterFacts} from './facts.js'
export type {Distribution} from './distribution.js'
export {renderJunit, renderMarkdown, renderTable, verdictOf, type ClusterReport} from './report.js'
export {readBundleInputs} from './inputs.js'
export {readConfigValuesFile} from '../kots/index.js'

export interface FactSourceOptions extends LiveOptions {
  /** a snapshot or kubectl dump; when set, the cluster is not contacted */
  from?: string
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
  configValues?: ConfigValues
  /** the platform domain when no ConfigValues name it */
  domain?: string
  /** DNS servers to resolve the platform names with (the ones the clients use); default: this machine's resolver */
  dnsServers?: string[]
}

export async function verifyCluster(options: VerifyClusterOptions): Promise<ClusterReport> {
  const facts = await gatherFacts(options.profile, options)
  const domain = platformDomain(options.profile, options.configValues, options.domain)
  // DNS is resolved from this machine only for live facts: a file says nothing about the clients' DNS now.
  const needsDns = options.profile.profile.editions[options.edition]?.dnsRequired === true
  const dns = !options.from && needsDns && domain ? await resolvePlatformNames(domain, {...(options.dnsServers ? {servers: options.dnsServers} : {})}) : undefined
  return reportFor(facts, options.profile, options.edition, options.configValues, dns, options.domain)
}

/**
 * `--domain` wins over the ConfigValues' domain item. It is not a ConfigValues file: with `--domain`
 * alone there are no services to check against the cores.
 */
function platformDomain(profile: LoadedProfile, values: ConfigValues | undefined, domain: string | undefined): string | undefined {
  const item = profile.profile.kots?.inputs.domain?.item
  return domain ?? (values && item ? effectiveValues(values)[item] : undefined)
}

/** Pure: the report for a set of facts. */
export function reportFor(facts: ClusterFacts, profile: LoadedProfile, edition: string, configValues?: ConfigValues, dns?: DnsFacts, domain?: string): ClusterReport {
  const distribution = detectDistribution(facts)
  const checks = runChecks(facts, profile.profile, {edition, distribution, ...(configValues ? {configValues} : {}), ...(dns ? {dns} : {}), ...(domain ? {domain} : {})})
  const {roles, workers} = classifyNodes(facts.nodes, profile.profile)
  const summary: Record<CheckStatus, number> = {pass: 0, warn: 0, fail: 0, skip: 0, unchecked: 0}
  for (const c of checks) summary[c.status]++
  const undecided = checks.filter((c) => c.status === 'unchecked' && c.severity === 'fail').length
  const p = profile.profile.metadata
  return {
    ok: summary.fail === 0 && undecided === 0,
    verdict: summary.fail > 0 ? 'not-ready' : undecided > 0 ? 'incomplete' : 'ready',
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
  distribution: ReturnType<typeof detectDistribution>
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
