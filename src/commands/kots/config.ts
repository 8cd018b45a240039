import {Flags} from '@oclif/core'

import {generateKotsConfig, type KotsConfigOutcome} from '../../kots/index.js'
import {renderTable} from '../../ui/table.js'
import {BaseCommand} from '../base.js'

/** The ConfigValues summary; secrets are redacted and the YAML itself is not included. */
export type KotsConfigResult = Omit<KotsConfigOutcome, 'yaml'>

export default class KotsConfig extends BaseCommand {
  static override summary = 'Write KOTS ConfigValues for a cluster size and edition, with the services that size can carry.'
  static override description = 'Applies the requirement profile\'s minimum-services table: N cores between tiers takes the lower tier; fewer than the smallest tier is an error. Item names come from the profile; --app-config checks them against the application\'s own KOTS Config (a YAML file or the app\'s .airgap). Without --out the YAML goes to stdout and the table to stderr.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> --cores 12 --domain platform.example.com --out config-values.yaml',
    '<%= config.bin %> <%= command.id %> --size 16 --edition community --app-config app.airgap',
    '<%= config.bin %> <%= command.id %> --cores 32 --from config-values.yaml --out config-values.yaml --set enable_feature=0',
  ]

  static override flags = {
    cores: Flags.integer({min: 0, description: 'total CPU cores of the cluster (between tiers takes the lower tier)', exclusive: ['size']}),
    size: Flags.integer({description: 'a tier of the profile, e.g. 8, 16 or 32', exclusive: ['cores']}),
    edition: Flags.string({description: 'an edition of the profile, e.g. enterprise or community (default: the profile\'s first)'}),
    domain: Flags.string({description: 'the platform\'s DNS name'}),
    'ingress-mode': Flags.string({description: 'ingress mode, one of the profile\'s options (e.g. internal, external, none)'}),
    set: Flags.string({multiple: true, description: 'ITEM=VALUE: set any item (applied last; bool items take 1/0)'}),
    from: Flags.string({description: 'existing ConfigValues file: keep every value, change only the toggles and what is asked'}),
    'app-config': Flags.string({description: 'the application\'s KOTS Config (kind: Config YAML) or its .airgap, to validate every item'}),
    out: Flags.string({char: 'o', description: 'file to write (mode 0600 when it holds a password)'}),
    force: Flags.boolean({description: 'replace --out if it exists'}),
    profile: Flags.string({description: 'requirement profile name or file (default: the one shipped)'}),
  }

  async run(): Promise<KotsConfigResult> {
    const {flags} = await this.parse(KotsConfig)
    const result = await generateKotsConfig({
      profile: flags.profile,
      cores: flags.cores,
      size: flags.size,
      edition: flags.edition,
      domain: flags.domain,
      ingressMode: flags['ingress-mode'],
      set: flags.set,
      from: flags.from,
      appConfig: flags['app-config'],
      out: flags.out,
      force: flags.force,
    })
    const {yaml, ...summary} = result
    const table = [
      `${summary.profile}: ${summary.cores === undefined ? '' : `${summary.cores} cores -> `}${summary.tier}-core tier, ${summary.edition} edition`,
      renderTable(['service', 'state', 'item', 'why'], summary.services.map((s) => [s.name, s.enabled ? 'on' : 'off', s.item ? `${s.item}=${s.value}` : '-', s.reason])),
    ].join('\n')
    if (summary.out) {
      this.out(table)
      this.out(`wrote ${summary.out}`)
    } else {
      this.out(yaml)
      this.note(table)
    }
    for (const warning of summary.warnings) this.note(`warning: ${warning}`)
    if (summary.checkedAgainst) this.note(`every item checked against ${summary.checkedAgainst}`)
    else if (summary.unchecked.length > 0) this.note(`not checked (no --app-config): ${summary.unchecked.join(', ')}`)
    if (summary.unverified.length > 0 && !summary.checkedAgainst) this.note(`unverified item names (not seen in real installs; the profile's choice): ${summary.unverified.join(', ')}`)
    // a value can be unverified even when the Config accepts it: the Config says what is allowed, not what the vendor uses
    if (summary.unverifiedValues.length > 0) this.note(`unverified values (not seen in real installs): ${summary.unverifiedValues.join(', ')}`)
    for (const v of summary.values) if (v.why) this.note(`${v.item}=${v.value}: ${v.why}`)
    return summary
  }
}
