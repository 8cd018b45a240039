import {copyFile, mkdir, readFile} from 'node:fs/promises'
import {isAbsolute, join, resolve} from 'node:path'
import {parse as parseYaml} from 'yaml'

import {hashFile} from '../bundle/entry.js'
import type {BlobFetcher} from '../images/fetcher.js'
import type {Blob, Document} from '../images/resolve.js'
import {parseManifest} from '../oci/manifest.js'
import type {RegistryPool} from '../registry/client.js'
import {findCredentials} from '../registry/credentials.js'
import {formatReference, parseReference, type ImageReference} from '../registry/reference.js'
import {downloadToFile} from '../sources/http.js'
import type {SpecChart} from '../spec/schema.js'
import {AirlockError, fromFsError} from '../ui/errors.js'
import {chartTag, HELM} from './media-types.js'

/** A chart on local disk, and where it came from. */
export interface FetchedChart {
  /** the .tgz, in the build's scratch folder (or the user's file for a local source) */
  file: string
  sha256: string
  size: number
  /** how the spec names it: oci://host/path/name:1.2.3, https://host/path name 1.2.3, ./x.tgz */
  source: string
  /** from an OCI registry: the artifact as it is there, manifest digest unchanged */
  oci?: {ref: ImageReference; manifest: Document; blobs: Blob[]}
  /** from a classic repository: the digest its index.yaml gave, if any */
  indexDigest?: string
}

export interface FetchEnv {
  pool: RegistryPool
  fetcher: BlobFetcher
  workDir: string
  baseDir: string
  /** PEM of extra CAs for https:// repositories (--ca-file) */
  ca?: string
  /** the manifest digest an earlier --lock recorded for this OCI chart */
  lockedDigest?: string
  /** where registry credential files are looked up (default: process.env) */
  credentialsEnv?: NodeJS.ProcessEnv
}

/** the largest public indexes are tens of megabytes; this is read into memory to be parsed */
const MAX_INDEX_BYTES = 128 << 20

const CONTENT_TYPES: readonly string[] = [HELM.content, HELM.legacyContent]

/** `oci://HOST/PATH/NAME` + version -> the registry reference Helm pulls: HOST/PATH/NAME:VERSION (+ as _). */
export function ociChartReference(ref: string, version: string, subject: string): ImageReference {
  const path = ref.slice('oci://'.length)
  const first = path.split('/')[0] ?? ''
  const parsed = parseReference(`${path}:${chartTag(version)}`, subject)
  // helm pull needs a host: oci://bitnamicharts/nginx is no registry, oci://registry-1.docker.io/bitnamicharts/nginx is Docker Hub
  if (!/[.:]/.test(first) && first !== 'localhost') {
    throw new AirlockError('SPEC_INVALID', `${subject}: ${ref} does not start with a registry host`, {subject, hint: 'write oci://HOST[:PORT]/PATH/NAME, as for helm pull'})
  }
  return parsed
}

async function fromOci(chart: SpecChart & {ref: string; version: string}, subject: string, env: FetchEnv, index: number): Promise<FetchedChart> {
  const ref = ociChartReference(chart.ref, chart.version, subject)
  const name = formatReference(ref)
  const client = env.pool.client(ref.registry)
  const m = await client.getManifest(ref.repository, env.lockedDigest ?? (ref.tag as string))
  const parsed = parseManifest(m.bytes, m.mediaType, `chart ${name} (${m.digest})`)
  if (parsed.kind !== 'manifest' || parsed.config.mediaType !== HELM.config) {
    throw new AirlockError('MANIFEST_INVALID', `${subject}: ${name} is not a Helm chart (its ${parsed.kind === 'manifest' ? `config is ${parsed.config.mediaType}` : 'manifest is an index'}, a chart's config is ${HELM.config})`, {
      subject,
      hint: 'point ref at a chart pushed with helm push; an image belongs in spec.images',
    })
  }
  const contents = parsed.layers.filter((l) => CONTENT_TYPES.includes(l.mediaType))
  if (contents.length !== 1) throw new AirlockError('MANIFEST_INVALID', `${subject}: ${name} has ${contents.length} chart content layers (${HELM.content}); a chart has one`, {subject})
  const origin = {kind: 'registry' as const, registry: ref.registry, repository: ref.repository}
  const blobs = [parsed.config, ...parsed.layers].map((d) => ({digest: d.digest, size: d.size, mediaType: d.mediaType}))
  for (const b of blobs) env.fetcher.register(b.digest, b.size, origin, `chart ${name} blob ${b.digest}`)
  const content = contents[0] as Blob
  // The fetcher deletes its scratch copy once written into the bundle; charts/ needs its own.
  const file = join(env.workDir, 'charts', `${index}.tgz`)
  await mkdir(join(env.workDir, 'charts'), {recursive: true})
  await copyFile(await env.fetcher.ensure(content.digest), file)
  return {
    file,
    sha256: content.digest.slice('sha256:'.length),
    size: content.size,
    source: `${chart.ref}:${chart.version}`,
    oci: {ref, manifest: {bytes: m.bytes, mediaType: parsed.mediaType, size: m.bytes.length, digest: m.digest}, blobs},
  }
}

interface IndexEntry {
  version?: unknown
  urls?: unknown
  digest?: unknown
}

/**
 * A repository URL without its credentials, and the credentials: those written in the URL
 * (https://USER:PASSWORD@HOST/PATH), else an auths entry for its host in the registry credentials
 * files (as for images). The URL recorded in the bundle never holds a password.
 */
export async function repoAccess(repo: string, credentialsEnv?: NodeJS.ProcessEnv): Promise<{base: string; basicAuth?: {username: string; password: string}}> {
  const url = new URL(repo)
  const inline = url.username || url.password ? {username: decodeURIComponent(url.username), password: decodeURIComponent(url.password)} : undefined
  url.username = ''
  url.password = ''
  const base = url.href.replace(/\/+$/, '')
  if (inline) return {base, basicAuth: inline}
  const found = await findCredentials(url.host, url.pathname.replace(/^\/+|\/+$/g, ''), credentialsEnv)
  return {base, ...(found ? {basicAuth: {username: found.username, password: found.password}} : {})}
}

async function fromRepo(chart: SpecChart & {repo: string; name: string; version: string}, subject: string, env: FetchEnv, index: number): Promise<FetchedChart> {
  const {base, basicAuth} = await repoAccess(chart.repo, env.credentialsEnv)
  const dir = join(env.workDir, 'charts')
  await mkdir(dir, {recursive: true})
  const indexFile = join(dir, `${index}-index.yaml`)
  const got = await downloadToFile(`${base}/index.yaml`, indexFile, {ca: env.ca, subject, ...(basicAuth ? {basicAuth} : {})})
  if (got.size > MAX_INDEX_BYTES) throw new AirlockError('INPUT_INVALID', `${subject}: ${base}/index.yaml is ${got.size} bytes, more than the ${MAX_INDEX_BYTES} a chart index is read up to`, {subject, hint: 'check repo: it must be the folder that holds a chart repository\'s index.yaml'})
  let doc: {entries?: Record<string, IndexEntry[]>}
  try {
    doc = parseYaml(await readFile(indexFile, 'utf8'), {maxAliasCount: 1000}) as typeof doc
  } catch (error) {
    throw new AirlockError('INPUT_INVALID', `${subject}: ${base}/index.yaml is not YAML`, {subject, hint: 'check repo: it must be the folder that holds index.yaml', cause: error})
  }
  const versions = doc?.entries?.[chart.name]
  if (!Array.isArray(versions)) throw new AirlockError('REGISTRY_NOT_FOUND', `${subject}: ${base}/index.yaml has no chart named ${chart.name}`, {subject, hint: `charts in it: ${Object.keys(doc?.entries ?? {}).slice(0, 20).join(', ') || 'none'}`})
  const entry = versions.find((v) => String(v?.version) === chart.version)
  if (!entry) throw new AirlockError('REGISTRY_NOT_FOUND', `${subject}: ${chart.name} has no version ${chart.version} in ${base}/index.yaml`, {subject, hint: `versions: ${versions.slice(0, 10).map((v) => String(v?.version)).join(', ')}`})
  const url = Array.isArray(entry.urls) && typeof entry.urls[0] === 'string' ? new URL(entry.urls[0], `${base}/`).href : undefined
  if (!url) throw new AirlockError('INPUT_INVALID', `${subject}: ${chart.name} ${chart.version} in ${base}/index.yaml has no urls`, {subject})
  if (!url.startsWith('https://')) {
    throw new AirlockError('INPUT_INVALID', `${subject}: ${base}/index.yaml gives ${url} for ${chart.name} ${chart.version}; only https is downloaded into a signed bundle`, {subject, hint: 'serve the archive over https, or download it and give it as source: ./NAME-VERSION.tgz'})
  }
  const digest = typeof entry.digest === 'string' && /^(sha256:)?[0-9a-f]{64}$/.test(entry.digest) ? entry.digest.replace(/^sha256:/, '') : undefined
  const file = join(dir, `${index}.tgz`)
  // with the index's digest a mismatch fails the download: the chart is not the one indexed
  // credentials go to the repository's own host only, as helm does without --pass-credentials
  const archive = await downloadToFile(url, file, {ca: env.ca, subject, ...(digest ? {sha256: digest} : {}), ...(basicAuth && new URL(url).origin === new URL(base).origin ? {basicAuth} : {})})
  return {file, sha256: archive.sha256, size: archive.size, source: `${base} ${chart.name} ${chart.version}`, ...(digest ? {indexDigest: digest} : {})}
}

async function fromFile(chart: SpecChart & {source: string}, subject: string, env: FetchEnv): Promise<FetchedChart> {
  const file = isAbsolute(chart.source) ? chart.source : resolve(env.baseDir, chart.source)
  let got
  try {
    got = await hashFile(file)
  } catch (error) {
    const e = error instanceof AirlockError ? error : fromFsError(error, file)
    if (!(e instanceof AirlockError)) throw e
    throw new AirlockError(e.code, `${subject}: ${e.message}`, {subject, hint: 'paths are relative to the spec file; make the archive with helm package'})
  }
  return {file, sha256: got.sha256, size: got.size, source: chart.source}
}

/** Gets one spec chart onto local disk: from an OCI registry, a classic repository or a local file. */
export async function fetchChart(chart: SpecChart, subject: string, env: FetchEnv, index: number): Promise<FetchedChart> {
  if (chart.ref !== undefined) return fromOci(chart as SpecChart & {ref: string; version: string}, `${subject}.ref`, env, index)
  if (chart.repo !== undefined) return fromRepo(chart as SpecChart & {repo: string; name: string; version: string}, `${subject}.repo`, env, index)
  return fromFile(chart as SpecChart & {source: string}, `${subject}.source`, env)
}
