/* Shared by the image benchmarks: a local registry seeded with images that share base layers. */
import {execFile} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import {mkdir, open, rename, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {seed, startRegistry, tempDir, writeLayout, type Registry, type TestImage} from '../test/support/registry.js'

const run = promisify(execFile)

export interface Timed {
  seconds: number
  peakRssMb: number
}

/** Runs a command under /usr/bin/time for wall time and peak RSS. */
export async function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Timed> {
  const started = process.hrtime.bigint()
  const {stderr} = await run('/usr/bin/time', ['-f', 'RSS_KB=%M', cmd, ...args], {maxBuffer: 64 << 20, env: {...process.env, ...env}})
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const rss = Number(/RSS_KB=(\d+)/.exec(stderr)?.[1] ?? 0) / 1024
  return {seconds, peakRssMb: rss}
}

/** A layer of random bytes written straight to the layout (registries do not look inside layers). */
async function writeLayer(layout: string, size: number): Promise<{digest: string; size: number; mediaType: string; diffId: string; data: Buffer}> {
  const hash = createHash('sha256')
  const tmp = join(layout, `layer-${randomBytes(4).toString('hex')}`)
  const fh = await open(tmp, 'w')
  for (let off = 0; off < size; off += 4 << 20) {
    const chunk = randomBytes(Math.min(4 << 20, size - off))
    hash.update(chunk)
    await fh.write(chunk)
  }
  await fh.close()
  const digest = `sha256:${hash.digest('hex')}`
  await rename(tmp, join(layout, 'blobs', 'sha256', digest.slice(7)))
  return {digest, size, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', diffId: digest, data: Buffer.alloc(0)}
}

export interface Seeded {
  registry: Registry
  layout: string
  refs: string[]
  totalMb: number
}

/**
 * `totalMb` of images: two base layers (40% of the bytes) shared by every image, and one app layer
 * per image. Seeded into a fresh plain-HTTP registry with skopeo.
 */
export async function seedImages(totalMb: number, count = 4): Promise<Seeded> {
  const layout = await tempDir('bench-layout')
  await mkdir(join(layout, 'blobs', 'sha256'), {recursive: true})
  const mb = 1 << 20
  const base = [await writeLayer(layout, Math.floor(totalMb * 0.25) * mb), await writeLayer(layout, Math.floor(totalMb * 0.15) * mb)]
  const images: TestImage[] = []
  for (let i = 0; i < count; i++) {
    const app = await writeLayer(layout, Math.floor((totalMb * 0.6) / count) * mb)
    const layers = [...base, app]
    const config = Buffer.from(JSON.stringify({os: 'linux', architecture: 'amd64', rootfs: {type: 'layers', diff_ids: layers.map((l) => l.diffId)}}))
    const cfg = {digest: `sha256:${createHash('sha256').update(config).digest('hex')}`, size: config.length, data: config, mediaType: 'application/vnd.oci.image.config.v1+json'}
    const man = Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: {mediaType: cfg.mediaType, digest: cfg.digest, size: cfg.size}, layers: layers.map((l) => ({mediaType: l.mediaType, digest: l.digest, size: l.size}))}))
    const manifest = {digest: `sha256:${createHash('sha256').update(man).digest('hex')}`, size: man.length, data: man, mediaType: 'application/vnd.oci.image.manifest.v1+json'}
    await writeFile(join(layout, 'blobs', 'sha256', cfg.digest.slice(7)), config)
    images.push({manifest, config: cfg, layers: [], platform: {os: 'linux', architecture: 'amd64'}})
  }
  await writeLayout(layout, images.map((image, i) => ({tag: `img${i}`, image})))
  const registry = await startRegistry()
  const refs = images.map((_, i) => `${registry.host}/bench/img${i}:1.0`)
  for (const [i, ref] of refs.entries()) await seed(layout, `img${i}`, ref)
  return {registry, layout, refs, totalMb}
}
