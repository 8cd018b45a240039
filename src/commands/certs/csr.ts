import {Flags} from '@oclif/core'

import type {CsrResult} from '../../pki/index.js'
import {DEFAULT_TLS_KEY_TYPE, TLS_KEY_TYPES, type TlsKeyType} from '../../pki/key-types.js'
import {BaseCommand} from '../base.js'
import {passphraseFromEnv} from '../flags.js'

export type CertsCsrResult = CsrResult

export default class CertsCsr extends BaseCommand {
  static override summary = 'Make a private key and a certificate signing request for the platform domain.'
  static override description = 'Writes DIR/D.key (PKCS#8 PEM, mode 0600, AES-256 encrypted with --passphrase-env) and DIR/D.csr (PKCS#10, SHA-256): CN=D, and D plus every --san as subjectAltNames (IP addresses become IP SANs). Send the CSR to your CA, or certify it with `certs issue`. The key never leaves DIR and is never printed.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> --domain wallaroo.example.com --out tls/',
    '<%= config.bin %> <%= command.id %> --domain wallaroo.example.com --san api.wallaroo.example.com --san 10.0.0.5 --key-type ecdsa-p256 --subject "O=Acme Inc,C=US" --out tls/',
  ]

  static override flags = {
    domain: Flags.string({char: 'd', required: true, description: 'the platform domain: the CN and the first DNS SAN'}),
    san: Flags.string({multiple: true, description: 'another DNS name or IP address the certificate must cover (repeatable)'}),
    'key-type': Flags.string({options: TLS_KEY_TYPES, default: DEFAULT_TLS_KEY_TYPE, description: 'key algorithm'}),
    subject: Flags.string({description: 'more subject attributes: O=...,OU=...,L=...,ST=...,C=.. (a comma in a value is written \\,)'}),
    out: Flags.string({char: 'o', required: true, description: 'folder to write D.key and D.csr into'}),
    'passphrase-env': Flags.string({description: 'environment variable holding a passphrase to encrypt the private key'}),
    force: Flags.boolean({description: 'replace existing files'}),
  }

  async run(): Promise<CertsCsrResult> {
    // node-forge loads only when a certs command runs
    const {createCsr} = await import('../../pki/index.js')
    const {flags} = await this.parse(CertsCsr)
    const passphrase = passphraseFromEnv(flags['passphrase-env'])
    const spinner = this.progress(`making a ${flags['key-type']} key and CSR for ${flags.domain}`)
    try {
      const result = await createCsr({domain: flags.domain, sans: flags.san, keyType: flags['key-type'] as TlsKeyType, subject: flags.subject, outDir: flags.out, passphrase, force: flags.force})
      spinner.succeed(`CSR for ${result.domain}`)
      this.out(`csr          ${result.csr}`)
      this.out(`private key  ${result.key} (mode 0600${result.keyEncrypted ? ', encrypted' : ', NOT encrypted'})`)
      this.out(`subject      ${result.subject}`)
      this.out(`names        ${[...result.sans.dns.map((d) => `DNS:${d}`), ...result.sans.ip.map((i) => `IP:${i}`)].join(', ')}`)
      this.out(`key          ${result.keyType} ${result.publicKeyFingerprint}`)
      return result
    } catch (error) {
      spinner.fail('no CSR written')
      throw error
    }
  }
}
