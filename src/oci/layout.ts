import {createHash} from 'node:crypto'
import {createReadStream, createWriteStream} from 'node:fs'
import {mkdir, readFile, stat} from 'node:fs/promises'
import {join} from 'node:path'
import {pipeline} from 'node:stream/promises'
import {Readable} from 'node:stream'

import {TarReader} from '../bundle/tar-reader.js'
import {AirlockError, fromFsError} from '../ui/errors.js'
import {blobPath, checkDigest, isDigest} from './digest.js'
import {MAX_MANIFEST_BYTES, parseManifest, type Descriptor} from './manifest.js'
import {MT, REF_NAME} from './media-types.js'

export const OCI_LAYOUT = JSON.stringify({imageLayoutVersion: '1.0.0'})

export interface LayoutIndex {
  schemaVersion: 2
  mediaType: string
  manifests: Descriptor[]
}

export async function readLayoutIndex(dir: string, subject: string): Promise<LayoutIndex> {
  const file = join(dir, 'index.json')
  let data: Buffer
  try {
    const layout = JSON.parse(await readFile(join(dir, 'oci-layout'), 'utf8')) as {imageLayoutVersion?: string}
    if (typeof layout.imageLayoutVersion !== 'string') throw new Error('no imageLayoutVersion')
    data = await readFile(file)
  } catch (error) {
    const mapped = fromFsError(error, dir, 'OCI layout')
    if (mapped instanceof AirlockError) throw new AirlockError(mapped.code, `${subject}: ${dir} is not an OCI image layout (${mapped.message})`, {subject, hint: 'an OCI layout has oci-layout, index.json and blobs/; skopeo copy ... oci:DIR:TAG writes one'})
    throw new AirlockError('INPUT_INVALID', `${subject}: ${dir} is not an OCI image layout`, {subject, hint: 'an OCI layout has oci-layout, index.json and blobs/', cause: error})
  }
  const parsed = parseManifest(data, MT.ociIndex, `${subject} index.json`)
  if (parsed.kind !== 'index') throw new AirlockError('MANIFEST_INVALID', `${file} is not an image index`, {subject})
  return {schemaVersion: 2, mediaType: MT.ociIndex, manifests: parsed.manifests}
}

/** Picks the manifest named `tag` (ref.name annotation), or the only one when no tag is given. */
export function findInLayout(index: LayoutIndex, tag: string | undefined, dir: string, subject: string): Descriptor {
  if (tag === undefined) {
    if (index.manifests.length === 1) return index.manifests[0] as Descriptor
    const names = index.manifests.map((m) => m.annotations?.[REF_NAME]).filter(Boolean)
    throw new AirlockError('REFERENCE_INVALID', `${subject}: ${dir} holds ${index.manifests.length} images; say which one with :TAG`, {subject, hint: names.length > 0 ? `names in it: ${names.join(', ')}` : 'add :TAG after the path'})
  }
  const found = index.manifests.filter((m) => m.annotations?.[REF_NAME] === tag)
  if (found.length === 0) {
    const names = index.manifests.map((m) => m.annotations?.[REF_NAME]).filter(Boolean)
    throw new AirlockError('REGISTRY_NOT_FOUND', `${subject}: no image named ${tag} in ${dir}`, {subject, hint: names.length > 0 ? `names in it: ${names.join(', ')}` : 'the layout has no named images'})
  }
  return found[0] as Descriptor
}

/** A small document (manifest, index, config) out of a layout, checked against its digest. */
export async function readLayoutDocument(dir: string, digest: string, subject: string): Promise<Buffer> {
  const path = join(dir, blobPath(digest, subject))
  let data: Buffer
  try {
    const info = await stat(path)
    if (info.size > MAX_MANIFEST_BYTES) throw new AirlockError('MANIFEST_INVALID', `${subject}: ${path} is too large for a manifest`, {subject})
    data = await readFile(path)
  } catch (error) {
    if (error instanceof AirlockError) throw error
    throw new AirlockError('FILE_NOT_FOUND', `${subject}: blob ${digest} is missing from ${dir}`, {subject, hint: 'the OCI layout is incomplete; copy it again', cause: error})
  }
  const actual = `sha256:${createHash('sha256').update(data).digest('hex')}`
  if (actual !== digest) throw new AirlockError('DIGEST_MISMATCH', `${subject}: ${path} has ${actual}`, {subject, hint: 'the OCI layout is damaged'})
  return data
}

/**
 * Unpacks an oci-archive (a tar of a layout) into `dest`. Only `oci-layout`, `index.json` and
 * `blobs/sha256/<hex>` are taken; every other name is ignored, so a hostile archive cannot write
 * anywhere else. Blobs stream to disk.
 */
export async function extractOciArchive(file: string, dest: string, subject: string): Promise<void> {
  let source: AsyncIterable<Buffer>
  try {
    await stat(file)
    source = createReadStream(file, {highWaterMark: 1 << 20})
  } catch (error) {
    throw fromFsError(error, file, 'oci-archive')
  }
  const reader = new TarReader(source)
  let sawIndex = false
  try {
    await mkdir(join(dest, 'blobs', 'sha256'), {recursive: true})
    for (;;) {
      const entry = await reader.next()
      if (!entry) break
      if (entry.type !== 'File' && entry.type !== 'OldFile') continue
      const name = entry.path.replace(/^(\.\/)+/, '')
      let target: string | undefined
      if (name === 'oci-layout' || name === 'index.json') target = join(dest, name)
      else if (name.startsWith('blobs/sha256/') && isDigest(`sha256:${name.slice('blobs/sha256/'.length)}`)) target = join(dest, blobPath(checkDigest(`sha256:${name.slice('blobs/sha256/'.length)}`, subject)))
      if (!target) continue
      if (name === 'index.json') sawIndex = true
      await pipeline(Readable.from(reader.body()), createWriteStream(target, {mode: 0o600}))
    }
  } finally {
    await reader.close()
  }
  if (!sawIndex) throw new AirlockError('INPUT_INVALID', `${subject}: ${file} is not an oci-archive (no index.json)`, {subject, hint: 'make one with skopeo copy ... oci-archive:FILE:TAG'})
}
