import {resolve} from 'node:path'

import {Flags} from '@oclif/core'

import {readBundleInputs, readConfigValuesFile, renderJunit, renderMarkdown, renderTable, verifyCluster, type ClusterReport} from '../../cluster/index.js'
import {loadProfile} from '../../profile/index.js'
import {AirlockError, EXIT} from '../../ui/errors.js'
import {pathExists, writeFileAtomic} from '../../util/fs.js'
import {BaseCommand} from '../base.js'
import {trustFlags, trustFromFlags} from '../trust-flags.js'
import {connectionFlags, DEFAULT_PROFILE, liveOptions} from './flags.js'

export type ClusterVerifyResult = ClusterReport

/** Carries the report past run() so that --json still prints it when the exit code is 1. */
export default class ClusterVerify extends BaseCommand {
  static override summary = 'Check the target cluster against the requirement profile, live or from a file.'
  static override description =
    'Gathers facts once (the live cluster through the kubeconfig, an `airlock cluster snapshot` file, or `kubectl get nodes,namespaces,storageclasses -o json` output), then checks nodes, cores, memory, storage, versions, runtime, namespace, storage class, node pools, pod capacity, installer permissions and tenancy. With --bundle (verified first) or --config-values, every service switched on must fit the cluster\'s cores. Exit 0 when nothing fails and every required check was decided (warnings allowed), 1 when a check fails, 5 when none failed but a required check could not be decided from the facts (e.g. access reviews in a kubectl dump, DNS from a file), 2 for a malformed input file, 4 when the cluster cannot be reached or refuses the credentials.'

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --context prod --bundle wallaroo-2025.1.0.tar --trust release.pub --junit cluster.xml',
    'kubectl get nodes,namespaces,storageclasses,clusterversions -o json > dump.json && <%= config.bin %> <%= command.id %> --from dump.json --markdown report.md',
    '<%= config.bin %> <%= command.id %> --domain platform.example.com --dns-server 10.0.0.53',
  ]

  static override flags = {
    ...connectionFlags,
    from: Flags.string({description: 'read facts from a snapshot or a kubectl -o json dump instead of the cluster', exclusive: ['kubeconfig', 'context']}),
    profile: Flags.string({description: `requirement profile (default ${DEFAULT_PROFILE}, or the bundle's requirements.yaml)`, exclusive: ['bundle']}),
    bundle: Flags.string({description: 'check against this bundle\'s requirements.yaml and kots/config-values.yaml (verified first)'}),
    ...trustFlags,
    'config-values': Flags.string({description: 'KOTS ConfigValues file whose switched-on services must fit the cluster (overrides the bundle\'s)'}),
    edition: Flags.string({description: 'edition whose IP/pod capacity and DNS requirement apply', default: 'enterprise'}),
    domain: Flags.string({description: 'the platform domain to resolve (default: the ConfigValues\' domain item)'}),
    'dns-server': Flags.string({multiple: true, description: 'resolve the platform names with this DNS server (IP or IP:PORT; default: this machine\'s resolver)'}),
    junit: Flags.string({description: 'also write a JUnit XML report to this file'}),
    markdown: Flags.string({description: 'also write a Markdown report to this file'}),
    force: Flags.boolean({description: 'replace an existing --junit or --markdown file'}),
  }

  async run(): Promise<ClusterVerifyResult> {
    const {flags} = await this.parse(ClusterVerify)
    // before the facts are gathered, so a refused report costs no cluster round trip
    for (const flag of ['junit', 'markdown'] as const) {
      const path = flags[flag]
      if (path && !flags.force && (await pathExists(path))) {
        throw new AirlockError('FILE_EXISTS', `${path} already exists`, {subject: path, hint: `remove it, choose another --${flag} file, or pass --force`})
      }
    }
    if (flags.junit && flags.markdown && resolve(flags.junit) === resolve(flags.markdown)) {
      throw new AirlockError('USAGE', `--junit and --markdown both name ${flags.junit}`, {subject: '--markdown', hint: 'give each report its own file'})
    }
    const fromBundle = flags.bundle ? await readBundleInputs(flags.bundle, await trustFromFlags(flags)) : undefined
    if (fromBundle) this.note(`bundle ${flags.bundle}: verified (${fromBundle.verified.name} ${fromBundle.verified.version})`)
    const profile = fromBundle?.profile ?? (await loadProfile(flags.profile ?? DEFAULT_PROFILE))
    const configValues = flags['config-values'] ? await readConfigValuesFile(flags['config-values']) : fromBundle?.configValues
    const spinner = this.progress(flags.from ? `reading ${flags.from}` : 'reading the cluster')
    let report: ClusterReport
    try {
      report = await verifyCluster({
        ...liveOptions(flags),
        ...(flags.from ? {from: flags.from} : {}),
        profile,
        edition: flags.edition,
        ...(configValues ? {configValues} : {}),
        ...(flags.domain ? {domain: flags.domain} : {}),
        ...(flags['dns-server'] ? {dnsServers: flags['dns-server']} : {}),
      })
      spinner.stop()
    } catch (error) {
      spinner.fail('could not gather the facts')
      throw error
    }
    if (flags.junit) await writeFileAtomic(flags.junit, renderJunit(report), {force: flags.force})
    if (flags.markdown) await writeFileAtomic(flags.markdown, renderMarkdown(report), {force: flags.force})
    this.out(renderTable(report))
    if (report.verdict === 'not-ready') this.checksFailed(report)
    if (report.verdict === 'incomplete') this.checksFailed(report, EXIT.INCOMPLETE)
    return report
  }
}
