import {Flags} from '@oclif/core'

import {snapshotCluster, type SnapshotResult} from '../../cluster/index.js'
import {loadProfile} from '../../profile/index.js'
import {BaseCommand} from '../base.js'
import {connectionFlags, DEFAULT_PROFILE, liveOptions} from './flags.js'

export type ClusterSnapshotResult = SnapshotResult

export default class ClusterSnapshot extends BaseCommand {
  static override summary = 'Record the facts cluster verify needs in one JSON file, to check later or elsewhere.'
  static override description =
    'Reads the live cluster once (version, nodes, namespaces, pod counts per namespace, storage classes, the OpenShift ClusterVersion, and access reviews for the installer permissions) and writes them as a versioned JSON. It never holds Secrets, ConfigMaps, pod specs or environment values. Check it with `cluster verify --from FILE`. Exit 4 when the cluster cannot be reached or refuses the credentials.'

  static override examples = [
    '<%= config.bin %> <%= command.id %> --out cluster.json',
    '<%= config.bin %> <%= command.id %> --kubeconfig ~/.kube/prod --context admin@prod --out prod.json',
  ]

  static override flags = {
    ...connectionFlags,
    out: Flags.string({char: 'o', description: 'snapshot file to write', required: true}),
    profile: Flags.string({description: 'requirement profile whose installer permissions are reviewed', default: DEFAULT_PROFILE}),
    force: Flags.boolean({description: 'replace an existing file'}),
  }

  async run(): Promise<ClusterSnapshotResult> {
    const {flags} = await this.parse(ClusterSnapshot)
    const profile = await loadProfile(flags.profile)
    const spinner = this.progress('reading the cluster')
    try {
      const result = await snapshotCluster(profile, {...liveOptions(flags), out: flags.out, force: flags.force})
      spinner.succeed(`wrote ${result.out}`)
      this.out(`snapshot   ${result.out}`)
      this.out(`cluster    ${result.distribution.name}, ${result.source.context ?? ''} ${result.source.server ?? ''}`)
      this.out(`facts      ${result.nodes} nodes, ${result.namespaces} namespaces, ${result.storageClasses} storage classes, ${result.accessReviews} access reviews`)
      return result
    } catch (error) {
      spinner.fail('snapshot failed')
      throw error
    }
  }
}
