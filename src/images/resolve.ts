import {createHash, randomBytes} from 'node:crypto'
import {mkdir, readFile, rm, writeFile} from 'node:fs/promises'
import {basename, dirname, isAbsolute, join, resolve as resolvePath} from 'node:path'

import {blobPath} from '../oci/digest.js'
import {extractOciArchive, findInLayout, readLayoutDocument, readLayoutIndex} from '../oci/layout.js'
import {parseManifest, type Descriptor, type ImageManifest} from '../oci/manifest.js'
import {MAX_MANIFEST_BYTES} from '../oci/manifest.js'
import {REF_NAME} from '../oci/media-types.js'
import {formatPlatform, isRunnablePlatform, parsePlatform, platformMatches, type Platform} from '../oci/platform.js'
import type {RegistryPool} from '../registry/client.js'
import {formatReference, parseReference, type ImageReference} from '../registry/reference.js'
import {AirlockError} from '../ui/errors.js'
import {renameDurably} from '../util/fs.js'
import type {BlobFetcher, BlobOrigin} from './fetcher.js'

/** A manifest or index document, small enough to keep: it goes into the bundle from memory. */
export interface Document {
  digest: string
  size: number
  mediaType: string
  bytes: Buffer
}

export interface Blob {
  digest: string
  size: number
  mediaType: string
}

export interface ResolvedImage {
  /** as written in the spec */
  specRef: string
  /** the full reference, the layout's ref.name: docker.io/library/nginx:1.25 */
  name: string
  /** the digest the source gave for the reference */
  sourceDigest: string
  /** what the layout points at: sourceDigest, or a narrowed index of the selected platforms */
  top: Document
  /** every manifest and index document, top first */
  documents: Document[]
  /** configs and layers */
  blobs: Blob[]
  origin: BlobOrigin
  platforms: string[]
}

export interface ResolveInput {
  specRef: string
  /** spec path named in errors: bundles/x.yaml#spec.images[3] */
  subject: string
  platforms: string[]
  /** a digest from the lock file, used when the spec names a tag */
  lockedDigest?: string
}

export interface ResolveEnv {
  pool: RegistryPool
  fetcher: BlobFetcher
  baseDir: string
  workDir: string
  cacheDir?: string
  /** a unique number for this image's scratch folders */
  seq: number
}

/** Where manifests come from: a registry repository or a local layout. */
interface DocumentSource {
  origin: BlobOrigin
  top(): Promise<Document>
  get(desc: Descriptor): Promise<Buffer>
}

function doc(bytes: Buffer, mediaType: string, digest?: string): Document {
  return {bytes, mediaType, size: bytes.length, digest: digest ?? `sha256:${createHash('sha256').update(bytes).digest('hex')}`}
}

async function fromCache(cacheDir: string | undefined, digest: string): Promise<Buffer | undefined> {
  if (!cacheDir) return undefined
  const data = await readFile(join(cacheDir, blobPath(digest))).catch(() => undefined)
  if (!data || data.length > MAX_MANIFEST_BYTES) return undefined
  return `sha256:${createHash('sha256').update(data).digest('hex')}` === digest ? data : undefined
}

/**
 * Keeps a fetched (and hashed) manifest in the --cache beside the blobs, so that the next build
 * resolves its tag with one HEAD. Best effort: a manifest the cache cannot take is fetched again
 * next time, which is only slower (a cache that cannot take blobs fails the build in the fetcher).
 */
async function toCache(cacheDir: string | undefined, d: Document): Promise<void> {
  if (!cacheDir) return
  const final = join(cacheDir, blobPath(d.digest))
  const temp = `${final}.${randomBytes(4).toString('hex')}.partial`
  try {
    await mkdir(dirname(final), {recursive: true})
    await writeFile(temp, d.bytes, {mode: 0o600})
    await renameDurably(temp, final)
  } catch {
    await rm(temp, {force: true})
  }
}

function registrySource(ref: ImageReference, env: ResolveEnv, lockedDigest: string | undefined): DocumentSource {
  const client = env.pool.client(ref.registry)
  const origin: BlobOrigin = {kind: 'registry', registry: ref.registry, repository: ref.repository}
  const fetched = async (reference: string): Promise<Document> => {
    const m = await client.getManifest(ref.repository, reference)
    const d = doc(m.bytes, m.mediaType, m.digest)
    await toCache(env.cacheDir, d)
    return d
  }
  const byDigest = async (digest: string, mediaType?: string): Promise<Document> => {
    const cached = await fromCache(env.cacheDir, digest)
    if (cached) return doc(cached, mediaType ?? '', digest)
    return fetched(digest)
  }
  return {
    origin,
    async top() {
      const pinned = ref.digest ?? lockedDigest
      if (pinned) return byDigest(pinned)
      // A HEAD gives the tag's digest; with a cache the document itself may then need no download.
      // Only a cached copy is taken on the HEAD's word (and it is hashed): otherwise the tag is
      // fetched, since a registry's Docker-Content-Digest is not always the digest of what it serves.
      if (env.cacheDir) {
        const head = await client.headManifest(ref.repository, ref.tag as string)
        const cached = head && (await fromCache(env.cacheDir, head.digest))
        if (head && cached) return doc(cached, head.mediaType, head.digest)
      }
      return fetched(ref.tag as string)
    },
    async get(desc) {
      return (await byDigest(desc.digest, desc.mediaType)).bytes
    },
  }
}

const LOCAL_REF = /^(oci|oci-archive):(.+)$/

/** `oci:PATH[:TAG]` and `oci-archive:FILE[:TAG]`; PATH is relative to the spec. */
function parseLocal(specRef: string, baseDir: string): {kind: 'oci' | 'oci-archive'; path: string; tag?: string} | undefined {
  const m = LOCAL_REF.exec(specRef)
  if (!m) return undefined
  let path = m[2] as string
  let tag: string | undefined
  // As skopeo splits it: the path ends at its first ":" (a path with a colon cannot be named).
  const colon = path.indexOf(':')
  if (colon > 0) {
    tag = path.slice(colon + 1)
    path = path.slice(0, colon)
  }
  return {kind: m[1] as 'oci' | 'oci-archive', path: isAbsolute(path) ? path : resolvePath(baseDir, path), ...(tag ? {tag} : {})}
}

/**
 * A local image's name in the bundle: its tag when that is a full reference (`quay.io/org/app:1`),
 * otherwise `localhost/<folder>:<tag>`, so that `images push` can still map it to a repository.
 */
function localName(path: string, tag: string | undefined, top: Descriptor): string {
  const named = tag ?? top.annotations?.[REF_NAME]
  if (named && named.includes('/')) {
    try {
      return formatReference(parseReference(named))
    } catch {
      // not a reference: fall through to a name made from the folder
    }
  }
  const repo = basename(path).toLowerCase().replace(/\.(tar|oci)$/, '').replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '') || 'image'
  const t = named && /^\w[\w.-]{0,127}$/.test(named) ? named : 'latest'
  return `localhost/${repo}:${t}`
}

async function localSource(local: NonNullable<ReturnType<typeof parseLocal>>, env: ResolveEnv, subject: string): Promise<{source: DocumentSource; name: string}> {
  let dir = local.path
  if (local.kind === 'oci-archive') {
    dir = join(env.workDir, `oci-archive-${env.seq}`)
    await extractOciArchive(local.path, dir, subject)
  }
  const index = await readLayoutIndex(dir, subject)
  const top = findInLayout(index, local.tag, local.path, subject)
  const source: DocumentSource = {
    origin: {kind: 'layout', dir},
    async top() {
      return doc(await readLayoutDocument(dir, top.digest, subject), top.mediaType, top.digest)
    },
    async get(desc) {
      return readLayoutDocument(dir, desc.digest, subject)
    },
  }
  return {source, name: localName(local.path, local.tag, top)}
}

/** The digest of the manifest an attestation manifest describes (BuildKit's `vnd.docker.reference.*` annotations). */
function attestationOf(d: Descriptor): string | undefined {
  const a = d.annotations
  return a?.['vnd.docker.reference.type'] === 'attestation-manifest' ? a['vnd.docker.reference.digest'] : undefined
}

function wantsAll(platforms: string[]): boolean {
  return platforms.includes('all')
}

function missingPlatform(name: string, wanted: string, available: string[], subject: string): AirlockError {
  return new AirlockError('PLATFORM_MISSING', `${name} has no ${wanted} image (it has ${available.length > 0 ? available.join(', ') : 'no runnable platform'})`, {
    subject,
    hint: `bundle the platforms it has (per-image "platforms:" in the spec, or --platform), or pick another image`,
  })
}

/** Refuses a malformed reference (REFERENCE_INVALID naming `subject`) without touching the network. */
export function checkReference(specRef: string, subject: string): void {
  if (!LOCAL_REF.test(specRef)) parseReference(specRef, subject)
}

/**
 * Resolves one spec image: the reference to a digest, the platforms to child manifests, and every
 * blob's digest and size, without downloading any layer. A config is fetched (into the blob store,
 * so it is not fetched twice) only to learn a single-platform image's platform.
 */
export async function resolveImage(input: ResolveInput, env: ResolveEnv): Promise<ResolvedImage> {
  const {subject} = input
  const local = parseLocal(input.specRef, env.baseDir)
  let source: DocumentSource
  let name: string
  if (local) {
    ;({source, name} = await localSource(local, env, subject))
  } else {
    const ref = parseReference(input.specRef, subject)
    source = registrySource(ref, env, ref.digest ? undefined : input.lockedDigest)
    name = formatReference(ref)
  }
  const top = await source.top()
  const parsed = parseManifest(top.bytes, top.mediaType, `${name} (${top.digest})`)
  top.mediaType = parsed.mediaType
  const documents: Document[] = []
  const manifests: {doc: Document; manifest: ImageManifest}[] = []
  const platforms: string[] = []
  let stored = top

  if (parsed.kind === 'index') {
    let selected: Descriptor[]
    if (wantsAll(input.platforms)) {
      selected = parsed.manifests
    } else {
      const available = parsed.manifests.filter((d) => isRunnablePlatform(d.platform))
      selected = []
      for (const p of input.platforms) {
        const wanted = parsePlatform(p, subject)
        const match = available.find((d) => platformMatches(wanted, d.platform as Platform))
        if (!match) throw missingPlatform(name, p, available.map((d) => formatPlatform(d.platform as Platform)), subject)
        if (!selected.includes(match)) selected.push(match)
      }
      // BuildKit's attestation manifests (platform unknown/unknown) go with the image they describe, so
      // that taking every platform an index has keeps the index, and its digest, as the registry has it.
      const chosen = new Set(selected.map((d) => d.digest))
      selected = parsed.manifests.filter((d) => chosen.has(d.digest) || (attestationOf(d) !== undefined && chosen.has(attestationOf(d) as string)))
    }
    if (selected.length !== parsed.manifests.length) {
      // Some platforms only: store an index of just those, so the layout is complete as it stands.
      const raw = JSON.parse(top.bytes.toString('utf8')) as Record<string, unknown>
      const rawManifests = raw.manifests as Descriptor[]
      raw.manifests = rawManifests.filter((d) => selected.some((s) => s.digest === d.digest))
      stored = doc(Buffer.from(JSON.stringify(raw)), parsed.mediaType)
    }
    documents.push(stored)
    for (const d of selected) {
      const child = doc(await source.get(d), d.mediaType, d.digest)
      if (child.digest !== d.digest) throw new AirlockError('DIGEST_MISMATCH', `${name}: manifest ${d.digest} arrived with ${child.digest}`, {subject: `image ${name} manifest ${d.digest}`})
      const m = parseManifest(child.bytes, d.mediaType, `${name} manifest ${d.digest}`)
      if (m.kind !== 'manifest') throw new AirlockError('MANIFEST_INVALID', `${name}: an index inside an index is not supported`, {subject})
      child.mediaType = m.mediaType
      documents.push(child)
      manifests.push({doc: child, manifest: m})
      if (isRunnablePlatform(d.platform)) platforms.push(formatPlatform(d.platform))
    }
  } else {
    documents.push(top)
    manifests.push({doc: top, manifest: parsed})
  }

  const blobs: Blob[] = []
  const seen = new Set<string>()
  for (const {manifest} of manifests) {
    for (const b of [manifest.config, ...manifest.layers]) {
      if (seen.has(b.digest)) continue
      seen.add(b.digest)
      blobs.push({digest: b.digest, size: b.size, mediaType: b.mediaType})
      env.fetcher.register(b.digest, b.size, source.origin, `image ${name} blob ${b.digest}`, Array.isArray(b.urls) ? b.urls.filter((u): u is string => typeof u === 'string') : undefined)
    }
  }

  if (parsed.kind === 'manifest') {
    const config = parsed.config
    if (config.size > MAX_MANIFEST_BYTES) throw new AirlockError('MANIFEST_INVALID', `${name}: config of ${config.size} bytes is too large`, {subject})
    const file = await env.fetcher.ensure(config.digest)
    let platform: Platform | undefined
    try {
      const c = JSON.parse(await readFile(file, 'utf8')) as {os?: string; architecture?: string; variant?: string}
      if (c.os && c.architecture) platform = {os: c.os, architecture: c.architecture, ...(c.variant ? {variant: c.variant} : {})}
    } catch {
      platform = undefined // not an image config (an artifact): no platform to check
    }
    if (platform) platforms.push(formatPlatform(platform))
    if (!wantsAll(input.platforms)) {
      for (const p of input.platforms) {
        if (!platform || !platformMatches(parsePlatform(p, subject), platform)) throw missingPlatform(name, p, platforms, subject)
      }
    }
  }

  return {specRef: input.specRef, name, sourceDigest: top.digest, top: stored, documents, blobs, origin: source.origin, platforms}
}
