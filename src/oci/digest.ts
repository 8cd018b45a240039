import {AirlockError} from '../ui/errors.js'

const SHA256_DIGEST = /^sha256:[0-9a-f]{64}$/

/** `sha256:` + 64 lower-case hex; anything else never becomes a path or a URL segment. */
export function isDigest(value: unknown): value is string {
  return typeof value === 'string' && SHA256_DIGEST.test(value)
}

export function checkDigest(value: unknown, subject: string): string {
  if (!isDigest(value)) {
    throw new AirlockError('MANIFEST_INVALID', `${subject}: ${JSON.stringify(value)} is not a sha256 digest`, {
      subject,
      hint: 'only sha256:<64 hex> digests are accepted; the manifest or layout is damaged or hostile',
    })
  }
  return value
}

export function digestHex(digest: string): string {
  return digest.slice('sha256:'.length)
}

/** The one function that turns a digest into a layout path (relative to the layout root). */
export function blobPath(digest: string, subject = 'blob'): string {
  return `blobs/sha256/${digestHex(checkDigest(digest, subject))}`
}
