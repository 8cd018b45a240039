import {Readable} from 'node:stream'
import {readFile} from 'node:fs/promises'
import pLimit from 'p-limit'

import type {BundleManifest} from '../bundle/format.js'
import {blobPath, isDigest} from '../oci/digest.js'
import {MAX_MANIFEST_BYTES, parseManifest, type Descriptor} from '../oci/manifest.js'
import {REF_NAME, SOURCE_DIGEST} from '../oci/media-types.js'
import {RegistryPool, type RegistryClient} from '../registry/client.js'
import {parseReference, type ImageReference} from '../registry/reference.js'
import {Transport} from '../registry/transport.js'
import type {Trust} from '../signing/trust.js'
import {AirlockError, fromFsError} from '../ui/errors.js'
import {openRandomAccess, type RandomAccessBundle} from '../transport/random-access.js'
import {locateBundleEntries, type Located} from './bundle-read.js'
import {LAYOUT_DIR} from './contribute.js'
import {bundleCharts, describePushedChart, type PushedChart} from '../charts/push.js'
import {isReferrerDescriptor, pushReferrers, referrersOf, type PushedReferrers, type ReferrerToPush} from '../referrers/index.js'

export interface PushOptions {
  bundle: string
  /** HOST[:PORT][/PREFIX] */
  registry: string
  /** verify the bundle against this signer first; undefined only with --no-verify */
  trust?: Trust
  registryCa?: string
  insecureRegistries?: string[]
  concurrency?: number
  env?: NodeJS.ProcessEnv
  progress?: (text: string) => void
  /** write each chart's site values file (NAME-VERSION.site-values.yaml) here */
  valuesDir?: string
}

export interface PushedImage {
  /** the full source reference (the layout's ref.name) */
  source: string
  sourceDigest: string
  /** where it now is: HOST/PREFIX/path:tag */
  destination: string
  digest: string
  /** true when only some platforms of an index were bundled, so the pushed index has a new digest */
  digestChanged: boolean
  /** signatures, attestations and SBOMs pushed after it, digests unchanged */
  referrers?: number
}

export interface PushResult {
  bundle: string
  registry: string
  verified: boolean
  images: PushedImage[]
  /** Helm charts, pushed like images with their version as the tag (src/charts/push.ts) */
  charts?: PushedChart[]
  blobs: {uploaded: number; uploadedBytes: number; mounted: number; present: number}
  manifests: {pushed: number; present: number}
  /** the images' referrers: manifests pushed or present, cosign tags set, tag schema indexes written */
  referrers?: PushedReferrers
  /** a differential bundle: the base it follows, and how many left-out blobs were found in the registry */
  base?: {name: string; version: string; sha256: string; blobsChecked: number}
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/

/** `HOST[:PORT][/PREFIX]` (HOST may be an IPv6 literal in brackets), checked as strictly as an image reference. */
export function parseDestination(text: string): {host: string; prefix: string} {
  const [host = '', ...prefix] = text.replace(/\/+$/, '').split('/')
  const ok = /^(?:localhost|[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::\d{1,5})?$/.test(host)
  if (!ok || prefix.some((p) => !COMPONENT.test(p))) {
    throw new AirlockError('USAGE', `--registry ${text} is not HOST[:PORT][/PREFIX]`, {subject: '--registry', hint: 'e.g. registry.internal:5000/platform; the prefix is lower-case path components'})
  }
  return {host, prefix: prefix.join('/')}
}

/**
 * Pushes every image of a bundle into one registry, reading blobs out of the tar by offset. Order
 * per image: blobs (HEAD to skip, cross-repository mount, else upload), then child manifests by
 * digest, then the image's manifest or index by digest, then its tag. A second run finds everything
 * present and uploads nothing.
 */
export async function pushBundleImages(options: PushOptions): Promise<PushResult> {
  const dest = parseDestination(options.registry)
  // a file, its first part or its .split.json index; a .tar.gz is refused here, having no offsets
  const ra = await openRandomAccess(options.bundle)
  try {
    return await pushFrom(ra, dest, options)
  } finally {
    await ra.close()
  }
}

async function pushFrom(ra: RandomAccessBundle, dest: {host: string; prefix: string}, options: PushOptions): Promise<PushResult> {
  const {bundle} = options
  const progress = options.progress ?? (() => {})
  const readAt = (_: string, loc: Located) => {
    if (loc.size > MAX_MANIFEST_BYTES) throw new AirlockError('MANIFEST_INVALID', `an entry of ${loc.size} bytes where a manifest was expected`, {subject: bundle})
    return ra.readBuffer(loc.offset, loc.size)
  }

  if (options.trust) progress(`verifying ${bundle}`)
  // one walk for both: --no-verify skips the signature and the hashing, never a header check
  const {located, manifest} = await locateBundleEntries(ra, bundle, {trust: options.trust, only: `${LAYOUT_DIR}/`})
  const at = (rel: string, what: string): Located => {
    const l = located.get(rel)
    if (!l) throw new AirlockError('ENTRY_MISSING', `${bundle} has no ${rel} (${what})`, {subject: rel, hint: 'the bundle holds no images, or it is incomplete'})
    return l
  }
  const empty: PushResult = {bundle, registry: options.registry, verified: Boolean(options.trust), images: [], blobs: {uploaded: 0, uploadedBytes: 0, mounted: 0, present: 0}, manifests: {pushed: 0, present: 0}}
  if (!located.has(`${LAYOUT_DIR}/index.json`)) return empty // a bundle without images: nothing to push
  const indexBytes = await readAt(bundle, at(`${LAYOUT_DIR}/index.json`, 'the image index'))
  const index = parseManifest(indexBytes, undefined, `${LAYOUT_DIR}/index.json`)
  if (index.kind !== 'index') throw new AirlockError('MANIFEST_INVALID', `${LAYOUT_DIR}/index.json is not an index`, {subject: `${LAYOUT_DIR}/index.json`})

  const ca = options.registryCa ? await readFile(options.registryCa, 'utf8').catch((error: unknown) => {
    throw fromFsError(error, options.registryCa ?? '', 'registry CA file')
  }) : undefined
  const pool = new RegistryPool(new Transport({ca, insecure: options.insecureRegistries}), {env: options.env})
  const client = pool.client(dest.host)
  const limit = pLimit(Math.max(1, options.concurrency ?? 4))
  const result = empty
  // Where each blob is known to be in the destination, so the next repository can mount it.
  const placed = new Map<string, string>()
  const readDoc = (d: Descriptor) => readAt(bundle, at(`${LAYOUT_DIR}/${blobPath(d.digest)}`, `manifest ${d.digest}`))

  try {
    // Plan every image first (small documents only), so a differential bundle's base can be checked
    // before a single byte is uploaded.
    const plans: ImagePlan[] = []
    for (const top of index.manifests.filter((d) => !isReferrerDescriptor(d))) {
      const name = top.annotations?.[REF_NAME]
      if (!name) throw new AirlockError('MANIFEST_INVALID', `${LAYOUT_DIR}/index.json: image ${top.digest} has no ${REF_NAME}`, {subject: `${LAYOUT_DIR}/index.json`})
      const src = parseReference(name, `${LAYOUT_DIR}/index.json ${REF_NAME}`)
      const repository = dest.prefix ? `${dest.prefix}/${src.repository}` : src.repository

      // Manifests to push, children before their index, and every blob they reference.
      // each with the media type the document itself declares: registries (GAR, Quay, distribution) refuse a PUT whose Content-Type differs
      const documents: {desc: Descriptor; bytes: Buffer; mediaType: string}[] = []
      const blobs = new Map<string, Descriptor>()
      const topBytes = await readDoc(top)
      const parsed = parseManifest(topBytes, top.mediaType, `${name} ${top.digest}`)
      const manifests = parsed.kind === 'index' ? await Promise.all(parsed.manifests.map(async (d) => ({desc: d, bytes: await readDoc(d)}))) : []
      for (const m of manifests) {
        const child = parseManifest(m.bytes, m.desc.mediaType, `${name} ${m.desc.digest}`)
        if (child.kind !== 'manifest') throw new AirlockError('MANIFEST_INVALID', `${name}: nested index ${m.desc.digest}`, {subject: name})
        for (const b of [child.config, ...child.layers]) blobs.set(b.digest, b)
        documents.push({...m, mediaType: child.mediaType})
      }
      if (parsed.kind === 'manifest') for (const b of [parsed.config, ...parsed.layers]) blobs.set(b.digest, b)
      documents.push({desc: top, bytes: topBytes, mediaType: parsed.mediaType})
      // its referrers (of the upstream digest or of a platform manifest): their blobs go with the image's
      const own = new Set([top.digest, top.annotations?.[SOURCE_DIGEST] ?? top.digest, ...documents.map((d) => d.desc.digest)])
      const referrers = await Promise.all(referrersOf(index.manifests, own).map(async (d) => ({desc: d, bytes: await readDoc(d)})))
      for (const r of referrers) {
        const m = parseManifest(r.bytes, r.desc.mediaType, `${name} referrer ${r.desc.digest}`)
        if (m.kind === 'manifest') for (const b of [m.config, ...m.layers]) blobs.set(b.digest, b)
      }
      plans.push({top, topBytes, name, src, repository, documents, parsed, blobs, referrers})
    }

    const charts = bundleCharts(manifest)
    const omitted = omittedBlobs(manifest)
    const base = omitted.size > 0 ? await checkOmittedBlobs({plans, omitted, client, limit, host: dest.host, manifest, progress}) : undefined
    if (manifest?.base) result.base = {name: manifest.base.name, version: manifest.base.version, sha256: manifest.base.sha256, blobsChecked: base?.checked ?? 0}

    for (const {top, topBytes, name, src, repository, documents, parsed, blobs, referrers} of plans) {
      progress(`pushing ${name}`)
      await Promise.all(
        [...blobs.values()].map((b) =>
          limit(async () => {
            if (omitted.has(b.digest)) {
              // left out of this bundle: the check above found it in this repository or in another to mount from
              const from = base?.mountFrom.get(`${repository}@${b.digest}`)
              if (from === undefined) result.blobs.present++
              else {
                await client.pushBlob(repository, b.digest, b.size, () => refuseUpload(b.digest, repository), from)
                result.blobs.mounted++
              }
              if (!placed.has(b.digest)) placed.set(b.digest, repository)
              return
            }
            const loc = at(`${LAYOUT_DIR}/${blobPath(b.digest)}`, `blob ${b.digest} of ${name}`)
            if (await client.hasBlob(repository, b.digest)) {
              result.blobs.present++
            } else {
              const how = await client.pushBlob(repository, b.digest, loc.size, (start, end) => Readable.from(ra.read(loc.offset + start, end - start + 1)), placed.get(b.digest))
              if (how === 'mounted') result.blobs.mounted++
              else {
                result.blobs.uploaded++
                result.blobs.uploadedBytes += loc.size
              }
            }
            if (!placed.has(b.digest)) placed.set(b.digest, repository)
          }),
        ),
      )
      for (const d of documents) {
        const head = await client.headManifest(repository, d.desc.digest)
        if (head?.digest === d.desc.digest) result.manifests.present++
        else {
          await client.putManifest(repository, d.desc.digest, d.bytes, d.mediaType)
          result.manifests.pushed++
        }
      }
      if (src.tag) {
        const head = await client.headManifest(repository, src.tag)
        if (head?.digest === top.digest) result.manifests.present++
        else {
          await client.putManifest(repository, src.tag, topBytes, parsed.mediaType)
          result.manifests.pushed++
        }
      }
      if (referrers.length > 0) {
        const r = await pushReferrers(client, repository, referrers)
        const sum = (result.referrers ??= {pushed: 0, present: 0, tagged: 0, tagSchemaUpdates: 0})
        for (const k of ['pushed', 'present', 'tagged', 'tagSchemaUpdates'] as const) sum[k] += r[k]
      }
      const chart = charts.get(name)
      if (chart) {
        ;(result.charts ??= []).push(await describePushedChart(chart, dest, repository, src.tag ?? chart.version, top.digest, options.valuesDir))
        continue
      }
      const sourceDigest = top.annotations?.[SOURCE_DIGEST] ?? src.digest ?? top.digest
      result.images.push({
        ...(referrers.length > 0 ? {referrers: referrers.length} : {}),
        source: name,
        sourceDigest,
        destination: `${dest.host}/${repository}${src.tag ? `:${src.tag}` : ''}@${top.digest}`,
        digest: top.digest,
        digestChanged: sourceDigest !== top.digest,
      })
    }
  } finally {
    pool.close()
  }
  return result
}

interface ImagePlan {
  top: Descriptor
  topBytes: Buffer
  name: string
  src: ImageReference
  repository: string
  documents: {desc: Descriptor; bytes: Buffer; mediaType: string}[]
  parsed: {mediaType: string}
  blobs: Map<string, Descriptor>
  referrers: ReferrerToPush[]
}

/** digest -> size of every image blob a differential bundle left out (manifest.json `base.omitted`). */
function omittedBlobs(manifest: BundleManifest | undefined): Map<string, number> {
  const out = new Map<string, number>()
  for (const o of manifest?.base?.omitted ?? []) {
    if (o.path.startsWith(`${LAYOUT_DIR}/blobs/sha256/`) && isDigest(`sha256:${o.sha256}`)) out.set(`sha256:${o.sha256}`, o.size)
  }
  return out
}

interface OmittedCheck {
  plans: ImagePlan[]
  omitted: Map<string, number>
  client: RegistryClient
  limit: <T>(fn: () => Promise<T>) => Promise<T>
  host: string
  manifest: BundleManifest | undefined
  progress: (text: string) => void
}

/**
 * Every blob a differential bundle leaves out must already be in the registry: in the image's own
 * repository, or in another repository of this push it can be mounted from (a registry answers HEAD
 * per repository). All are checked before anything is uploaded; every missing one is named with
 * the images that need it, so a half-pushed release never happens.
 */
async function checkOmittedBlobs(c: OmittedCheck): Promise<{checked: number; mountFrom: Map<string, string>}> {
  const wanted = new Map<string, {digest: string; repository: string; images: string[]}>()
  for (const p of c.plans) {
    for (const digest of p.blobs.keys()) {
      if (!c.omitted.has(digest)) continue
      const key = `${p.repository}@${digest}`
      const w = wanted.get(key) ?? {digest, repository: p.repository, images: []}
      w.images.push(p.name)
      wanted.set(key, w)
    }
  }
  c.progress(`checking ${wanted.size} blob${wanted.size === 1 ? '' : 's'} the bundle leaves out`)
  const heads = new Map<string, Promise<boolean>>()
  const has = (repository: string, digest: string) => {
    const key = `${repository}@${digest}`
    let p = heads.get(key)
    if (!p) heads.set(key, (p = c.limit(() => c.client.hasBlob(repository, digest))))
    return p
  }
  const repositories = [...new Set(c.plans.map((p) => p.repository))]
  const mountFrom = new Map<string, string>()
  const missing: {digest: string; repository: string; images: string[]}[] = []
  await Promise.all(
    [...wanted.entries()].map(async ([key, w]) => {
      if (await has(w.repository, w.digest)) return
      for (const other of repositories) {
        if (other !== w.repository && (await has(other, w.digest))) {
          mountFrom.set(key, other)
          return
        }
      }
      missing.push(w)
    }),
  )
  if (missing.length > 0) {
    missing.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0))
    const base = c.manifest?.base
    const list = missing.map((m) => `${m.digest} (${m.images.join(', ')})`).join('; ')
    throw new AirlockError('REGISTRY_NOT_FOUND', `${missing.length} blob${missing.length === 1 ? '' : 's'} this differential bundle leaves out ${missing.length === 1 ? 'is' : 'are'} not in ${c.host}: ${list}`, {
      subject: `${c.host}/${missing[0]?.repository}@${missing[0]?.digest}`,
      hint: base ? `push the base bundle ${base.name} ${base.version} (sha256:${base.sha256}) into the same --registry first, then run this again` : 'push the bundle this one was built --since first',
    })
  }
  return {checked: wanted.size, mountFrom}
}

/** An omitted blob has no bytes here: if the registry refuses the mount, say so rather than upload nothing. */
function refuseUpload(digest: string, repository: string): Readable {
  const stream = new Readable({read() {}})
  stream.destroy(new AirlockError('REGISTRY_NOT_FOUND', `the registry would not mount ${digest} into ${repository}, and this differential bundle does not carry it`, {subject: `${repository}@${digest}`, hint: 'push the base bundle into this repository first'}))
  return stream
}
