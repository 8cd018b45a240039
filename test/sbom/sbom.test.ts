import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {createHash} from 'node:crypto'
import {mkdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {Spec, Validation} from '@cyclonedx/cyclonedx-library'

import {renderBundleSbom} from '../../src/sbom/write.js'
import {craftTar, readTarEntries} from '../support/bundles.js'
import {runCli} from '../support/cli.js'
import {tempDir} from '../support/registry.js'
import {getSupplyFixture, writeSpec, type SupplyFixture} from '../referrers/fixture.js'

const run = promisify(execFile)
const env = {REGISTRY_AUTH_FILE: '/nonexistent', XDG_RUNTIME_DIR: '/nonexistent', DOCKER_CONFIG: '/nonexistent', AIRLOCK_REGISTRY_BACKOFF_MS: '20', SOURCE_DATE_EPOCH: '1735689600'}

/** The CycloneDX 1.6 JSON schema (strict: no unknown properties), as the CycloneDX library ships it. */
async function schemaErrors(text: string): Promise<unknown> {
  return new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(text)
}

interface Component {
  'bom-ref': string
  type: string
  name: string
  version?: string
  purl?: string
  hashes?: {alg: string; content: string}[]
  properties?: {name: string; value: string}[]
  externalReferences?: {url: string; type: string; hashes?: {alg: string; content: string}[]}[]
}

interface Bom {
  bomFormat: string
  specVersion: string
  serialNumber: string
  metadata: {timestamp: string; component: Component; tools: {components: Component[]}}
  components: Component[]
  dependencies: {ref: string; dependsOn?: string[]}[]
}

describe('sbom.cdx.json: a CycloneDX 1.6 SBOM of the bundle', function () {
  this.timeout(180_000)
  let f: SupplyFixture
  let dir: string
  let bundle: string
  let spec: string
  let bom: Bom
  let text: string

  before(async () => {
    f = await getSupplyFixture()
    dir = await tempDir('sbom')
    await mkdir(join(dir, 'src'))
    await writeFile(join(dir, 'src', 'app.airgap'), 'the application\n')
    spec = await writeSpec(dir, [`${f.upstream.host}/team/signed:1.0`, `{ref: "${f.upstream.host}/team/multi:1.0", platforms: [all]}`], '  files:\n    - {source: ./src/app.airgap, as: app.airgap}\n')
    bundle = join(dir, 'sbom.tar')
    const r = await runCli(['bundle', 'build', spec, '--key', f.keys.key, '--out', bundle, '--insecure-registry', f.upstream.host], {env})
    assert.equal(r.code, 0, r.stderr + r.stdout)
    const shown = await runCli(['bundle', 'inspect', bundle, '--sbom'])
    assert.equal(shown.code, 0, shown.stderr)
    text = shown.stdout
    bom = JSON.parse(text) as Bom
  })

  it('validates against the CycloneDX 1.6 JSON schema', async () => {
    assert.equal(bom.bomFormat, 'CycloneDX')
    assert.equal(bom.specVersion, '1.6')
    assert.equal(await schemaErrors(text), null)
  })

  it('is listed in SHA256SUMS like every entry, so sha256sum -c checks it, and --json gives the document', async () => {
    const out = join(dir, 'x')
    const x = await runCli(['bundle', 'extract', bundle, '--to', out, '--trust', f.keys.pub])
    assert.equal(x.code, 0, x.stderr)
    const sums = await readFile(join(out, 'SHA256SUMS'), 'utf8')
    assert.match(sums, /^[0-9a-f]{64} {2}sbom\.cdx\.json$/m)
    await run('sha256sum', ['-c', '--strict', '--quiet', 'SHA256SUMS'], {cwd: out})
    assert.equal(await readFile(join(out, 'sbom.cdx.json'), 'utf8'), text.endsWith('\n') ? text : `${text}\n`)
    const json = await runCli(['bundle', 'inspect', bundle, '--sbom', '--json'])
    assert.equal(json.json.serialNumber, bom.serialNumber)
  })

  it('has the bundle as root, one component per image and platform with pkg:oci purls, and dependencies to every layer', () => {
    assert.equal(bom.metadata.component.name, 'supply')
    assert.equal(bom.metadata.component.version, '1.0.0')
    assert.equal(bom.metadata.timestamp, '2025-01-01T00:00:00.000Z')
    const byRef = new Map(bom.components.map((c) => [c['bom-ref'], c]))
    const deps = new Map(bom.dependencies.map((d) => [d.ref, d.dependsOn ?? []]))
    const signed = bom.components.find((c) => c.type === 'container' && c.name === `${f.upstream.host}/team/signed:1.0`)
    assert.ok(signed, 'the signed image is a component')
    const hex = f.signed.manifest.digest.slice(7)
    assert.equal(signed.purl, `pkg:oci/signed@sha256:${hex}?arch=amd64&repository_url=${encodeURIComponent(`${f.upstream.host}/team/signed`)}&tag=1.0`)
    assert.deepEqual(new Set(deps.get(signed['bom-ref'])), new Set([f.signed.config, ...f.signed.layers].map((b) => `blob:${b.digest}`)))
    for (const l of f.signed.layers) assert.deepEqual(byRef.get(`blob:${l.digest}`)?.hashes, [{alg: 'SHA-256', content: l.digest.slice(7)}])
    // the index, and one component per platform with its arch, each depending on its own layers
    const multi = bom.components.find((c) => c.name === `${f.upstream.host}/team/multi:1.0`)
    assert.ok(multi, 'the multi-platform image is a component')
    assert.ok(multi.purl?.startsWith(`pkg:oci/multi@sha256:${f.multi.index.slice(7)}?repository_url=`), multi.purl)
    const platforms = (deps.get(multi['bom-ref']) ?? []).map((r) => byRef.get(r))
    assert.deepEqual(platforms.map((p) => /[?&]arch=([^&]+)/.exec(p?.purl ?? '')?.[1]).sort(), ['amd64', 'arm64'])
    const arm = platforms.find((p) => p?.purl?.includes('arch=arm64'))
    assert.ok(arm, 'the arm64 manifest is a component')
    assert.ok(arm.purl?.includes(f.multi.arm64.manifest.digest.slice(7)), arm.purl)
    assert.deepEqual(new Set(deps.get(arm['bom-ref'])), new Set([f.multi.arm64.config, ...f.multi.arm64.layers].map((b) => `blob:${b.digest}`)))
    assert.ok(deps.get('bundle')?.includes(signed['bom-ref']))
  })

  it('lists every other file with its SHA-256, equal to its SHA256SUMS line', async () => {
    const file = bom.components.find((c) => c.name === 'files/app.airgap')
    assert.deepEqual(file?.hashes, [{alg: 'SHA-256', content: createHash('sha256').update('the application\n').digest('hex')}])
    assert.ok(bom.components.some((c) => c.name === 'VERIFY.txt'))
    assert.ok(!bom.components.some((c) => c.name === 'sbom.cdx.json' || c.name === 'manifest.json'))
  })

  it('links the SBOMs carried as referrers from the component they describe, by path and SHA-256', () => {
    const doc = f.sbom.blobs.find((b) => b.mediaType === 'application/spdx+json')!
    const signed = bom.components.find((c) => c.name === `${f.upstream.host}/team/signed:1.0`)
    const ref = signed?.externalReferences?.find((e) => e.type === 'bom')
    assert.deepEqual(ref && {url: ref.url, hashes: ref.hashes}, {url: `images/blobs/sha256/${doc.digest.slice(7)}`, hashes: [{alg: 'SHA-256', content: doc.digest.slice(7)}]})
    // the multi-arch image's SBOM refers to its amd64 manifest: the link is on that platform's component
    const multiDoc = f.multi.sbom.blobs.find((b) => b.mediaType === 'application/spdx+json')!
    const amd = bom.components.find((c) => c['bom-ref'] === `manifest:${f.multi.amd64.manifest.digest}`)
    assert.equal(amd?.externalReferences?.find((e) => e.type === 'bom')?.url, `images/blobs/sha256/${multiDoc.digest.slice(7)}`)
  })

  it('is byte-identical when rebuilt with the same SOURCE_DATE_EPOCH', async () => {
    // VERIFY.txt names the bundle file: the same name, in another folder
    await mkdir(join(dir, 'again'))
    const again = join(dir, 'again', 'sbom.tar')
    const r = await runCli(['bundle', 'build', spec, '--key', f.keys.key, '--out', again, '--insecure-registry', f.upstream.host], {env})
    assert.equal(r.code, 0, r.stderr)
    assert.equal((await runCli(['bundle', 'inspect', again, '--sbom'])).stdout, text)
  })

  it('inspect --sbom refuses an SBOM altered after signing (exit 3), also from stdin', async () => {
    const entries = await readTarEntries(bundle)
    const e = entries.find((x) => x.path.endsWith('/sbom.cdx.json'))!
    e.body = Buffer.from(e.body!.toString().replace('"supply"', '"suppl-"'))
    const bad = join(dir, 'bad.tar')
    await writeFile(bad, craftTar(entries))
    const r = await runCli(['bundle', 'inspect', bad, '--sbom', '--json'])
    assert.equal(r.code, 3, r.stdout)
    assert.equal(r.json.error.code, 'DIGEST_MISMATCH')
    assert.equal(r.json.error.subject, 'supply-1.0.0/sbom.cdx.json')
    const piped = await runCli(['bundle', 'inspect', '-', '--sbom', '--json'], {input: await readFile(bad)})
    assert.equal(piped.json.error.code, 'DIGEST_MISMATCH')
  })

  it('charts given by the charts step become components of the bundle, and the SBOM still validates', async () => {
    const out = renderBundleSbom({
      name: 'c',
      version: '1.0.0',
      created: new Date('2025-01-01T00:00:00Z'),
      toolVersion: '0.0.0',
      images: [],
      charts: [{name: 'wallaroo', version: '2025.1.0', sha256: 'a'.repeat(64), path: 'charts/wallaroo-2025.1.0.tgz'}],
      files: [{path: 'charts/wallaroo-2025.1.0.tgz', size: 10, sha256: 'a'.repeat(64), role: 'file'}],
      layoutDir: 'images',
    })
    const doc = JSON.parse(out) as Bom
    const chart = doc.components.find((c) => c['bom-ref'] === 'chart:wallaroo@2025.1.0')
    assert.equal(chart?.version, '2025.1.0')
    assert.ok(doc.dependencies.find((d) => d.ref === 'bundle')?.dependsOn?.includes('chart:wallaroo@2025.1.0'))
    assert.equal(await schemaErrors(out), null)
  })
})
