import {Flags} from '@oclif/core'

import {parseTrust, parseTrustFingerprint, type Trust} from '../signing/trust.js'
import {AirlockError} from '../ui/errors.js'
import {readSmallFile} from '../util/fs.js'

export const trustFlags = {
  trust: Flags.string({description: 'trusted signer public key, or the CA certificate that issued the signer certificate (PEM)', exclusive: ['trust-fingerprint']}),
  'trust-fingerprint': Flags.string({description: 'trusted signer key as sha256:HEX of its DER public key'}),
}

/** Trust is always given from outside the bundle; one of the two flags is required. */
export async function trustFromFlags(flags: {trust?: string; 'trust-fingerprint'?: string}): Promise<Trust> {
  if (flags.trust) return parseTrust((await readSmallFile(flags.trust, {what: 'trust file', maxBytes: 1 << 20})).toString('utf8'), flags.trust)
  if (flags['trust-fingerprint']) return parseTrustFingerprint(flags['trust-fingerprint'])
  throw new AirlockError('USAGE', 'say which signer to trust: --trust PEM or --trust-fingerprint sha256:HEX', {
    subject: '--trust',
    hint: 'use the public key or fingerprint you received from the release engineer out of band; nothing inside the bundle is trusted by itself',
  })
}
