/*
 * Test data for the scale benchmark: an OCI layout of many images (8-12 layers each, shared base
 * layers, one multi-arch index), written fast, and a docker-registry holding exactly those images.
 *
 * Layers are random bytes (registries never look inside a layer, and real layers are compressed, so
 * random bytes behave alike): one random pool is filled once and every layer is a unique 64-byte head
 * followed by pool bytes from a random offset, so writing 4 GB costs disk time, not RNG time.
 *
 * The registry is seeded by writing distribution's own filesystem storage (blobs hard-linked from the
 * layout, repository links beside them) instead of `skopeo copy`-ing every byte through HTTP: seeding
 * 4 GB then takes seconds and no second copy of the data. `checkSeeded` reads one image back with
 * skopeo so a layout the registry does not understand fails loudly.
 */
import {createHash, randomBytes, randomFillSync} from 'node:crypto'
import {link, mkdir, open, rename, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {skopeo, startRegistry, type Registry} from '../test/support/registry.js'

const MT_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const MT_INDEX = 'application/vnd.oci.image.index.v1+json'
const MT_CONFIG = 'application/vnd.oci.image.config.v1+json'
const MT_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip'

export interface Blob {
  digest: string
  size: number
  mediaType: string
}

export interface SeedImage {
  /** repository path under the registry, e.g. bench/app-07 */
  repo: string
  tag: string
  /** the manifest or index the tag points at */
  top: Blob
  /** every manifest (the top one, and an index's children) */
  manifests: Blob[]
  /** configs and layers */
  blobs: Blob[]
  multiArch: boolean
  /** layers of each of its image manifests */
  layerCounts: number[]
}

export interface Seeded {
  layout: string
  images: SeedImage[]
  /** distinct blobs (layers + configs), and distinct layer bytes */
  distinctBlobs: number
  distinctLayers: number
  totalBytes: number
}

export interface SeedOptions {
  dir: string
  images: number
  totalBytes: number
  minLayers?: number
  maxLayers?: number
  /** base layer families shared by the images (round robin); they hold `baseShare` of the bytes */
  baseFamilies?: number
  baseShare?: number
}

const POOL = 16 << 20
let pool: Buffer | undefined

/** xorshift so the layer plan (counts, sizes) is the same for the same options in every run. */
function planRandom(seed: number): () => number {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 0x1_0000_0000
  }
}

async function writeRandomBlob(layout: string, size: number): Promise<Blob> {
  pool ??= randomFillSync(Buffer.allocUnsafe(POOL))
  const hash = createHash('sha256')
  const tmp = join(layout, `.layer-${randomBytes(6).toString('hex')}`)
  const fh = await open(tmp, 'w')
  try {
    const head = randomBytes(Math.min(64, size))
    hash.update(head)
    await fh.write(head)
    let left = size - head.length
    let off = Math.floor(Math.random() * POOL)
    while (left > 0) {
      const n = Math.min(left, POOL - off, 1 << 20)
      const chunk = pool.subarray(off, off + n)
      hash.update(chunk)
      await fh.write(chunk)
      left -= n
      off = (off + n) % POOL
    }
  } finally {
    await fh.close()
  }
  const digest = `sha256:${hash.digest('hex')}`
  await rename(tmp, join(layout, 'blobs', 'sha256', digest.slice(7)))
  return {digest, size, mediaType: MT_LAYER}
}

async function writeJsonBlob(layout: string, value: unknown, mediaType: string): Promise<Blob> {
  const data = Buffer.from(JSON.stringify(value))
  const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`
  await writeFile(join(layout, 'blobs', 'sha256', digest.slice(7)), data)
  return {digest, size: data.length, mediaType}
}

const desc = (b: Blob) => ({mediaType: b.mediaType, digest: b.digest, size: b.size})

async function writeImage(layout: string, layers: Blob[], platform: {os: string; architecture: string}, label: string): Promise<{manifest: Blob; config: Blob}> {
  const config = await writeJsonBlob(layout, {...platform, config: {Labels: {bench: label}}, rootfs: {type: 'layers', diff_ids: layers.map((l) => l.digest)}}, MT_CONFIG)
  const manifest = await writeJsonBlob(layout, {schemaVersion: 2, mediaType: MT_MANIFEST, config: desc(config), layers: layers.map(desc)}, MT_MANIFEST)
  return {manifest, config}
}

/**
 * Writes the layout: `baseFamilies` families of 1 base layer (together `baseShare` of the bytes),
 * each image one family's base + its own 7-11 layers; image 0 is an index of linux/amd64 and
 * linux/arm64, each with its own layers.
 */
export async function writeScaleLayout(o: SeedOptions): Promise<Seeded> {
  const layout = o.dir
  await mkdir(join(layout, 'blobs', 'sha256'), {recursive: true})
  const rnd = planRandom(o.images * 7919 + Math.round(o.totalBytes / 1e6))
  const minL = o.minLayers ?? 8
  const maxL = o.maxLayers ?? 12
  const families = Math.max(1, Math.min(o.baseFamilies ?? 4, o.images))
  const baseShare = o.images === 1 ? 0 : (o.baseShare ?? 0.2)
  // The plan first: how many own layers each image (and the index's second platform) has, and weights.
  const own: number[][] = []
  const units = o.images + 1 // + the arm64 image of the index
  for (let i = 0; i < units; i++) {
    const n = minL + Math.floor(rnd() * (maxL - minL + 1)) - (baseShare > 0 ? 1 : 0)
    own.push(Array.from({length: n}, () => 0.2 + rnd() * 1.8))
  }
  const weightSum = own.flat().reduce((a, b) => a + b, 0)
  const ownBytes = o.totalBytes * (1 - baseShare)
  const bases: Blob[] = []
  if (baseShare > 0) for (let f = 0; f < families; f++) bases.push(await writeRandomBlob(layout, Math.max(1024, Math.floor((o.totalBytes * baseShare) / families))))
  const images: SeedImage[] = []
  let unit = 0
  const layersOf = async (): Promise<Blob[]> => {
    const ws = own[unit++] as number[]
    const out: Blob[] = []
    for (const w of ws) out.push(await writeRandomBlob(layout, Math.max(1024, Math.floor((ownBytes * w) / weightSum))))
    return out
  }
  const topRefs: {tag: string; top: Blob}[] = []
  for (let i = 0; i < o.images; i++) {
    const base = bases.length > 0 ? [bases[i % families] as Blob] : []
    const repo = `bench/app-${String(i).padStart(3, '0')}`
    if (i === 0) {
      const amdLayers = [...base, ...(await layersOf())]
      const armLayers = [...base, ...(await layersOf())]
      const amd = await writeImage(layout, amdLayers, {os: 'linux', architecture: 'amd64'}, `${repo}-amd64`)
      const arm = await writeImage(layout, armLayers, {os: 'linux', architecture: 'arm64'}, `${repo}-arm64`)
      const index = await writeJsonBlob(layout, {
        schemaVersion: 2,
        mediaType: MT_INDEX,
        manifests: [
          {...desc(amd.manifest), platform: {os: 'linux', architecture: 'amd64'}},
          {...desc(arm.manifest), platform: {os: 'linux', architecture: 'arm64'}},
        ],
      }, MT_INDEX)
      images.push({repo, tag: '1.0', top: index, manifests: [index, amd.manifest, arm.manifest], blobs: [amd.config, arm.config, ...uniq([...amdLayers, ...armLayers])], multiArch: true, layerCounts: [amdLayers.length, armLayers.length]})
      topRefs.push({tag: repo, top: index})
    } else {
      const layers = [...base, ...(await layersOf())]
      const img = await writeImage(layout, layers, {os: 'linux', architecture: 'amd64'}, repo)
      images.push({repo, tag: '1.0', top: img.manifest, manifests: [img.manifest], blobs: [img.config, ...layers], multiArch: false, layerCounts: [layers.length]})
      topRefs.push({tag: repo, top: img.manifest})
    }
  }
  await writeFile(join(layout, 'oci-layout'), JSON.stringify({imageLayoutVersion: '1.0.0'}))
  await writeFile(join(layout, 'index.json'), JSON.stringify({schemaVersion: 2, mediaType: MT_INDEX, manifests: topRefs.map((r) => ({...desc(r.top), annotations: {'org.opencontainers.image.ref.name': r.tag}}))}))
  const distinct = new Map<string, Blob>()
  for (const img of images) for (const b of img.blobs) distinct.set(b.digest, b)
  const layers = [...distinct.values()].filter((b) => b.mediaType === MT_LAYER)
  return {layout, images, distinctBlobs: distinct.size, distinctLayers: layers.length, totalBytes: layers.reduce((n, b) => n + b.size, 0)}
}

function uniq(blobs: Blob[]): Blob[] {
  return [...new Map(blobs.map((b) => [b.digest, b])).values()]
}

const linkFile = async (path: string, digest: string) => {
  await mkdir(path, {recursive: true})
  await writeFile(join(path, 'link'), digest)
}

/** A fresh docker-registry whose storage holds every image of `s` (blob data hard-linked). */
export async function seedRegistry(s: Seeded): Promise<Registry> {
  const registry = await startRegistry()
  const v2 = join(registry.dir, 'data', 'docker', 'registry', 'v2')
  const placed = new Set<string>()
  const placeBlob = async (b: Blob) => {
    if (placed.has(b.digest)) return
    placed.add(b.digest)
    const hex = b.digest.slice(7)
    const dir = join(v2, 'blobs', 'sha256', hex.slice(0, 2), hex)
    await mkdir(dir, {recursive: true})
    await link(join(s.layout, 'blobs', 'sha256', hex), join(dir, 'data'))
  }
  for (const img of s.images) {
    const repo = join(v2, 'repositories', img.repo)
    for (const b of [...img.manifests, ...img.blobs]) await placeBlob(b)
    for (const b of img.blobs) await linkFile(join(repo, '_layers', 'sha256', b.digest.slice(7)), b.digest)
    for (const m of img.manifests) await linkFile(join(repo, '_manifests', 'revisions', 'sha256', m.digest.slice(7)), m.digest)
    await linkFile(join(repo, '_manifests', 'tags', img.tag, 'current'), img.top.digest)
    await linkFile(join(repo, '_manifests', 'tags', img.tag, 'index', 'sha256', img.top.digest.slice(7)), img.top.digest)
  }
  return registry
}

/** Reads every image's top manifest back through the registry; a storage layout it rejects fails here. */
export async function checkSeeded(registry: Registry, s: Seeded): Promise<void> {
  for (const img of [s.images[0], s.images.at(-1)]) {
    if (!img) continue
    const raw = await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/${img.repo}:${img.tag}`])
    const got = `sha256:${createHash('sha256').update(raw).digest('hex')}`
    if (got !== img.top.digest) throw new Error(`seeded registry serves ${got} for ${img.repo}:${img.tag}, expected ${img.top.digest}`)
  }
}
