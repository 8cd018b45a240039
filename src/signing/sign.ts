import {sign as cryptoSign, type KeyObject} from 'node:crypto'
import {p256} from '@noble/curves/nist.js'

import {AirlockError} from '../ui/errors.js'
import {publicKeyOf, verifyDetached} from './keys.js'

// Apart from keys.ts so that verifying (every reader of a bundle) never loads the signing library.

/**
 * A detached SHA-256 signature that `openssl dgst -sha256 -verify` accepts: RSA PKCS#1 v1.5, or ECDSA
 * as DER. ECDSA P-256 uses RFC 6979 deterministic nonces (audited @noble/curves) so that two builds of
 * the same input are byte-identical; OpenSSL's ECDSA draws a random nonce each time. Every signature
 * is checked with OpenSSL before it is used, so a fault in either library cannot ship a bad one.
 */
export function signDetached(data: Buffer, key: KeyObject): Buffer {
  let signature: Buffer
  if (key.asymmetricKeyType === 'ec') {
    if (key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new AirlockError('KEY_INVALID', `unsupported EC curve ${key.asymmetricKeyDetails?.namedCurve ?? 'unknown'}`, {hint: 'use an ECDSA P-256 or RSA key'})
    }
    const jwk = key.export({format: 'jwk'})
    const secret = Buffer.from(jwk.d ?? '', 'base64url')
    try {
      signature = Buffer.from(p256.sign(data, secret, {prehash: true, lowS: true, format: 'der'}))
    } finally {
      secret.fill(0)
    }
  } else if (key.asymmetricKeyType === 'rsa') {
    signature = cryptoSign('sha256', data, key)
  } else {
    throw new AirlockError('KEY_INVALID', `unsupported key type ${key.asymmetricKeyType ?? 'unknown'}`, {hint: 'use an ECDSA P-256 or RSA key'})
  }
  if (!verifyDetached(data, signature, publicKeyOf(key))) {
    throw new AirlockError('SIGNATURE_INVALID', 'the signature just made does not verify', {hint: 'report this: the signing key or library is faulty'})
  }
  return signature
}

