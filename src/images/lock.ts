import {readFile} from 'node:fs/promises'
import {stringify} from 'yaml'

import {parseYaml} from '../util/yaml.js'

import {AirlockError, fromFsError} from '../ui/errors.js'
import {writeFileAtomic} from '../util/fs.js'
import {isDigest} from '../oci/digest.js'

export interface LockedImage {
  /** as written in the spec */
  ref: string
  /** the full reference it resolved to */
  name: string
  digest: string
}

export interface LockFile {
  apiVersion: 'airlock.dev/v1'
  kind: 'BundleLock'
  images: LockedImage[]
}

/** `bundles/x.yaml` -> `bundles/x.lock.yaml`, beside the spec. */
export function lockPathFor(specPath: string): string {
  return specPath.replace(/(\.ya?ml)?$/, '.lock.yaml')
}

/**
 * The lock file's digests by spec ref; an absent file is an empty lock. One that is there but cannot
 * be read is an error: ignoring it would build from whatever the tags mean today, unpinned.
 */
export async function readLock(path: string): Promise<Map<string, string>> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map()
    throw fromFsError(error, path, 'lock file')
  }
  const doc = parseYaml(text, {source: path, code: 'SPEC_INVALID', hint: 'delete it and build with --lock to write it again'}) as Partial<LockFile> | null
  if (!doc || doc.kind !== 'BundleLock' || !Array.isArray(doc.images)) {
    throw new AirlockError('SPEC_INVALID', `${path} is not an airlock lock file`, {subject: path, hint: 'delete it and build with --lock to write it again'})
  }
  const map = new Map<string, string>()
  doc.images.forEach((img, i) => {
    if (typeof img?.ref !== 'string' || !isDigest(img.digest)) throw new AirlockError('SPEC_INVALID', `${path}#images[${i}] needs ref and a sha256 digest`, {subject: `${path}#images[${i}]`, hint: 'build with --lock to write it again'})
    map.set(img.ref, img.digest)
  })
  return map
}

export async function writeLock(path: string, images: LockedImage[]): Promise<void> {
  const doc: LockFile = {apiVersion: 'airlock.dev/v1', kind: 'BundleLock', images}
  await writeFileAtomic(path, `# Written by airlock bundle build --lock: the digest every image resolved to.\n# Builds without --lock use these digests instead of asking the registry what a tag means now.\n${stringify(doc)}`, {force: true})
}
