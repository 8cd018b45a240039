import {Flags} from '@oclif/core'

import {PLATFORMS, renderManifestsToDir, type ManifestsWritten} from '../../manifests/index.js'
import {renderTable} from '../../ui/table.js'
import {BaseCommand} from '../base.js'

export type ManifestsRenderResult = ManifestsWritten

export default class ManifestsRender extends BaseCommand {
  static override summary = 'Render the Kubernetes objects and scripts a cluster needs before the platform installs.'
  static override description = 'Writes namespace.yaml, storageclass.yaml (the platform\'s default CSI provisioner or --provisioner), nodepools.sh (idempotent kubectl label/taint --overwrite per pool), nodepools.md (the same for eksctl, gcloud, az and OpenShift MachineSets) and rbac-review.md (every permission the platform creates, the powerful ones flagged). Platform generic needs --provisioner.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> --platform eks --out manifests/',
    '<%= config.bin %> <%= command.id %> --provisioner rancher.io/local-path --pool general=node-1,node-2 --pool persistent=node-3 --out manifests/',
  ]

  static override flags = {
    platform: Flags.string({options: [...PLATFORMS], default: 'generic', description: 'where the cluster runs: picks the default CSI provisioner'}),
    provisioner: Flags.string({description: 'CSI provisioner of the StorageClass (required for generic)'}),
    pool: Flags.string({multiple: true, description: 'POOL=NODE[,NODE...]: nodes of a pool of the profile (general, persistent, pipelines ...)'}),
    namespace: Flags.string({description: 'install namespace (default: the profile\'s)'}),
    out: Flags.string({char: 'o', required: true, description: 'folder to write into (created if missing)'}),
    force: Flags.boolean({description: 'replace files that exist'}),
    profile: Flags.string({description: 'requirement profile name or file (default: the one shipped)'}),
  }

  async run(): Promise<ManifestsRenderResult> {
    const {flags} = await this.parse(ManifestsRender)
    const result = await renderManifestsToDir({
      profile: flags.profile,
      platform: flags.platform,
      provisioner: flags.provisioner,
      namespace: flags.namespace,
      pools: flags.pool,
      out: flags.out,
      force: flags.force,
    })
    this.out(`${result.platform}: namespace ${result.namespace}, StorageClass ${result.storageClass} (${result.provisioner})`)
    this.out(renderTable(['pool', 'label', 'taint', 'nodes'], result.pools.map((p) => [p.name, p.label, p.taint ?? '-', p.nodes.join(',') || '(none given)'])))
    this.out(`rbac: ${result.rbac.permissions} permissions, ${result.rbac.flagged.length} flagged in rbac-review.md`)
    this.out(`wrote ${result.files.map((f) => f.path).join(', ')} to ${result.out}`)
    return result
  }
}
