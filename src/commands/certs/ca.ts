import {Flags} from '@oclif/core'

import type {CaResult} from '../../pki/index.js'
import {DEFAULT_TLS_KEY_TYPE, TLS_KEY_TYPES, type TlsKeyType} from '../../pki/key-types.js'
import {BaseCommand} from '../base.js'
import {passphraseFromEnv} from '../flags.js'

export type CertsCaResult = CaResult

export default class CertsCa extends BaseCommand {
  static override summary = 'Make a private root CA that can issue server certificates.'
  static override description = 'Writes DIR/ca.crt and DIR/ca.key (PKCS#8, mode 0600, encrypted with --passphrase-env). The certificate has basicConstraints CA:TRUE with pathlen 0 (it issues server certificates, never other CAs), keyUsage keyCertSign and cRLSign, both critical, and a subject key identifier. Keep ca.key offline.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> --name "Acme Platform CA" --out ca/',
    'CA_PASS=... <%= config.bin %> <%= command.id %> --name "Acme Platform CA" --days 1825 --key-type ecdsa-p256 --passphrase-env CA_PASS --out ca/',
  ]

  static override flags = {
    name: Flags.string({required: true, description: 'the CA name (its CN)'}),
    days: Flags.integer({default: 3650, min: 1, max: 36_500, description: 'validity in days'}),
    'key-type': Flags.string({options: TLS_KEY_TYPES, default: DEFAULT_TLS_KEY_TYPE, description: 'key algorithm'}),
    subject: Flags.string({description: 'more subject attributes: O=...,OU=...,C=..'}),
    out: Flags.string({char: 'o', required: true, description: 'folder to write ca.crt and ca.key into'}),
    'passphrase-env': Flags.string({description: 'environment variable holding a passphrase to encrypt ca.key'}),
    force: Flags.boolean({description: 'replace existing files'}),
  }

  async run(): Promise<CertsCaResult> {
    // node-forge loads only when a certs command runs
    const {createCa} = await import('../../pki/index.js')
    const {flags} = await this.parse(CertsCa)
    const passphrase = passphraseFromEnv(flags['passphrase-env'])
    const spinner = this.progress(`making the CA ${flags.name}`)
    try {
      const result = await createCa({name: flags.name, days: flags.days, keyType: flags['key-type'] as TlsKeyType, subject: flags.subject, outDir: flags.out, passphrase, force: flags.force})
      spinner.succeed(`CA ${result.name}`)
      this.out(`certificate  ${result.cert}`)
      this.out(`private key  ${result.key} (mode 0600${result.keyEncrypted ? ', encrypted' : ', NOT encrypted'})`)
      this.out(`subject      ${result.subject}`)
      this.out(`valid        ${result.notBefore} to ${result.notAfter}`)
      this.out(`key          ${result.keyType} ${result.publicKeyFingerprint}`)
      return result
    } catch (error) {
      spinner.fail('no CA written')
      throw error
    }
  }
}
