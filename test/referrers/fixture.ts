/*
 * A real registry (Debian's docker-registry 2.8, which has no referrers API) seeded with images and
 * what publishers attach to them: a cosign signature made here with openssl (cosign's simple-signing
 * payload, signed with `openssl dgst -sha256 -sign`, pushed as a manifest tagged sha256-<hex>.sig with
 * the signature annotation), and SBOMs as OCI 1.1 referrers (a manifest with `subject` and
 * artifactType), listed through the referrers tag schema as ORAS writes it to such a registry.
 */
import {execFile} from 'node:child_process'
import {createHash} from 'node:crypto'
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {makeKeys, type TestKeys} from '../support/bundles.js'
import {cleanupAll, makeImage, makeIndex, makeLayer, seed, startRegistry, tempDir, writeLayout, type Registry, type TestImage} from '../support/registry.js'

const run = promisify(execFile)

export interface Artifact {
  digest: string
  size: number
  bytes: Buffer
  mediaType: string
  blobs: {digest: string; size: number; data: Buffer; mediaType: string}[]
}

export interface SupplyFixture {
  dir: string
  keys: TestKeys
  /** the upstream registry */
  upstream: Registry
  /** the site registry images are pushed into */
  site: Registry
  /** cosign-style key pair (ECDSA P-256, PEM), made with openssl */
  cosignKey: string
  cosignPub: string
  /** another publisher's key: its public key must not verify the signature */
  otherPub: string
  signed: TestImage
  /** upstream/team/signed:1.0, its cosign signature and its SBOM referrer */
  signature: Artifact
  sbom: Artifact
  /** upstream/team/multi:1.0, an index whose amd64 manifest has an SBOM referrer */
  multi: {index: string; amd64: TestImage; arm64: TestImage; sbom: Artifact}
  /** upstream/team/plain:1.0, with no signature at all */
  unsigned: TestImage
}

let fixture: Promise<SupplyFixture> | undefined

export function getSupplyFixture(): Promise<SupplyFixture> {
  fixture ??= makeFixture()
  return fixture
}

after(async () => {
  await cleanupAll()
})

export const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`

function blob(data: Buffer | string, mediaType: string) {
  const buf = Buffer.from(data)
  return {digest: sha256(buf), size: buf.length, data: buf, mediaType}
}

function artifact(manifest: Record<string, unknown>, blobs: Artifact['blobs']): Artifact {
  const bytes = Buffer.from(JSON.stringify(manifest))
  return {digest: sha256(bytes), size: bytes.length, bytes, mediaType: 'application/vnd.oci.image.manifest.v1+json', blobs}
}

const desc = (b: {digest: string; size: number; mediaType: string}) => ({mediaType: b.mediaType, digest: b.digest, size: b.size})

/** cosign's simple-signing payload for `digest`, signed with openssl, as the `.sig` manifest cosign pushes. */
export async function cosignSignature(dir: string, keyFile: string, reference: string, digest: string): Promise<Artifact> {
  const payload = blob(JSON.stringify({critical: {identity: {'docker-reference': reference}, image: {'docker-manifest-digest': digest}, type: 'cosign container image signature'}, optional: null}), 'application/vnd.dev.cosign.simplesigning.v1+json')
  const payloadFile = join(dir, `payload-${digest.slice(7, 19)}.json`)
  await writeFile(payloadFile, payload.data)
  await run('openssl', ['dgst', '-sha256', '-sign', keyFile, '-out', `${payloadFile}.sig`, payloadFile])
  const signature = (await readFile(`${payloadFile}.sig`)).toString('base64')
  const config = blob(JSON.stringify({architecture: '', created: '0001-01-01T00:00:00Z', history: [{created: '0001-01-01T00:00:00Z'}], os: '', rootfs: {type: 'layers', diff_ids: [payload.digest]}, config: {}}), 'application/vnd.oci.image.config.v1+json')
  return artifact(
    {schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: desc(config), layers: [{...desc(payload), annotations: {'dev.cosignproject.cosign/signature': signature}}]},
    [config, payload],
  )
}

/** An SPDX SBOM as an OCI 1.1 referrer of `subject`. */
export function sbomReferrer(subject: {digest: string; size: number; mediaType: string}, name: string): Artifact {
  const empty = blob('{}', 'application/vnd.oci.empty.v1+json')
  const doc = blob(JSON.stringify({spdxVersion: 'SPDX-2.3', SPDXID: 'SPDXRef-DOCUMENT', name, dataLicense: 'CC0-1.0', packages: [{SPDXID: 'SPDXRef-busybox', name: 'busybox', versionInfo: '1.36.1'}]}), 'application/spdx+json')
  return artifact(
    {schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: 'application/spdx+json', config: desc(empty), layers: [desc(doc)], subject: desc(subject), annotations: {'org.opencontainers.image.created': '2025-01-01T00:00:00Z'}},
    [empty, doc],
  )
}

/** Uploads blobs (monolithic PUT) and the manifest, by digest and, when given, under a tag: the distribution API, nothing else. */
export async function pushArtifact(host: string, repository: string, a: Artifact, tag?: string): Promise<void> {
  for (const b of a.blobs) {
    const start = await fetch(`http://${host}/v2/${repository}/blobs/uploads/`, {method: 'POST'})
    if (start.status !== 202) throw new Error(`upload start ${start.status}`)
    const location = new URL(start.headers.get('location') as string, `http://${host}`)
    location.searchParams.set('digest', b.digest)
    const put = await fetch(location, {method: 'PUT', headers: {'content-type': 'application/octet-stream'}, body: new Uint8Array(b.data)})
    if (put.status !== 201) throw new Error(`blob PUT ${put.status}: ${await put.text()}`)
  }
  for (const ref of [a.digest, ...(tag ? [tag] : [])]) {
    const res = await fetch(`http://${host}/v2/${repository}/manifests/${ref}`, {method: 'PUT', headers: {'content-type': a.mediaType}, body: new Uint8Array(a.bytes)})
    if (res.status !== 201) throw new Error(`manifest PUT ${ref} ${res.status}: ${await res.text()}`)
  }
}

/** The referrers tag schema index ORAS writes for a registry without the referrers API. */
export async function pushTagSchema(host: string, repository: string, subject: string, referrers: Artifact[]): Promise<void> {
  const index = Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: referrers.map((r) => ({mediaType: r.mediaType, digest: r.digest, size: r.size, artifactType: 'application/spdx+json'}))}))
  const res = await fetch(`http://${host}/v2/${repository}/manifests/${subject.replace(':', '-')}`, {method: 'PUT', headers: {'content-type': 'application/vnd.oci.image.index.v1+json'}, body: new Uint8Array(index)})
  if (res.status !== 201) throw new Error(`tag schema PUT ${res.status}: ${await res.text()}`)
}

async function makeFixture(): Promise<SupplyFixture> {
  const dir = await tempDir('supply')
  const keys = await makeKeys(dir)
  const [upstream, site] = await Promise.all([startRegistry(), startRegistry()])
  const o = (args: string[]) => run('openssl', args, {cwd: dir})
  await o(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'cosign.key'])
  await o(['ec', '-in', 'cosign.key', '-pubout', '-out', 'cosign.pub'])
  await o(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'other.key'])
  await o(['ec', '-in', 'other.key', '-pubout', '-out', 'other.pub'])

  const signed = makeImage([makeLayer('signed-base', 40_000), makeLayer('signed-app', 20_000)], {os: 'linux', architecture: 'amd64'}, 'signed')
  const unsigned = makeImage([makeLayer('plain-app', 10_000)], {os: 'linux', architecture: 'amd64'}, 'plain')
  const amd64 = makeImage([makeLayer('multi-amd64', 15_000)], {os: 'linux', architecture: 'amd64'}, 'multi')
  const arm64 = makeImage([makeLayer('multi-arm64', 16_000)], {os: 'linux', architecture: 'arm64', variant: 'v8'}, 'multi')
  const index = makeIndex([amd64, arm64])
  const layout = join(dir, 'layout')
  await writeLayout(layout, [
    {tag: 'signed', image: signed},
    {tag: 'plain', image: unsigned},
    {tag: 'multi', index: {blob: index, images: [amd64, arm64]}},
  ])
  await Promise.all([seed(layout, 'signed', `${upstream.host}/team/signed:1.0`), seed(layout, 'plain', `${upstream.host}/team/plain:1.0`), seed(layout, 'multi', `${upstream.host}/team/multi:1.0`)])

  const cosignKey = join(dir, 'cosign.key')
  const signature = await cosignSignature(dir, cosignKey, `${upstream.host}/team/signed`, signed.manifest.digest)
  await pushArtifact(upstream.host, 'team/signed', signature, `${signed.manifest.digest.replace(':', '-')}.sig`)
  const sbom = sbomReferrer(signed.manifest, 'signed')
  await pushArtifact(upstream.host, 'team/signed', sbom)
  await pushTagSchema(upstream.host, 'team/signed', signed.manifest.digest, [sbom])
  const multiSbom = sbomReferrer(amd64.manifest, 'multi-amd64')
  await pushArtifact(upstream.host, 'team/multi', multiSbom)
  await pushTagSchema(upstream.host, 'team/multi', amd64.manifest.digest, [multiSbom])

  return {
    dir,
    keys,
    upstream,
    site,
    cosignKey,
    cosignPub: join(dir, 'cosign.pub'),
    otherPub: join(dir, 'other.pub'),
    signed,
    signature,
    sbom,
    multi: {index: index.digest, amd64, arm64, sbom: multiSbom},
    unsigned,
  }
}

/** A spec of these image entries (YAML flow text each), with extra YAML under spec:. */
export async function writeSpec(dir: string, images: string[], extra = ''): Promise<string> {
  const spec = join(dir, `spec-${Math.random().toString(36).slice(2, 8)}.yaml`)
  await writeFile(spec, `apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: supply, version: 1.0.0}\nspec:\n  images:\n${images.map((i) => `    - ${i}`).join('\n')}\n${extra}`)
  return spec
}
