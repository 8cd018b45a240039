import {createHash} from 'node:crypto'

import {blobPath} from '../oci/digest.js'
import {parseManifest, type Descriptor} from '../oci/manifest.js'
import {REF_NAME} from '../oci/media-types.js'
import {isReferrerDescriptor} from '../referrers/model.js'
import {parseReference} from '../registry/reference.js'
import type {RandomAccessBundle} from '../transport/random-access.js'
import {AirlockError} from '../ui/errors.js'
import type {Located} from './bundle-read.js'
import {LAYOUT_DIR} from './contribute.js'

/** What `images serve` serves, read once at start: repositories of tags, manifests and blob offsets. */

/** A manifest or index, kept in memory (small, digest-checked at start). */
export interface Document {
  mediaType: string
  bytes: Buffer
}

export interface Repository {
  tags: Map<string, string>
  manifests: Map<string, Document>
  blobs: Map<string, Located>
}

export interface CatalogueImage {
  /** the full source reference (the layout's ref.name) */
  source: string
  /** the repository it is served under: the source's path without its registry */
  repository: string
  tag?: string
  digest: string
}

export const hexOf = (d: string) => d.slice('sha256:'.length)

/** Every image of the layout as repositories of tags, manifests and blobs. */
export async function catalogue(input: string, bundle: RandomAccessBundle, located: Map<string, Located>): Promise<{repositories: Map<string, Repository>; images: CatalogueImage[]; conflicts: string[]}> {
  const repositories = new Map<string, Repository>()
  const images: CatalogueImage[] = []
  const conflicts: string[] = []
  const indexAt = located.get(`${LAYOUT_DIR}/index.json`)
  if (!indexAt) return {repositories, images, conflicts} // a bundle without images serves an empty catalog
  const readDoc = async (d: Descriptor, what: string, label = what): Promise<{doc: Document; parsed: ReturnType<typeof parseManifest>}> => {
    const at = located.get(`${LAYOUT_DIR}/${blobPath(d.digest, what)}`)
    if (!at) throw new AirlockError('ENTRY_MISSING', `${input} has no ${LAYOUT_DIR}/${blobPath(d.digest)} (${what})`, {subject: `${LAYOUT_DIR}/${blobPath(d.digest)}`, hint: 'the bundle is incomplete; copy it again'})
    const bytes = await readSmall(bundle, at, what)
    if (createHash('sha256').update(bytes).digest('hex') !== hexOf(d.digest)) {
      throw new AirlockError('DIGEST_MISMATCH', `${what}: ${LAYOUT_DIR}/${blobPath(d.digest)} does not match its digest`, {subject: `${LAYOUT_DIR}/${blobPath(d.digest)}`, hint: 'the bundle was changed after signing; run bundle verify'})
    }
    const parsed = parseManifest(bytes, d.mediaType, label)
    // served under its own type, as push sends it (an index may list an OCI manifest as a Docker one)
    return {doc: {mediaType: parsed.mediaType, bytes}, parsed}
  }
  const index = parseManifest(await readSmall(bundle, indexAt, `${LAYOUT_DIR}/index.json`), undefined, `${LAYOUT_DIR}/index.json`)
  if (index.kind !== 'index') throw new AirlockError('MANIFEST_INVALID', `${LAYOUT_DIR}/index.json is not an index`, {subject: `${LAYOUT_DIR}/index.json`})
  for (const top of index.manifests.filter((d) => !isReferrerDescriptor(d))) {
    const source = top.annotations?.[REF_NAME]
    if (!source) throw new AirlockError('MANIFEST_INVALID', `${LAYOUT_DIR}/index.json: image ${top.digest} has no ${REF_NAME}`, {subject: `${LAYOUT_DIR}/index.json`})
    const ref = parseReference(source, `${LAYOUT_DIR}/index.json ${REF_NAME}`)
    let repo = repositories.get(ref.repository)
    if (!repo) repositories.set(ref.repository, (repo = {tags: new Map(), manifests: new Map(), blobs: new Map()}))
    const {doc: topDoc, parsed} = await readDoc(top, source, `${source} ${top.digest}`)
    repo.manifests.set(top.digest, topDoc)
    const children = parsed.kind === 'index' ? parsed.manifests : []
    const leaves = parsed.kind === 'manifest' ? [parsed] : []
    for (const d of children) {
      const child = await readDoc(d, `${source} ${d.digest}`)
      repo.manifests.set(d.digest, child.doc)
      if (child.parsed.kind === 'manifest') leaves.push(child.parsed)
    }
    for (const m of leaves) {
      for (const b of [m.config, ...m.layers]) {
        // a differential bundle leaves some layers out: those answer 404 like any unknown blob
        const at = located.get(`${LAYOUT_DIR}/${blobPath(b.digest)}`)
        if (at) repo.blobs.set(b.digest, at)
      }
    }
    if (ref.tag) {
      const taken = repo.tags.get(ref.tag)
      if (taken && taken !== top.digest) conflicts.push(`${ref.repository}:${ref.tag} (${source} ${top.digest} is served by digest only)`)
      else repo.tags.set(ref.tag, top.digest)
    }
    images.push({source, repository: ref.repository, ...(ref.tag ? {tag: ref.tag} : {}), digest: top.digest})
  }
  return {repositories, images, conflicts}
}

async function readSmall(bundle: RandomAccessBundle, at: Located, what: string): Promise<Buffer> {
  if (at.size > 4 << 20) throw new AirlockError('MANIFEST_INVALID', `${what}: an entry of ${at.size} bytes where a manifest was expected`, {subject: what})
  return bundle.readBuffer(at.offset, at.size)
}

