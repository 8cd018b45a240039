import assert from 'node:assert/strict'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import type {Trust} from '../../src/signing/trust.js'
import {reseal, type CraftEntry, type TestKeys} from '../support/bundles.js'
import {runCli} from '../support/cli.js'
import {makeImage, makeIndex, makeLayer, startRegistry, type Registry, type TestBlob, type TestImage} from '../support/registry.js'
import {allReaders} from './readers.js'
import {rawTar, sha256, signedFixture, tempDirHook} from './tar-craft.js'

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const REF = 'registry.example/team/app:1.0'

interface Layout {
  /** every blob the bundle holds */
  blobs: TestBlob[]
  /** images/index.json's descriptors */
  manifests: Array<Record<string, unknown>>
}

const desc = (b: TestBlob, extra: Record<string, unknown> = {}) => ({mediaType: b.mediaType, digest: b.digest, size: b.size, ...extra})
const json = (value: unknown, mediaType: string): TestBlob => {
  const data = Buffer.from(JSON.stringify(value))
  return {data, size: data.length, digest: `sha256:${sha256(data)}`, mediaType}
}
const tagged = (b: TestBlob, extra: Record<string, unknown> = {}) => desc(b, {annotations: {'org.opencontainers.image.ref.name': REF}, ...extra})
const escape = (s: string) => s.replaceAll(/[.+]/g, '\\$&')
const imageBlobs = (img: TestImage) => [img.manifest, img.config, ...img.layers]

/*
 * An OCI image layout inside a signed bundle whose documents do not hold together, though every entry
 * matches SHA256SUMS: descriptors giving a blob another size or type than it has, an index nested in
 * an index, a layer nobody carries. images push and images serve read the layout; each must refuse it
 * (exit 3, naming the document) before a byte reaches a registry or a client, with or without
 * --no-verify. A layout that holds together is pushed into a real registry, so the cases are real.
 */
describe('hostile image layouts: push and serve refuse a layout that does not hold together', function () {
  this.timeout(120_000)
  const dir = tempDirHook('hostile-layout')
  let keys: TestKeys
  let entries: CraftEntry[]
  let pub: string
  let trust: Trust
  let root: string
  let image: TestImage
  let registry: Registry

  before(async () => {
    ;({keys, entries, pub, trust, root} = await signedFixture(dir()))
    image = makeImage([makeLayer('hostile-layout-a', 2000), makeLayer('hostile-layout-b', 700)])
    registry = await startRegistry()
  })
  after(async () => {
    await registry?.stop()
  })

  /** The signed bundle with `layout` under images/, listed in manifest.json (files, images) and re-sealed. */
  async function bundleWith(name: string, layout: Layout, alsoShown: string[] = []): Promise<string> {
    const index = json({schemaVersion: 2, mediaType: OCI_INDEX, manifests: layout.manifests}, OCI_INDEX)
    const unique = [...new Map(layout.blobs.map((b) => [b.digest, b])).values()]
    const added: CraftEntry[] = [
      {path: `${root}/images/oci-layout`, body: Buffer.from('{"imageLayoutVersion":"1.0.0"}')},
      {path: `${root}/images/index.json`, body: index.data},
      ...unique.map((b) => ({path: `${root}/images/blobs/sha256/${b.digest.slice(7)}`, body: b.data})),
    ]
    const list = entries.map((e) => ({...e}))
    const m = JSON.parse((list[3]!.body as Buffer).toString('utf8'))
    for (const e of added) {
      const rel = e.path.slice(root.length + 1)
      m.files.push({path: rel, size: e.body!.length, sha256: sha256(e.body!), role: rel.includes('/blobs/') ? 'image-blob' : 'image-layout'})
    }
    m.files.sort((a: {path: string}, b: {path: string}) => (a.path < b.path ? -1 : 1))
    const top = layout.manifests[0] as {digest: string}
    m.images = [top.digest, ...alsoShown].map((digest) => ({ref: REF, digest, platforms: ['linux/amd64'], size: unique.reduce((n, b) => n + b.size, 0)}))
    list[3]!.body = Buffer.from(JSON.stringify(m))
    const file = join(dir(), `${name.replaceAll(/[^a-z0-9]+/gi, '-')}.tar`)
    await writeFile(file, rawTar(reseal([...list, ...added], keys.privateKey, pub)))
    return file
  }

  /** push (with and without --no-verify) and serve, from the CLI: each must refuse before any network */
  async function refusedByLayoutReaders(file: string, code: string, message: RegExp): Promise<void> {
    const runs = [
      ['images', 'push', file, '--registry', `${registry.host}/hostile`, '--insecure-registry', registry.host, '--no-verify'],
      ['images', 'push', file, '--registry', `${registry.host}/hostile`, '--insecure-registry', registry.host, '--trust', keys.pub],
      ['images', 'serve', file, '--trust', keys.pub, '--listen', '127.0.0.1:0'],
      ['images', 'serve', file, '--no-verify', '--listen', '127.0.0.1:0'],
    ]
    for (const args of runs) {
      const r = await runCli([...args, '--json'])
      assert.equal(r.code, 3, `${args.slice(0, 2).join(' ')} ${args.slice(3).join(' ')}: ${r.stdout}${r.stderr}`)
      assert.equal(r.json.error.code, code, r.json.error.message)
      assert.match(r.json.error.message, message)
    }
    // nothing reached the registry
    const catalog = await fetch(`http://${registry.host}/v2/_catalog`).then((res) => res.json() as Promise<{repositories: string[]}>)
    assert.deepEqual(catalog.repositories.filter((repo) => repo.startsWith('hostile')), [])
  }

  it('a layout that holds together passes every reader and is pushed into a registry', async () => {
    const file = await bundleWith('good', {blobs: imageBlobs(image), manifests: [tagged(image.manifest)]})
    const codes = await allReaders(file, trust, dir())
    for (const [reader, code] of Object.entries(codes)) assert.equal(code, 'ok', `${reader} answered ${code}`)
    const r = await runCli(['images', 'push', file, '--registry', `${registry.host}/good`, '--insecure-registry', registry.host, '--no-verify', '--json'])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.equal(r.json.images[0].digest, image.manifest.digest)
  })

  it('descriptors that give a blob another size, or a document another type: MANIFEST_INVALID naming the document', async () => {
    // the layer's descriptor in the (re-hashed) manifest says one byte more than the blob has
    const layer = image.layers[0] as TestBlob
    const lying = json({schemaVersion: 2, mediaType: OCI_MANIFEST, config: desc(image.config), layers: [desc(layer, {size: layer.size + 1}), desc(image.layers[1]!)]}, OCI_MANIFEST)
    await refusedByLayoutReaders(await bundleWith('layer size', {blobs: [lying, ...imageBlobs(image).slice(1)], manifests: [tagged(lying)]}), 'MANIFEST_INVALID', new RegExp(`layers\\[0\\]: its descriptor gives ${layer.digest} ${layer.size + 1} bytes`))
    // index.json calls an index a manifest: it would be pushed and served with the wrong Content-Type
    const index = makeIndex([image])
    await refusedByLayoutReaders(await bundleWith('index typed as manifest', {blobs: [index, ...imageBlobs(image)], manifests: [tagged(index, {mediaType: OCI_MANIFEST})]}), 'MANIFEST_INVALID', new RegExp(`its descriptor says ${escape(OCI_MANIFEST)}, the document .* is ${escape(OCI_INDEX)}`))
  })

  it('index.json against manifest.json and SHA256SUMS, in every reader (verify included): an image or referrer only index.json names, one only manifest.json shows, a size index.json gets wrong', async () => {
    const other = makeImage([makeLayer('hostile-layout-c', 300)])
    const cases: Array<[string, Layout, string, RegExp]> = [
      // pushed and served, but images list (manifest.json) would never show it
      ['hidden image', {blobs: [...imageBlobs(image), ...imageBlobs(other)], manifests: [tagged(image.manifest), desc(other.manifest, {annotations: {'org.opencontainers.image.ref.name': 'registry.example/team/hidden:1.0'}})]}, 'MANIFEST_INVALID', /manifests\[1\] \(registry.example\/team\/hidden:1.0, sha256:\w+\) is not among manifest.json images or charts/],
      // the same, dressed as a referrer (a signature of the image): pushed beside it, listed nowhere
      ['hidden referrer', {blobs: [...imageBlobs(image), ...imageBlobs(other)], manifests: [tagged(image.manifest), desc(other.manifest, {annotations: {'dev.airlock.referrer.subject': image.manifest.digest}})]}, 'MANIFEST_INVALID', /manifests\[1\] is a referrer \(sha256:\w+\) no image's or chart's referrers in manifest.json list/],
      ['size', {blobs: imageBlobs(image), manifests: [tagged(image.manifest, {size: image.manifest.size - 1})]}, 'MANIFEST_INVALID', /manifests\[0\] gives sha256:\w+ \d+ bytes/],
      ['not held', {blobs: imageBlobs(image).slice(1), manifests: [tagged(image.manifest)]}, 'ENTRY_MISSING', /manifests\[0\] is sha256:\w+, which the bundle does not hold/],
    ]
    for (const [name, layout, code, message] of cases) {
      const file = await bundleWith(name, layout)
      const codes = await allReaders(file, trust, dir())
      for (const [reader, got] of Object.entries(codes)) assert.equal(got, code, `${name}: ${reader} answered ${got}`)
      const r = await runCli(['bundle', 'verify', file, '--trust', keys.pub, '--json'])
      assert.equal(r.code, 3, r.stdout + r.stderr)
      assert.match(r.json.error.message, message)
    }
    // an image manifest.json shows that index.json does not name: listed, never pushed
    const file = await bundleWith('shown only', {blobs: [...imageBlobs(image), ...imageBlobs(other)], manifests: [tagged(image.manifest)]}, [other.manifest.digest])
    for (const [reader, got] of Object.entries(await allReaders(file, trust, dir()))) assert.equal(got, 'MANIFEST_INVALID', `shown only: ${reader} answered ${got}`)
  })

  it('one large manifest named by hundreds of images: refused before push or serve holds hundreds of MiB of it', async () => {
    const big = json({schemaVersion: 2, mediaType: OCI_MANIFEST, config: desc(image.config), layers: image.layers.map((l) => desc(l)), annotations: {padding: 'x'.repeat(1 << 20)}}, OCI_MANIFEST)
    const tops = Array.from({length: 260}, (_, i) => desc(big, {annotations: {'org.opencontainers.image.ref.name': `registry.example/team/app:${i}`}}))
    const file = await bundleWith('many names', {blobs: [big, ...imageBlobs(image).slice(1)], manifests: tops})
    await refusedByLayoutReaders(file, 'MANIFEST_INVALID', /its images reach more than 256 MiB of manifests and indexes/)
  })

  it('an index inside an index, and a layer neither carried nor left out: refused before a byte is sent', async () => {
    const inner = makeIndex([image])
    const outer = json({schemaVersion: 2, mediaType: OCI_INDEX, manifests: [desc(inner, {platform: {os: 'linux', architecture: 'amd64'}})]}, OCI_INDEX)
    await refusedByLayoutReaders(await bundleWith('nested index', {blobs: [outer, inner, ...imageBlobs(image)], manifests: [tagged(outer)]}), 'MANIFEST_INVALID', /is an index inside an index/)
    // an index first named as an image itself, then inside another index
    const outer2 = json({schemaVersion: 2, mediaType: OCI_INDEX, manifests: [desc(inner)]}, OCI_INDEX)
    await refusedByLayoutReaders(await bundleWith('index reached twice', {blobs: [outer2, inner, ...imageBlobs(image)], manifests: [tagged(inner), tagged(outer2)]}, [outer2.digest]), 'MANIFEST_INVALID', /is an index inside an index/)
    const missing = imageBlobs(image).filter((b) => b !== image.layers[1])
    await refusedByLayoutReaders(await bundleWith('missing layer', {blobs: missing, manifests: [tagged(image.manifest)]}), 'ENTRY_MISSING', new RegExp(`layers\\[1\\] needs images/blobs/sha256/${image.layers[1]!.digest.slice(7)}, which the bundle neither holds nor leaves out`))
  })
})
