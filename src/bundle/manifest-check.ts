import {AirlockError} from '../ui/errors.js'
import {FORMAT_VERSION, MANIFEST, checkBlobName, isSha256Hex, rootName, type BundleManifest} from './format.js'
import {checkEntryName} from './path-safety.js'
import {blobPath} from '../oci/digest.js'
import {MAX_MANIFEST_BYTES as MAX_OCI_DOCUMENT_BYTES, parseManifest as parseOciDocument} from '../oci/manifest.js'
import {REF_NAME} from '../oci/media-types.js'
import {isReferrerDescriptor} from '../referrers/model.js'

/*
 * manifest.json is signed, but signed by whoever holds a trusted key, and inspect, images list and
 * the --no-verify paths read it with no trust at all. Every reader takes its fields for granted
 * (m.files.some(f => f.path ...), img.platforms.join(...)), so its shape is checked once, here, as
 * the walk parses it: a `null` item or a missing field is MANIFEST_INVALID naming the field, never a
 * TypeError. And its inventory must say what SHA256SUMS says: a file listed only in the manifest (or
 * with another digest) would be shown, counted or marked executable on the signer's word alone.
 */

type Json = Record<string, unknown>

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)
const isSize = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0

function fail(entry: string, field: string, why: string): never {
  throw new AirlockError('MANIFEST_INVALID', `${entry}: ${field} ${why}`, {subject: `${entry} ${field}`, hint: 'the bundle was not written by airlock or was changed; do not use it'})
}

function checkInventory(list: unknown, entry: string, field: string): void {
  if (!Array.isArray(list)) fail(entry, field, 'is not a list')
  list.forEach((f: unknown, i) => {
    const at = `${field}[${i}]`
    if (!isObject(f)) fail(entry, at, 'is not an object')
    if (typeof f.path !== 'string' || f.path === '') fail(entry, `${at}.path`, 'is missing')
    if (!isSize(f.size)) fail(entry, `${at}.size`, 'is not a byte count')
    if (typeof f.sha256 !== 'string' || !isSha256Hex(f.sha256)) fail(entry, `${at}.sha256`, 'is not a SHA-256 in hex')
    if (typeof f.role !== 'string') fail(entry, `${at}.role`, 'is missing')
    if (f.executable !== undefined && typeof f.executable !== 'boolean') fail(entry, `${at}.executable`, 'is not true or false')
  })
}

/**
 * airlock's manifest nests a few levels; JSON.parse reads any depth without recursion, but every
 * later JSON.stringify (`inspect --json`) recurses and would die with a stack overflow on the
 * 100,000 nested lists a signer can put in `extensions`.
 */
export const MAX_MANIFEST_DEPTH = 64

/**
 * A JSON document of the bundle (manifest.json, sbom.cdx.json) nested at most MAX_MANIFEST_DEPTH
 * levels, else MANIFEST_INVALID naming where. Recursion stops at that depth, and the path is kept as
 * one list of keys, so that millions of small objects cost no memory beyond the parsed document.
 */
export function checkJsonDepth(m: unknown, entry: string): void {
  const trail: string[] = []
  const visit = (value: unknown): void => {
    if (typeof value !== 'object' || value === null) return
    if (trail.length >= MAX_MANIFEST_DEPTH) fail(entry, trail.join('.'), `nests deeper than ${MAX_MANIFEST_DEPTH} levels`)
    for (const key in value) {
      trail.push(key)
      visit((value as Record<string, unknown>)[key])
      trail.pop()
    }
  }
  visit(m)
}

/*
 * The fields of extensions.images and extensions.charts that images list, bundle inspect and images
 * push print or use (a chart's digest sliced for its table, a referrer's blobs summed): each must be
 * what airlock writes, or the reader would die with a TypeError on a signer's (or nobody's) word.
 */
type Shape = Record<string, 'text' | 'size' | 'digest' | 'name' | ((v: unknown, at: string) => void)>

function checkShape(v: unknown, shape: Shape, optional: readonly string[], entry: string, at: string): void {
  if (!isObject(v)) fail(entry, at, 'is not an object')
  for (const [key, kind] of Object.entries(shape)) {
    const value = v[key]
    const field = `${at}.${key}`
    if (value === undefined && optional.includes(key)) continue
    if (typeof kind === 'function') kind(value, field)
    else if (kind === 'size' ? !isSize(value) : typeof value !== 'string') fail(entry, field, kind === 'size' ? 'is not a byte count' : 'is not text')
    else if (kind === 'digest' && !/^sha256:[0-9a-f]{64}$/.test(value as string)) fail(entry, field, 'is not a sha256 digest')
    // a chart's name and version become a file name (NAME-VERSION.site-values.yaml)
    else if (kind === 'name' && !/^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/.test(value as string)) fail(entry, field, 'is not a plain chart name or version')
  }
}

function checkExtensions(ext: Json, entry: string): void {
  const list = (item: (v: unknown, at: string) => void) => (v: unknown, at: string) => {
    if (!Array.isArray(v)) fail(entry, at, 'is not a list')
    v.forEach((x, i) => item(x, `${at}[${i}]`))
  }
  const referrers = list((r, at) => checkShape(r, {digest: 'digest', subject: 'digest', kind: 'text', artifactType: 'text', mediaType: 'text', size: 'size', blobs: list((b, bat) => checkShape(b, {digest: 'digest', size: 'size', mediaType: 'text'}, [], entry, bat))}, [], entry, at))
  ;((ext.images ?? []) as unknown[]).forEach((img, i) =>
    checkShape(img, {name: 'text', digest: 'digest', sourceDigest: 'digest', sharedBytes: 'size', referrers, signature: (v, at) => checkShape(v, {key: 'text'}, [], entry, at)}, ['name', 'digest', 'sourceDigest', 'sharedBytes', 'referrers', 'signature'], entry, `extensions.images[${i}]`),
  )
  const found = list((f, at) => checkShape(f, {ref: 'text', foundIn: list((w, wat) => checkShape(w, {chart: 'text', how: 'text', where: 'text'}, [], entry, wat))}, [], entry, at))
  ;((ext.charts ?? []) as unknown[]).forEach((c, i) =>
    checkShape(c, {name: 'name', version: 'name', digest: 'digest', archive: 'text', images: found, registryValue: 'text', registryPath: 'text', referrers}, ['archive', 'registryValue', 'registryPath', 'referrers'], entry, `extensions.charts[${i}]`),
  )
}

/** The manifest's shape and the bundle folder it names. */
export function checkManifest(m: unknown, entry: string, root: string): BundleManifest {
  if (!isObject(m)) fail(entry, 'the document', 'is not a JSON object')
  checkJsonDepth(m, entry)
  // a later format may mean other things by the same fields: read only the one this airlock knows
  if (m.formatVersion !== FORMAT_VERSION) fail(entry, 'formatVersion', `is ${JSON.stringify(m.formatVersion) ?? 'missing'}, not ${FORMAT_VERSION}, the bundle format this airlock reads (a newer airlock may read it)`)
  for (const field of ['name', 'version'] as const) if (typeof m[field] !== 'string') fail(entry, field, 'is missing or not text')
  if (typeof m.created !== 'string') fail(entry, 'created', 'is missing or not text')
  if (!(isObject(m.tool) && typeof m.tool.name === 'string' && typeof m.tool.version === 'string')) fail(entry, 'tool', 'is not {name, version}')
  if (!Array.isArray(m.images)) fail(entry, 'images', 'is missing or not a list')
  m.images.forEach((img: unknown, i) => {
    const at = `images[${i}]`
    if (!isObject(img)) fail(entry, at, 'is not an object')
    if (typeof img.ref !== 'string' || typeof img.digest !== 'string') fail(entry, at, 'lacks ref or digest')
    if (!Array.isArray(img.platforms) || !img.platforms.every((p) => typeof p === 'string')) fail(entry, `${at}.platforms`, 'is not a list of platforms')
    if (!isSize(img.size)) fail(entry, `${at}.size`, 'is not a byte count')
  })
  checkInventory(m.files, entry, 'files')
  if (m.extensions !== undefined) {
    if (!isObject(m.extensions)) fail(entry, 'extensions', 'is not an object')
    for (const key of ['images', 'charts'] as const) {
      const list = m.extensions[key]
      if (list !== undefined && !(Array.isArray(list) && list.every((x) => isObject(x) && typeof x.ref === 'string'))) fail(entry, `extensions.${key}`, 'is not a list of objects with a ref')
    }
    checkExtensions(m.extensions, entry)
  }
  if (m.base !== undefined) {
    const b = m.base
    if (!isObject(b) || typeof b.name !== 'string' || typeof b.version !== 'string' || typeof b.sha256 !== 'string' || typeof b.verified !== 'boolean') fail(entry, 'base', 'is not {name, version, sha256, verified, omitted}')
    checkInventory(b.omitted, entry, 'base.omitted')
    // no line of SHA256SUMS vouches for these names: they get the checks its lines get
    ;(b.omitted as Array<{path: string; sha256: string}>).forEach((o, i) => {
      checkEntryName(o.path)
      checkBlobName(o.path, o.sha256, `${entry} base.omitted[${i}]`)
    })
  }
  const manifest = m as unknown as BundleManifest
  if (rootName(manifest.name, manifest.version) !== root) {
    throw new AirlockError('MANIFEST_INVALID', `${entry} names ${manifest.name} ${manifest.version}, but the bundle folder is ${root}`, {subject: entry})
  }
  return manifest
}

/** After the walk (so that a misplaced or unlisted entry is named first): the inventory says what SHA256SUMS says. */
export function checkManifestInventory(m: BundleManifest, entry: string, sums: Map<string, string>): void {
  const listed = new Set<string>()
  m.files.forEach((f, i) => {
    const line = sums.get(f.path)
    if (line === undefined) throw new AirlockError('MANIFEST_INVALID', `${entry}: files[${i}] ${f.path} is not listed in SHA256SUMS`, {subject: `${entry} files[${i}]`, hint: 'the manifest claims a file the signed list does not hold; do not use this bundle'})
    if (line !== f.sha256) throw new AirlockError('MANIFEST_INVALID', `${entry}: files[${i}] ${f.path} has sha256:${f.sha256}, SHA256SUMS says sha256:${line}`, {subject: `${entry} files[${i}]`, hint: 'do not use this bundle'})
    if (listed.has(f.path)) throw new AirlockError('MANIFEST_INVALID', `${entry}: ${f.path} is in files twice`, {subject: `${entry} files[${i}]`})
    listed.add(f.path)
  })
  for (const path of sums.keys()) {
    if (path !== MANIFEST && !listed.has(path)) throw new AirlockError('MANIFEST_INVALID', `${entry} does not list ${path}, which SHA256SUMS holds`, {subject: `${entry} files`, hint: 'the manifest and the signed list disagree; do not use this bundle'})
  }
  for (const [i, o] of (m.base?.omitted ?? []).entries()) {
    if (sums.has(o.path)) throw new AirlockError('MANIFEST_INVALID', `${entry}: base.omitted[${i}] ${o.path} is in the bundle after all`, {subject: `${entry} base.omitted[${i}]`})
  }
}

/** Per entry, once the manifest is known: the size the tar header gives must be the one the manifest lists. */
const sizesOf = new WeakMap<BundleManifest, Map<string, number>>()

export function checkListedSize(m: BundleManifest, rel: string, size: number, path: string): void {
  let sizes = sizesOf.get(m)
  if (!sizes) sizesOf.set(m, (sizes = new Map(m.files.map((f) => [f.path, f.size]))))
  const f = {size: sizes.get(rel)}
  if (f.size !== undefined && f.size !== size) throw new AirlockError('MANIFEST_INVALID', `entry ${path} is ${size} bytes, manifest.json says ${f.size}`, {subject: path, hint: 'the bundle was changed after signing; do not use it'})
}

/** The image layout's index, which every walk reads beside manifest.json. */
export const IMAGE_INDEX = 'images/index.json'
export const MAX_IMAGE_INDEX_BYTES = MAX_OCI_DOCUMENT_BYTES

/**
 * images/index.json against manifest.json and SHA256SUMS, in every walk: `images list` shows
 * manifest.json's images, `images push` and `serve` send index.json's, so the two must name the same
 * images (an image only index.json names would be pushed unseen), and every document index.json
 * points at must be a listed blob of the size its descriptor gives. (push and serve then check the
 * documents below it, which only they read: src/images/bundle-read.ts.)
 */
export function checkImageIndex(data: Buffer | undefined, m: BundleManifest, sums: Map<string, string>, root: string): void {
  const entry = `${root}/${IMAGE_INDEX}`
  const shown = new Map<string, string>()
  m.images.forEach((img, i) => shown.set(img.digest, `${MANIFEST} images[${i}] (${img.ref})`))
  for (const [i, c] of ((m.extensions?.charts ?? []) as Array<{digest?: unknown; ref: string}>).entries()) if (typeof c.digest === 'string') shown.set(c.digest, `${MANIFEST} extensions.charts[${i}] (${c.ref})`)
  if (!data) {
    const [digest, where] = [...shown][0] ?? []
    if (digest) throw new AirlockError('ENTRY_MISSING', `${root}/${where} is ${digest}, but the bundle has no ${IMAGE_INDEX}`, {subject: entry, hint: 'the bundle is incomplete or was changed; do not use it'})
    return
  }
  const index = parseOciDocument(data, undefined, entry)
  if (index.kind !== 'index') throw new AirlockError('MANIFEST_INVALID', `${entry} is not an image index`, {subject: entry})
  // referrers (signatures, attestations, SBOMs): images list and inspect show extensions' records, push sends index.json's
  const shownReferrers = new Set<string>()
  for (const key of ['images', 'charts'] as const) {
    for (const x of (m.extensions?.[key] ?? []) as Array<{referrers?: Array<{digest: string}>}>) for (const r of x.referrers ?? []) shownReferrers.add(r.digest)
  }
  const sizes = new Map(m.files.map((f) => [f.path, f.size]))
  const tops = new Set<string>()
  const referrers = new Set<string>()
  index.manifests.forEach((d, i) => {
    const at = `${entry} manifests[${i}]`
    const path = `images/${blobPath(d.digest, at)}`
    if (!sums.has(path)) throw new AirlockError('ENTRY_MISSING', `${at} is ${d.digest}, which the bundle does not hold (${path})`, {subject: at, hint: 'the bundle is incomplete or was changed; do not use it'})
    if (sizes.get(path) !== d.size) throw new AirlockError('MANIFEST_INVALID', `${at} gives ${d.digest} ${d.size} bytes, ${path} has ${sizes.get(path)}`, {subject: at, hint: 'the bundle was not written by airlock or was changed; do not use it'})
    if (isReferrerDescriptor(d)) {
      if (!shownReferrers.has(d.digest)) throw new AirlockError('MANIFEST_INVALID', `${at} is a referrer (${d.digest}) no image's or chart's referrers in ${MANIFEST} list: images list would not show what images push sends`, {subject: at, hint: 'the bundle was not written by airlock or was changed; do not use it'})
      referrers.add(d.digest)
      return
    }
    tops.add(d.digest)
    if (!shown.has(d.digest)) {
      throw new AirlockError('MANIFEST_INVALID', `${at} (${d.annotations?.[REF_NAME] ?? 'no name'}, ${d.digest}) is not among ${MANIFEST} images or charts: images list would not show what images push sends`, {subject: at, hint: 'the bundle was not written by airlock or was changed; do not use it'})
    }
  })
  for (const digest of shownReferrers) {
    if (!referrers.has(digest)) throw new AirlockError('MANIFEST_INVALID', `${root}/${MANIFEST} lists the referrer ${digest}, which ${IMAGE_INDEX} does not name: images list would show what images push never sends`, {subject: `${root}/${MANIFEST}`, hint: 'the bundle was not written by airlock or was changed; do not use it'})
  }
  for (const [digest, where] of shown) {
    if (!tops.has(digest)) throw new AirlockError('MANIFEST_INVALID', `${root}/${where} is ${digest}, which ${IMAGE_INDEX} does not name: images list would show what images push never sends`, {subject: `${root}/${MANIFEST}`, hint: 'the bundle was not written by airlock or was changed; do not use it'})
  }
}
