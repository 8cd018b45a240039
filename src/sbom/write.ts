import {createHash} from 'node:crypto'

import {Enums, Models, Serialize, Spec} from '@cyclonedx/cyclonedx-library'
import {PackageURL} from 'packageurl-js'

import type {InventoryEntry} from '../bundle/format.js'
import {blobPath} from '../oci/digest.js'
import type {ReferrerRecord} from '../referrers/model.js'
import {parseReference} from '../registry/reference.js'
import type {SbomChart, SbomImage, SbomManifest} from './model.js'

export interface BundleSbomInput {
  name: string
  version: string
  /** the build clock: the SBOM's timestamp, so a rebuild with SOURCE_DATE_EPOCH is byte-identical */
  created: Date
  toolVersion: string
  /** SHA-256 of the spec, part of the SBOM's serial number */
  specSha256?: string
  images: SbomImage[]
  charts: SbomChart[]
  /** every other entry of the bundle (manifest.json cannot be listed: it lists this file) */
  files: InventoryEntry[]
  /** where the OCI layout sits in the bundle */
  layoutDir: string
}

const {ComponentType, ExternalReferenceType, HashAlgorithm} = Enums

function sha256Hashes(hex: string): Models.HashDictionary {
  return new Models.HashDictionary([[HashAlgorithm['SHA-256'], hex]])
}

/** pkg:oci/NAME@DIGEST?repository_url=REGISTRY/REPO&arch=..&tag=.. (the purl spec's oci type). */
function ociPurl(image: Pick<SbomImage, 'registry' | 'repository' | 'tag'>, digest: string, arch?: string): string {
  const name = image.repository.split('/').at(-1) ?? image.repository
  const qualifiers: Record<string, string> = {repository_url: `${image.registry}/${image.repository}`}
  if (arch) qualifiers.arch = arch
  if (image.tag) qualifiers.tag = image.tag
  return new PackageURL('oci', undefined, name, digest, qualifiers, undefined).toString()
}

/**
 * A chart stored in the layout as an OCI artifact: pkg:oci/NAME@MANIFEST-DIGEST with the repository
 * it is named by there (its registry's for an OCI chart) and the version tag.
 */
function chartPurl(chart: SbomChart): string | undefined {
  if (!chart.ref || !chart.digest || !/^sha256:[0-9a-f]{64}$/.test(chart.digest)) return undefined
  try {
    const ref = parseReference(chart.ref)
    return ociPurl({registry: ref.registry, repository: ref.repository, ...(ref.tag ? {tag: ref.tag} : {})}, chart.digest)
  } catch {
    return undefined
  }
}

/** A deterministic urn:uuid (RFC 4122 version 5 layout) from what identifies the bundle. */
function serialNumber(input: BundleSbomInput): string {
  const h = createHash('sha256').update(`${input.name}\n${input.version}\n${input.created.toISOString()}\n${input.specSha256 ?? ''}`).digest()
  h[6] = ((h[6] as number) & 0x0f) | 0x50
  h[8] = ((h[8] as number) & 0x3f) | 0x80
  const x = h.subarray(0, 16).toString('hex')
  return `urn:uuid:${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`
}

const REFERENCE_TYPE: Record<ReferrerRecord['kind'], Enums.ExternalReferenceType> = {
  sbom: ExternalReferenceType.BOM,
  attestation: ExternalReferenceType.Attestation,
  signature: ExternalReferenceType.Other,
  other: ExternalReferenceType.Other,
}

/**
 * The bundle's CycloneDX 1.6 SBOM, made with the CycloneDX project's library: the bundle is the root
 * component; each image is a container component (purl pkg:oci with its digest and repository_url),
 * each platform manifest of an index another (with its arch), each config and layer a file component
 * with its SHA-256; every other bundle entry a file component; charts as application components.
 * Dependencies run bundle -> images -> platform manifests -> blobs. Referrers (SBOMs, attestations,
 * signatures) carried in the bundle are external references of the component they refer to, by
 * their path in the bundle and SHA-256.
 */
export function renderBundleSbom(input: BundleSbomInput): string {
  const bundle = new Models.Component(ComponentType.Application, input.name, {version: input.version, bomRef: 'bundle'})
  bundle.properties.add(new Models.Property('airlock:format', 'airlock bundle v1'))
  const bom = new Models.Bom({serialNumber: serialNumber(input)})
  bom.metadata.timestamp = input.created
  bom.metadata.component = bundle
  bom.metadata.tools.components.add(new Models.Component(ComponentType.Application, 'airlock', {version: input.toolVersion}))

  const byRef = new Map<string, Models.Component>()
  const once = (ref: string, make: () => Models.Component): Models.Component => {
    let c = byRef.get(ref)
    if (!c) {
      c = make()
      byRef.set(ref, c)
      bom.components.add(c)
    }
    return c
  }
  const blobComponent = (b: {digest: string; size: number; mediaType: string}) =>
    once(`blob:${b.digest}`, () => {
      const c = new Models.Component(ComponentType.File, b.digest, {bomRef: `blob:${b.digest}`, hashes: sha256Hashes(b.digest.slice('sha256:'.length))})
      c.properties.add(new Models.Property('oci:mediaType', b.mediaType))
      c.properties.add(new Models.Property('airlock:size', String(b.size)))
      c.properties.add(new Models.Property('airlock:path', `${input.layoutDir}/${blobPath(b.digest)}`))
      return c
    })
  const link = (component: Models.Component, r: ReferrerRecord) => {
    // the SBOM or statement itself is in the referrer's layers; the config is empty or a stub
    for (const b of r.blobs.slice(1)) {
      component.externalReferences.add(
        new Models.ExternalReference(`${input.layoutDir}/${blobPath(b.digest)}`, REFERENCE_TYPE[r.kind], {
          hashes: sha256Hashes(b.digest.slice('sha256:'.length)),
          comment: `${r.kind} (${b.mediaType}) carried in this bundle as OCI referrer ${r.digest} of ${r.subject}`,
        }),
      )
    }
  }

  const imagesByName = new Map<string, Models.Component[]>()
  for (const image of input.images) {
    const single = image.manifests.length === 1 && image.manifests[0]?.digest === image.digest ? image.manifests[0] : undefined
    const arch = (m: SbomManifest | undefined) => m?.platform?.split('/')[1]
    const ic = once(`image:${image.name}@${image.digest}`, () => {
      const c = new Models.Component(ComponentType.Container, image.name, {bomRef: `image:${image.name}@${image.digest}`, version: image.tag ?? image.digest, purl: ociPurl(image, image.digest, arch(single)), hashes: sha256Hashes(image.digest.slice('sha256:'.length))})
      c.properties.add(new Models.Property('oci:mediaType', image.mediaType))
      if (image.sourceDigest !== image.digest) c.properties.add(new Models.Property('airlock:sourceDigest', image.sourceDigest))
      for (const m of image.manifests) if (m.platform) c.properties.add(new Models.Property('oci:platform', m.platform))
      return c
    })
    bundle.dependencies.add(ic.bomRef)
    imagesByName.set(image.name, [...(imagesByName.get(image.name) ?? []), ic])
    const subjects = new Map<string, Models.Component>([[image.digest, ic], [image.sourceDigest, ic]])
    for (const m of image.manifests) {
      const mc = single
        ? ic
        : once(`manifest:${m.digest}`, () => {
            const c = new Models.Component(ComponentType.Container, `${image.name} ${m.platform ?? m.digest}`, {bomRef: `manifest:${m.digest}`, version: m.digest, purl: ociPurl(image, m.digest, arch(m)), hashes: sha256Hashes(m.digest.slice('sha256:'.length))})
            if (m.platform) c.properties.add(new Models.Property('oci:platform', m.platform))
            return c
          })
      if (mc !== ic) ic.dependencies.add(mc.bomRef)
      subjects.set(m.digest, mc)
      for (const b of m.blobs) mc.dependencies.add(blobComponent(b).bomRef)
    }
    for (const r of image.referrers) link(subjects.get(r.subject) ?? ic, r)
  }

  const chartRefs = new Map<string, string>()
  for (const chart of input.charts) {
    const hex = (chart.sha256 ?? chart.digest ?? '').replace(/^sha256:/, '')
    // name@version, unless another chart of that name and version (from elsewhere) took it
    const plain = `chart:${chart.name}@${chart.version ?? ''}`
    const key = chartRefs.has(plain) && chartRefs.get(plain) !== (chart.ref ?? '') ? `${plain} ${chart.ref ?? ''}` : plain
    chartRefs.set(key, chart.ref ?? '')
    const purl = chartPurl(chart)
    const c = once(key, () => new Models.Component(ComponentType.Application, chart.name, {bomRef: key, ...(chart.version ? {version: chart.version} : {}), ...(/^[0-9a-f]{64}$/.test(hex) ? {hashes: sha256Hashes(hex)} : {}), ...(purl ? {purl} : {})}))
    c.properties.add(new Models.Property('airlock:kind', 'helm-chart'))
    if (chart.path) c.properties.add(new Models.Property('airlock:path', chart.path))
    if (chart.ref) c.properties.add(new Models.Property('airlock:ref', chart.ref))
    if (chart.digest && chart.sha256) c.properties.add(new Models.Property('oci:manifestDigest', chart.digest))
    // the images a chart needs are what it depends on
    for (const ref of chart.images ?? []) for (const ic of imagesByName.get(ref) ?? []) c.dependencies.add(ic.bomRef)
    bundle.dependencies.add(c.bomRef)
  }

  for (const f of input.files) {
    if (f.role === 'image-blob' || f.role === 'image-layout') continue
    const c = once(`file:${f.path}`, () => new Models.Component(ComponentType.File, f.path, {bomRef: `file:${f.path}`, hashes: sha256Hashes(f.sha256)}))
    c.properties.add(new Models.Property('airlock:role', f.role))
    c.properties.add(new Models.Property('airlock:size', String(f.size)))
    bundle.dependencies.add(c.bomRef)
  }

  const serializer = new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6))
  return `${serializer.serialize(bom, {sortLists: true, space: 2})}\n`
}
