import {mkdir} from 'node:fs/promises'
import {join} from 'node:path'

import {resolveProfile} from '../kots/profile-ref.js'
import {fromFsError} from '../ui/errors.js'
import {pathExists, writeFileAtomic} from '../util/fs.js'
import {parsePoolFlags, renderManifests, sha256, type ManifestsSummary} from './render.js'

export {MANIFEST_FLAG_NAMES, PLATFORMS, parsePoolFlags, renderManifests, type ManifestsInput, type ManifestsSummary, type RenderedFile, type RenderedManifests} from './render.js'
export {flagPermission, parseResource, renderRbacReview} from './rbac.js'
export {renderNodepoolsReference, renderNodepoolsScript} from './nodepools.js'

export interface RenderToDirOptions {
  profile?: string
  platform: string
  provisioner?: string
  namespace?: string
  /** POOL=NODE,NODE strings as typed */
  pools?: string[]
  out: string
  force?: boolean
}

export interface ManifestsWritten extends ManifestsSummary {
  out: string
  files: {path: string; size: number; sha256: string}[]
}

/** `manifests render`: every file is checked for a clash before the first one is written. */
export async function renderManifestsToDir(options: RenderToDirOptions): Promise<ManifestsWritten> {
  const profile = await resolveProfile(options.profile)
  const rendered = await renderManifests({profile, platform: options.platform, provisioner: options.provisioner, namespace: options.namespace, pools: parsePoolFlags(options.pools ?? [])})
  try {
    await mkdir(options.out, {recursive: true})
  } catch (error) {
    throw fromFsError(error, options.out, 'folder')
  }
  if (!options.force) {
    for (const file of rendered.files) {
      const path = join(options.out, file.path)
      if (await pathExists(path)) throw fromFsError(Object.assign(new Error('exists'), {code: 'EEXIST'}), path)
    }
  }
  for (const file of rendered.files) await writeFileAtomic(join(options.out, file.path), file.content, {force: options.force, mode: file.mode})
  return {
    ...rendered.summary,
    out: options.out,
    files: rendered.files.map((f) => ({path: f.path, size: Buffer.byteLength(f.content), sha256: sha256(f.content)})),
  }
}
