import {Flags} from '@oclif/core'

import type {IssueResult} from '../../pki/index.js'
import {DEFAULT_TLS_KEY_TYPE, TLS_KEY_TYPES, type TlsKeyType} from '../../pki/key-types.js'
import {BaseCommand} from '../base.js'
import {passphraseFromEnv} from '../flags.js'

export type CertsIssueResult = IssueResult

export default class CertsIssue extends BaseCommand {
  static override summary = 'Issue a server or signer certificate from a private CA, for a CSR, a new key or a signing key.'
  static override description = 'Profile server (the default): certifies a CSR (its signature must verify, exit 3 otherwise; its SANs are copied after the same checks --san gets: no `*`, no `*.tld`, no malformed names; a CSR with only a CN gets that CN as its SAN), or with --domain makes a new key and certifies it; EKU serverAuth, keyUsage digitalSignature (and keyEncipherment for RSA). Profile signer: certifies a signing key (--public-key KEY.pub --name N, or --csr) for signing bundles: keyUsage digitalSignature and EKU codeSigning, what `bundle verify --trust CA` requires. Every certificate has basicConstraints CA:FALSE, subject and authority key identifiers, a random 128-bit serial, and starts 5 minutes back; it never outlives --days or the CA, and more than 398 days needs --allow-long-validity. Writes DIR/NAME.crt and DIR/NAME.fullchain.pem (certificate, then the CA), NAME from the domain or name with only letters, digits, dot, dash and underscore.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> --ca-cert ca/ca.crt --ca-key ca/ca.key --csr tls/wallaroo.example.com.csr --out tls/',
    '<%= config.bin %> <%= command.id %> --ca-cert ca/ca.crt --ca-key ca/ca.key --domain wallaroo.example.com --san 10.0.0.5 --days 90 --out tls/',
    '<%= config.bin %> <%= command.id %> --profile signer --ca-cert ca/ca.crt --ca-key ca/ca.key --public-key keys/release.pub --name "Acme release signing" --out keys/',
  ]

  static override flags = {
    'ca-cert': Flags.string({required: true, description: 'the issuing CA certificate (PEM or DER)'}),
    'ca-key': Flags.string({required: true, description: 'the CA private key (PEM)'}),
    'ca-passphrase-env': Flags.string({description: 'environment variable holding the CA key passphrase'}),
    profile: Flags.string({options: ['server', 'signer'], default: 'server', description: 'server: a TLS server certificate (EKU serverAuth, SANs); signer: a bundle signer certificate (keyUsage digitalSignature, EKU codeSigning)'}),
    csr: Flags.string({description: 'the certificate request to certify (PEM or DER)', exclusive: ['domain']}),
    'public-key': Flags.string({description: 'with --profile signer: the signing public key to certify (KEY.pub from airlock keys generate)', exclusive: ['domain', 'csr']}),
    name: Flags.string({description: 'with --public-key: the signer name, written as the CN'}),
    domain: Flags.string({char: 'd', description: 'make a new key for this domain instead of reading a CSR', exclusive: ['csr']}),
    san: Flags.string({multiple: true, description: 'with --domain: another DNS name or IP address (repeatable)', dependsOn: ['domain']}),
    'key-type': Flags.string({options: TLS_KEY_TYPES, default: DEFAULT_TLS_KEY_TYPE, description: 'with --domain: key algorithm'}),
    subject: Flags.string({description: 'with --domain: more subject attributes: O=...,OU=...,C=..', dependsOn: ['domain']}),
    days: Flags.integer({default: 397, min: 1, max: 3650, description: 'validity in days (at most 398 unless --allow-long-validity)'}),
    'allow-long-validity': Flags.boolean({description: 'allow --days over 398: Safari and Chrome refuse such server certificates; only for clients you control'}),
    out: Flags.string({char: 'o', required: true, description: 'folder to write D.crt and D.fullchain.pem (and D.key with --domain) into'}),
    'passphrase-env': Flags.string({description: 'with --domain: environment variable holding a passphrase to encrypt the new key'}),
    force: Flags.boolean({description: 'replace existing files'}),
  }

  async run(): Promise<CertsIssueResult> {
    // node-forge loads only when a certs command runs
    const {issueCertificate} = await import('../../pki/index.js')
    const {flags} = await this.parse(CertsIssue)
    const caPassphrase = passphraseFromEnv(flags['ca-passphrase-env'])
    const passphrase = passphraseFromEnv(flags['passphrase-env'])
    const spinner = this.progress('issuing the certificate')
    try {
      const result = await issueCertificate({
        caCert: flags['ca-cert'], caKey: flags['ca-key'], caPassphrase, csr: flags.csr, domain: flags.domain, sans: flags.san,
        profile: flags.profile as 'server' | 'signer', publicKey: flags['public-key'], name: flags.name, allowLongValidity: flags['allow-long-validity'],
        keyType: flags['key-type'] as TlsKeyType, subject: flags.subject, days: flags.days, outDir: flags.out, passphrase, force: flags.force,
      })
      spinner.succeed(`issued for ${result.domain}`)
      this.out(`certificate  ${result.cert}`)
      this.out(`full chain   ${result.fullchain}`)
      if (result.key) this.out(`private key  ${result.key} (mode 0600${result.keyEncrypted ? ', encrypted' : ', NOT encrypted'})`)
      this.out(`subject      ${result.subject}`)
      this.out(`issuer       ${result.issuer}`)
      if (flags.profile === 'signer') this.out('usage        digitalSignature, EKU codeSigning (bundle signer)')
      else this.out(`names        ${[...result.sans.dns.map((d) => `DNS:${d}`), ...result.sans.ip.map((i) => `IP:${i}`)].join(', ')}`)
      this.out(`valid        ${result.notBefore} to ${result.notAfter}`)
      this.out(`serial       ${result.serial}`)
      if (result.clampedToCa) this.note('note: the CA expires first; the certificate ends with it')
      return result
    } catch (error) {
      spinner.fail('nothing issued')
      throw error
    }
  }
}
