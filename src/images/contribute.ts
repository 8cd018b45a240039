import {readFile} from 'node:fs/promises'
import pLimit from 'p-limit'

import type {BuildContext, Contribution} from '../bundle/build-context.js'
import {bufferEntry, type EntrySource} from '../bundle/entry.js'
import type {ImageRecord, InventoryEntry} from '../bundle/format.js'
import {baseCarries} from '../bundle/since.js'
import {blobPath} from '../oci/digest.js'
import {OCI_LAYOUT} from '../oci/layout.js'
import {parseManifest} from '../oci/manifest.js'
import {MT, REF_NAME, SOURCE_DIGEST} from '../oci/media-types.js'
import {RegistryPool} from '../registry/client.js'
import {Transport} from '../registry/transport.js'
import {AirlockError, fromFsError} from '../ui/errors.js'
import {HELM} from '../charts/media-types.js'
import {planCharts, type ChartPlan} from '../charts/plan.js'
import {formatReference, parseReference} from '../registry/reference.js'
import {BlobFetcher} from './fetcher.js'
import {lockPathFor, readLock, writeLock} from './lock.js'
import {checkReference, resolveImage, type ResolvedImage} from './resolve.js'
import {collectReferrers, layoutReferrerDescriptors, type ImageReferrers, type ReferrerPolicy, type ReferrerRecord} from '../referrers/index.js'
import type {SpecImage} from '../spec/schema.js'
import {sbomImage} from '../sbom/images.js'

/** Per-image facts kept in manifest.json `extensions.images` for `images list` and `images push`. */
export interface ImageExtension {
  ref: string
  name: string
  sourceDigest: string
  digest: string
  /** bytes of this image's blobs that another image of the bundle also uses */
  sharedBytes: number
  /** signatures, attestations and SBOMs carried beside it (src/referrers) */
  referrers?: ReferrerRecord[]
  /** the upstream cosign signature the spec required, and the key it verified with */
  signature?: {key: string; signature: string; dockerReference?: string}
}

export const LAYOUT_DIR = 'images'

/** The full reference, so nginx:1.25 and docker.io/library/nginx:1.25 are one image; a local ref is itself. */
function normalName(specRef: string): string {
  try {
    return formatReference(parseReference(specRef))
  } catch {
    return specRef
  }
}

function specRefOf(image: string | {ref: string}): string {
  return typeof image === 'string' ? image : image.ref
}

/** An image entry's referrer policy: its own verify and excludeReferrers win over the spec's. */
/**
 * Promise.all that waits for every task before it throws the first failure: a task still downloading
 * into the work folder when the build gives up would race the folder's removal (and leave files behind).
 */
async function settleAll<T>(tasks: Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(tasks)
  const failures = settled.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown)
  // a mistake in the spec (exit 2) is what to fix first: it is reported before a registry that did not answer
  const failed = failures.find((e) => e instanceof AirlockError && e.exitCode === 2) ?? failures[0]
  if (failures.length > 0) throw failed
  return settled.map((r) => (r as PromiseFulfilledResult<T>).value)
}

function referrerPolicy(ctx: BuildContext, image: SpecImage, subject: string): ReferrerPolicy {
  const spec = ctx.loaded.spec.spec
  const own = typeof image === 'string' ? undefined : image
  const cosignKey = own?.verify?.cosignKey ?? spec.verify?.cosignKey
  return {exclude: Boolean(ctx.options.excludeReferrers || (own?.excludeReferrers ?? spec.excludeReferrers)), subject, ...(cosignKey ? {cosignKey} : {})}
}

/**
 * spec.images -> `images/` as an OCI image layout. Everything is resolved (tags to digests,
 * platforms to manifests, every blob's size and digest) before a byte of the bundle is written; the
 * blob entries download when the writer reaches them, a few ahead, each blob once.
 */
export async function contributeImages(ctx: BuildContext): Promise<Contribution | undefined> {
  const images = ctx.loaded.spec.spec.images
  if (images.length === 0 && ctx.loaded.spec.spec.charts.length === 0) return undefined
  const {options} = ctx
  const ca = options.registryCa ? await readFile(options.registryCa, 'utf8').catch((error: unknown) => {
    throw fromFsError(error, options.registryCa ?? '', 'registry CA file')
  }) : undefined
  const pool = new RegistryPool(new Transport({ca, insecure: options.insecureRegistries}))
  const concurrency = options.concurrency ?? 4
  const fetcher = new BlobFetcher(pool, ctx.workDir, concurrency, options.cacheDir)
  const lockPath = lockPathFor(ctx.loaded.path)
  const locked = options.lock ? new Map<string, string>() : await readLock(lockPath)
  const defaults = options.platforms && options.platforms.length > 0 ? options.platforms : ctx.loaded.spec.spec.platforms

  // spec.charts: the chart artifacts, and the images they need, resolved below with spec.images
  const charts: ChartPlan | undefined = ctx.loaded.spec.spec.charts.length > 0 ? await planCharts(ctx, {pool, fetcher, locked, platforms: defaults}) : undefined
  const requests: {specRef: string; subject: string; platforms: string[]; foundIn?: string; entry?: SpecImage}[] = images.map((image, i) => ({
    specRef: specRefOf(image),
    subject: `${ctx.loaded.path}#spec.images[${i}]${typeof image === 'string' ? '' : '.ref'}`,
    platforms: typeof image === 'string' ? defaults : (image.platforms ?? defaults),
  }))
  const requested = new Set(requests.map((r) => normalName(r.specRef)))
  for (const r of charts?.images ?? []) {
    // an image several charts need, or that spec.images lists too, is resolved and stored once
    if (requested.has(normalName(r.specRef))) continue
    requested.add(normalName(r.specRef))
    requests.push(r)
  }

  // every reference is checked before any is resolved: a typo in the last entry is a spec error
  // (exit 2), not hidden behind an unreachable registry the first entry names
  for (const r of requests) checkReference(r.specRef, r.subject)

  const names = new Map<string, number>()
  const limit = pLimit(concurrency)
  ctx.progress(`resolving ${requests.length} image${requests.length === 1 ? '' : 's'}`)
  const resolved: ResolvedImage[] = await settleAll(
    requests.map((r, i) =>
      limit(() =>
        resolveImage({specRef: r.specRef, subject: r.subject, platforms: r.platforms, lockedDigest: locked.get(r.specRef)}, {pool, fetcher, baseDir: ctx.loaded.baseDir, workDir: ctx.workDir, cacheDir: options.cacheDir, seq: i}).catch((error: unknown) => {
          // a chart's image: say which chart needs it and where it was found
          if (r.foundIn === undefined || !(error instanceof AirlockError)) throw error
          throw new AirlockError(error.code, `${r.subject}: image ${r.specRef} (${r.foundIn}): ${error.message}`, {subject: r.subject, hint: `${error.hint ? `${error.hint}; or ` : ''}give the chart values that name an image that exists, list it under the entry's images:, or set discover: false`, cause: error})
        }),
      ),
    ),
  )
  const carried: ImageReferrers[] = await settleAll(
    // a chart's image takes spec.verify, or its own entry's under spec.charts[N].images
    resolved.map((img, i) => limit(() => collectReferrers(img, referrerPolicy(ctx, i < images.length ? (images[i] as SpecImage) : (requests[i]?.entry ?? img.specRef), i < images.length ? `${ctx.loaded.path}#spec.images[${i}]` : (requests[i]?.subject ?? ctx.loaded.path)), {pool, fetcher, baseDir: ctx.loaded.baseDir}))),
  )
  // an OCI chart's own referrers (a chart signed with cosign sign) travel with it like an image's
  const chartArtifacts = charts?.artifacts ?? []
  const chartCarried: ImageReferrers[] = await settleAll(
    chartArtifacts.map((a) => limit(() => collectReferrers(a, {exclude: Boolean(ctx.options.excludeReferrers || ctx.loaded.spec.spec.excludeReferrers), subject: `${ctx.loaded.path}#spec.charts`}, {pool, fetcher, baseDir: ctx.loaded.baseDir}))),
  )
  for (const [n, a] of chartArtifacts.entries()) {
    const records = chartCarried[n]?.records ?? []
    if (records.length === 0) continue
    for (const c of charts?.extension ?? []) if (c.ref === a.name) c.referrers = records
  }
  const allCarried = [...carried, ...chartCarried]
  resolved.slice(0, images.length).forEach((img, i) => {
    const first = names.get(img.name)
    if (first !== undefined) {
      throw new AirlockError('SPEC_INVALID', `${ctx.loaded.path}#spec.images[${i}]: ${img.name} is already spec.images[${first}]`, {subject: `${ctx.loaded.path}#spec.images[${i}]`, hint: 'list each image once'})
    }
    names.set(img.name, i)
  })

  // How many images use each blob: for shared bytes, and so each blob is one entry.
  const users = new Map<string, number>()
  const stored = [...resolved, ...(charts?.artifacts ?? [])]
  for (const img of stored) for (const d of [...img.documents, ...img.blobs]) users.set(d.digest, (users.get(d.digest) ?? 0) + 1)

  const entries: EntrySource[] = []
  const written = new Set<string>()
  const add = (digest: string, make: () => EntrySource) => {
    if (written.has(digest)) return
    written.add(digest)
    entries.push(make())
  }
  // A differential bundle (--since) leaves out layers the base carries; manifests and configs stay,
  // so the layout's index and every document in it are complete and readable on their own.
  const configs = new Set(stored.flatMap((img) => img.documents.flatMap((d) => {
    const m = parseManifest(d.bytes, d.mediaType, `${img.name} ${d.digest}`)
    return m.kind === 'manifest' ? [m.config.digest] : []
  })))
  const omitted: InventoryEntry[] = []
  const records: ImageRecord[] = []
  const extension: ImageExtension[] = []
  const chartNames = new Set((charts?.artifacts ?? []).map((a) => a.name))
  for (const [n, img] of stored.entries()) {
    for (const d of img.documents) add(d.digest, () => ({...bufferEntry(`${LAYOUT_DIR}/${blobPath(d.digest)}`, d.bytes, 'image-blob'), label: `image ${img.name} manifest ${d.digest}`}))
    for (const b of img.blobs) {
      const path = `${LAYOUT_DIR}/${blobPath(b.digest)}`
      if (!configs.has(b.digest) && baseCarries(ctx.since, path, b.digest.slice('sha256:'.length))) {
        if (!written.has(b.digest)) omitted.push({path, size: b.size, sha256: b.digest.slice('sha256:'.length), role: 'image-blob'})
        written.add(b.digest)
      } else {
        add(b.digest, () => fetcher.entry(b.digest, path))
      }
    }
    const refs = allCarried[n]
    if (refs) {
      // referrers after their image, through the same paths: manifests from memory, blobs fetched and re-hashed
      for (const d of refs.documents) add(d.digest, () => ({...bufferEntry(`${LAYOUT_DIR}/${blobPath(d.digest)}`, d.bytes, 'image-blob'), label: `image ${img.name} referrer ${d.digest}`}))
      for (const r of refs.records) for (const b of r.blobs) add(b.digest, () => fetcher.entry(b.digest, `${LAYOUT_DIR}/${blobPath(b.digest)}`))
    }
    if (chartNames.has(img.name)) continue // charts are listed in extensions.charts
    const all = [...img.documents, ...img.blobs]
    records.push({ref: img.specRef, digest: img.top.digest, mediaType: img.top.mediaType, platforms: img.platforms, size: all.reduce((n, d) => n + d.size, 0)})
    extension.push({
      ref: img.specRef,
      name: img.name,
      sourceDigest: img.sourceDigest,
      digest: img.top.digest,
      sharedBytes: all.filter((d) => (users.get(d.digest) ?? 0) > 1).reduce((n, d) => n + d.size, 0),
      ...(refs && refs.records.length > 0 ? {referrers: refs.records} : {}),
      ...(refs?.signature ? {signature: refs.signature} : {}),
    })
  }
  const index = {
    schemaVersion: 2,
    mediaType: MT.ociIndex,
    manifests: [
      ...stored.map((img) => ({
        mediaType: img.top.mediaType,
        ...(chartNames.has(img.name) ? {artifactType: HELM.config} : {}),
        digest: img.top.digest,
        size: img.top.size,
        annotations: {[REF_NAME]: img.name, ...(img.sourceDigest === img.top.digest ? {} : {[SOURCE_DIGEST]: img.sourceDigest})},
      })),
      // referrers are in the index too, so the layout holds every blob it references; they have no ref.name
      ...layoutReferrerDescriptors(allCarried.flatMap((c) => c.records)),
    ],
  }
  entries.push(bufferEntry(`${LAYOUT_DIR}/index.json`, `${JSON.stringify(index, null, 2)}\n`, 'image-layout'))
  entries.push(bufferEntry(`${LAYOUT_DIR}/oci-layout`, OCI_LAYOUT, 'image-layout'))

  const notes: string[] = []
  if (options.lock) {
    await writeLock(lockPath, [...resolved.map((img) => ({ref: img.specRef, name: img.name, digest: img.sourceDigest})), ...(charts?.locks ?? [])])
    notes.push(`lock file written: ${lockPath}`)
  } else if (locked.size > 0) {
    notes.push(`image digests pinned by ${lockPath}`)
  }
  const left = new Set(omitted.map((o) => `sha256:${o.sha256}`))
  const blobBytes = stored.flatMap((img) => img.blobs).filter((b, i, all) => !left.has(b.digest) && all.findIndex((x) => x.digest === b.digest) === i).reduce((n, b) => n + b.size, 0)
  if (charts) notes.push(...charts.notes, `charts: ${charts.extension.length}, needing ${charts.images.length} image${charts.images.length === 1 ? '' : 's'} (${resolved.length - images.length} not in spec.images)`)
  notes.push(...allCarried.flatMap((c) => c.notes))
  const referrerCount = allCarried.reduce((n, c) => n + c.records.length, 0)
  if (referrerCount > 0) notes.push(`referrers: ${referrerCount} (signatures, attestations, SBOMs) carried beside their images`)
  for (const [n, c] of carried.entries()) if (c.signature) notes.push(`${resolved[n]?.name}: cosign signature verified with ${c.signature.key}`)
  notes.push(`images: ${resolved.length}, ${fetcher.stats.blobs} blobs (${blobBytes} bytes) stored once each`)
  if (ctx.since) notes.push(`left out ${omitted.length} layer${omitted.length === 1 ? '' : 's'} (${omitted.reduce((n, o) => n + o.size, 0)} bytes) that ${ctx.since.file} carries`)
  entries.push(...(charts?.entries ?? []))
  return {entries, images: records, extensions: {images: extension, ...(charts ? {charts: charts.extension} : {})}, notes, omitted, sbom: {images: resolved.map((img, n) => sbomImage(img, carried[n]?.records ?? []))}}
}
