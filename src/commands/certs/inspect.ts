import {Args, Flags} from '@oclif/core'

import type {InspectReport} from '../../pki/index.js'
import {renderTable} from '../../ui/table.js'
import {BaseCommand} from '../base.js'
import {passphraseFromEnv} from '../flags.js'

export type CertsInspectResult = InspectReport

export default class CertsInspect extends BaseCommand {
  static override summary = 'Review certificates, chains, CSRs and keys, and give a verdict.'
  static override description = 'Reads PEM or DER files from airlock, openssl or a public CA, and reports each finding with a severity: key algorithm and size, signature hash, the domain among the SANs, EKU serverAuth, validity, the chain to --ca, certificate and key belonging together, CSR signature, key file mode and encryption. Exit 1 when any finding fails. Key material is never printed.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> tls/wallaroo.example.com.fullchain.pem tls/wallaroo.example.com.key --domain wallaroo.example.com --ca ca/ca.crt',
    '<%= config.bin %> <%= command.id %> site.csr --json',
  ]

  static override strict = false

  static override args = {
    file: Args.string({required: true, description: 'certificate, chain, CSR or key (PEM or DER); more may follow'}),
  }

  static override flags = {
    domain: Flags.string({char: 'd', description: 'the host name certificates and CSRs must cover'}),
    ca: Flags.string({description: 'CA certificate(s) the certificates must chain to'}),
    'passphrase-env': Flags.string({description: 'environment variable holding the passphrase of encrypted keys'}),
  }

  async run(): Promise<CertsInspectResult> {
    // node-forge loads only when a certs command runs
    const {inspectFiles, sortFindings} = await import('../../pki/index.js')
    const {argv, flags} = await this.parse(CertsInspect)
    const files = argv as string[]
    const report = await inspectFiles(files, {domain: flags.domain, ca: flags.ca, passphrase: passphraseFromEnv(flags['passphrase-env'])})
    this.out(renderTable(['file', 'kind', 'subject', 'key', 'valid until'], report.objects.map((o) => [o.source, `${o.kind}${o.ca ? ' (CA)' : ''}`, o.subject ?? '', o.key ?? (o.encrypted ? 'encrypted' : ''), o.notAfter ?? ''])))
    this.out('')
    this.out(renderTable(['severity', 'check', 'file', 'finding'], sortFindings(report.findings).map((f) => [f.severity.toUpperCase(), f.check, f.subject, f.hint ? `${f.message} (${f.hint})` : f.message])))
    this.out('')
    this.out(`verdict: ${report.verdict.toUpperCase()} (${report.counts.fail} fail, ${report.counts.warn} warn, ${report.counts.ok} ok)`)
    if (report.verdict === 'fail') this.checksFailed(report)
    return report
  }
}
