import {Flags} from '@oclif/core'

import {SIGNING_KEY_TYPES, writeSigningKeyPair, type SigningKeyType, type WrittenKeyPair} from '../../signing/keys.js'
import {BaseCommand} from '../base.js'
import {passphraseFromEnv} from '../flags.js'

export type KeysGenerateResult = WrittenKeyPair

export default class KeysGenerate extends BaseCommand {
  static override summary = 'Generate a key pair for signing bundles.'
  static override description = 'Writes PATH.key (PKCS#8 PEM, mode 0600, encrypted with AES-256 when a passphrase is given) and PATH.pub (SPKI PEM), and prints the fingerprint: the SHA-256 of the DER public key, which the isolated side can pin with --trust-fingerprint.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> --out keys/release',
    'AIRLOCK_PASSPHRASE=... <%= config.bin %> <%= command.id %> --out keys/release --type rsa-3072 --passphrase-env AIRLOCK_PASSPHRASE',
  ]

  static override flags = {
    out: Flags.string({char: 'o', required: true, description: 'path prefix: writes PREFIX.key and PREFIX.pub'}),
    type: Flags.string({options: SIGNING_KEY_TYPES, default: 'ecdsa-p256', description: 'key algorithm'}),
    'passphrase-env': Flags.string({description: 'name of an environment variable holding a passphrase to encrypt the private key'}),
    force: Flags.boolean({description: 'replace existing key files'}),
  }

  async run(): Promise<KeysGenerateResult> {
    const {flags} = await this.parse(KeysGenerate)
    const passphrase = passphraseFromEnv(flags['passphrase-env'])
    const result = await writeSigningKeyPair(flags.out, flags.type as SigningKeyType, {passphrase, force: flags.force})
    this.out(`private key  ${result.privateKey} (mode 0600${result.encrypted ? ', encrypted' : ''})`)
    this.out(`public key   ${result.publicKey}`)
    this.out(`fingerprint  ${result.fingerprint}`)
    return result
  }
}
