/*
 * Referrers in the shapes publishers actually write them that the main fixture does not: a cosign
 * `.sig` holding several signatures (cosign appends one layer per `cosign sign`), a DSSE attestation
 * under `.att`, a signature of one platform manifest of an index, and a site registry whose referrers
 * tag schema index already lists someone else's referrer.
 */
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {createHash} from 'node:crypto'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {runCli} from '../support/cli.js'
import {makeImage, makeIndex, makeLayer, seed, skopeo, startRegistry, tempDir, writeLayout, type Registry} from '../support/registry.js'
import {cosignSignature, getSupplyFixture, pushArtifact, pushTagSchema, sbomReferrer, sha256, writeSpec, type Artifact, type SupplyFixture} from './fixture.js'

const run = promisify(execFile)
const env = {REGISTRY_AUTH_FILE: '/nonexistent', XDG_RUNTIME_DIR: '/nonexistent', DOCKER_CONFIG: '/nonexistent', AIRLOCK_REGISTRY_BACKOFF_MS: '20'}
const tagOf = (digest: string, suffix: string) => `${digest.replace(':', '-')}.${suffix}`

function manifestArtifact(manifest: Record<string, unknown>, blobs: Artifact['blobs']): Artifact {
  const bytes = Buffer.from(JSON.stringify(manifest))
  return {digest: sha256(bytes), size: bytes.length, bytes, mediaType: 'application/vnd.oci.image.manifest.v1+json', blobs}
}

/* eslint-disable @typescript-eslint/no-explicit-any */
describe('referrers in the shapes cosign and ORAS write them', function () {
  this.timeout(180_000)
  let f: SupplyFixture
  let site: Registry
  let dir: string
  let image: ReturnType<typeof makeImage>
  let amd64: ReturnType<typeof makeImage>
  let twoSigs: Artifact
  let attestation: Artifact
  let childSig: Artifact
  let bundle: string

  before(async () => {
    f = await getSupplyFixture()
    dir = await tempDir('referrer-shapes')
    site = await startRegistry()
    const R = f.upstream.host
    image = makeImage([makeLayer('shapes-app', 12_000)], {os: 'linux', architecture: 'amd64'}, 'shapes')
    amd64 = makeImage([makeLayer('shapes-amd64', 9_000)], {os: 'linux', architecture: 'amd64'}, 'shapes-multi')
    const arm64 = makeImage([makeLayer('shapes-arm64', 9_000)], {os: 'linux', architecture: 'arm64'}, 'shapes-multi')
    const index = makeIndex([amd64, arm64])
    await writeLayout(join(dir, 'layout'), [{tag: 'one', image}, {tag: 'multi', index: {blob: index, images: [amd64, arm64]}}])
    await seed(join(dir, 'layout'), 'one', `${R}/shapes/one:1.0`)
    await seed(join(dir, 'layout'), 'multi', `${R}/shapes/multi:1.0`)

    // one .sig, two signatures: another publisher's first, then ours (the order cosign appends them in)
    await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', join(dir, 'third.key')])
    const theirs = await cosignSignature(dir, join(dir, 'third.key'), `${R}/shapes/one`, image.manifest.digest)
    const ours = await cosignSignature(dir, f.cosignKey, `mirror.example/elsewhere/one`, image.manifest.digest)
    const layers = [theirs, ours].map((s) => JSON.parse(s.bytes.toString()).layers[0])
    const config = theirs.blobs[0] as Artifact['blobs'][number]
    twoSigs = manifestArtifact({schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: {mediaType: config.mediaType, digest: config.digest, size: config.size}, layers}, [config, theirs.blobs[1] as Artifact['blobs'][number], ours.blobs[1] as Artifact['blobs'][number]])
    await pushArtifact(R, 'shapes/one', twoSigs, tagOf(image.manifest.digest, 'sig'))

    // an in-toto statement in a DSSE envelope, as cosign attest pushes it under .att
    const statement = {_type: 'https://in-toto.io/Statement/v0.1', predicateType: 'https://slsa.dev/provenance/v0.2', subject: [{name: `${R}/shapes/one`, digest: {sha256: image.manifest.digest.slice(7)}}], predicate: {builder: {id: 'test'}}}
    const envelope = Buffer.from(JSON.stringify({payloadType: 'application/vnd.in-toto+json', payload: Buffer.from(JSON.stringify(statement)).toString('base64'), signatures: [{keyid: '', sig: 'MEUCIQ=='}]}))
    const dsse = {digest: sha256(envelope), size: envelope.length, data: envelope, mediaType: 'application/vnd.dsse.envelope.v1+json'}
    attestation = manifestArtifact({schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: {mediaType: config.mediaType, digest: config.digest, size: config.size}, layers: [{mediaType: dsse.mediaType, digest: dsse.digest, size: dsse.size, annotations: {predicateType: statement.predicateType}}]}, [config, dsse])
    await pushArtifact(R, 'shapes/one', attestation, tagOf(image.manifest.digest, 'att'))

    // the amd64 manifest of an index signed on its own (cosign sign IMAGE@CHILD-DIGEST)
    childSig = await cosignSignature(dir, f.cosignKey, `${R}/shapes/multi`, amd64.manifest.digest)
    await pushArtifact(R, 'shapes/multi', childSig, tagOf(amd64.manifest.digest, 'sig'))

    const spec = await writeSpec(dir, [`{ref: "${R}/shapes/one:1.0", verify: {cosignKey: ${f.cosignPub}}}`, `${R}/shapes/multi:1.0`])
    bundle = join(dir, 'shapes.tar')
    const r = await runCli(['bundle', 'build', spec, '--key', f.keys.key, '--out', bundle, '--insecure-registry', R, '--json'], {env})
    assert.equal(r.code, 0, r.stderr + r.stdout)
  })
  after(async () => {
    await site?.stop()
  })

  it('verifies the one signature by the key among several in a .sig, and carries the .sig and the .att', async () => {
    const r = await runCli(['images', 'list', bundle, '--json'])
    assert.equal(r.code, 0, r.stderr)
    const [one, multi] = r.json.images as any[]
    assert.equal(one.signature.signature, twoSigs.digest)
    // the payload names another repository (a mirror signed it): recorded, not required to match
    assert.equal(one.signature.dockerReference, 'mirror.example/elsewhere/one')
    assert.deepEqual(one.referrers.map((x: any) => [x.kind, x.digest, x.tag]).sort(), [
      ['attestation', attestation.digest, tagOf(image.manifest.digest, 'att')],
      ['signature', twoSigs.digest, tagOf(image.manifest.digest, 'sig')],
    ].sort())
    assert.deepEqual(multi.referrers.map((x: any) => [x.kind, x.subject]), [['signature', amd64.manifest.digest]])
  })

  it('images push restores each under its cosign tag, and keeps what the site tag schema index already listed', async () => {
    // someone else's SBOM of the same image already sits at the site, listed in the tag schema
    await seed(join(dir, 'layout'), 'one', `${site.host}/m/shapes/one:1.0`)
    const foreign = sbomReferrer(image.manifest, 'foreign')
    await pushArtifact(site.host, 'm/shapes/one', foreign)
    await pushTagSchema(site.host, 'm/shapes/one', image.manifest.digest, [foreign])
    const p = await runCli(['images', 'push', bundle, '--registry', `${site.host}/m`, '--insecure-registry', site.host, '--trust', f.keys.pub, '--json'], {env})
    assert.equal(p.code, 0, p.stderr + p.stdout)
    for (const [repo, a, subject, suffix] of [['shapes/one', twoSigs, image.manifest.digest, 'sig'], ['shapes/one', attestation, image.manifest.digest, 'att'], ['shapes/multi', childSig, amd64.manifest.digest, 'sig']] as const) {
      const raw = await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${site.host}/m/${repo}:${tagOf(subject, suffix)}`])
      assert.equal(createHash('sha256').update(raw).digest('hex'), a.digest.slice(7), `${repo} ${suffix}`)
    }
    const listed = await fetch(`http://${site.host}/v2/m/shapes/one/manifests/${image.manifest.digest.replace(':', '-')}`, {headers: {accept: 'application/vnd.oci.image.index.v1+json'}})
    assert.deepEqual(((await listed.json()) as any).manifests.map((m: any) => m.digest), [foreign.digest])
  })
})
