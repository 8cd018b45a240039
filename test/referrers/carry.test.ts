import assert from 'node:assert/strict'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'

import {runCli} from '../support/cli.js'
import {skopeo} from '../support/registry.js'
import {getSupplyFixture, sha256, writeSpec, type SupplyFixture} from './fixture.js'

const env = {REGISTRY_AUTH_FILE: '/nonexistent', XDG_RUNTIME_DIR: '/nonexistent', DOCKER_CONFIG: '/nonexistent', AIRLOCK_REGISTRY_BACKOFF_MS: '20'}

interface Referrer {
  digest: string
  kind: string
  subject: string
  via: string
  tag?: string
  artifactType: string
}

describe('referrers: carried at build, restored at push', function () {
  this.timeout(180_000)
  let f: SupplyFixture
  let bundle: string

  before(async () => {
    f = await getSupplyFixture()
    const spec = await writeSpec(f.dir, [`{ref: "${f.upstream.host}/team/signed:1.0", verify: {cosignKey: ${f.cosignPub}}}`, `${f.upstream.host}/team/multi:1.0`], '  platforms: [linux/amd64]\n')
    bundle = join(f.dir, 'carry.tar')
    const r = await runCli(['bundle', 'build', spec, '--key', f.keys.key, '--out', bundle, '--insecure-registry', f.upstream.host, '--json'], {env})
    assert.equal(r.code, 0, r.stderr + r.stdout)
  })

  it('lists each referrer under its image, found by the cosign tag and the referrers tag schema, digests unchanged', async () => {
    const r = await runCli(['images', 'list', bundle, '--json'])
    assert.equal(r.code, 0, r.stderr)
    const [signed, multi] = r.json.images as {referrers?: Referrer[]; signature?: {key: string}}[]
    const refs = signed?.referrers ?? []
    const sig = refs.find((x) => x.kind === 'signature')
    const sbom = refs.find((x) => x.kind === 'sbom')
    assert.deepEqual({digest: sig?.digest, subject: sig?.subject, via: sig?.via, tag: sig?.tag}, {digest: f.signature.digest, subject: f.signed.manifest.digest, via: 'cosign-tag', tag: `${f.signed.manifest.digest.replace(':', '-')}.sig`})
    assert.deepEqual({digest: sbom?.digest, subject: sbom?.subject, via: sbom?.via, artifactType: sbom?.artifactType}, {digest: f.sbom.digest, subject: f.signed.manifest.digest, via: 'tag-schema', artifactType: 'application/spdx+json'})
    assert.equal(signed?.signature?.key, f.cosignPub)
    // the index was narrowed to linux/amd64: the amd64 manifest's SBOM travels, nothing of arm64
    assert.deepEqual((multi?.referrers ?? []).map((x) => [x.digest, x.subject, x.kind]), [[f.multi.sbom.digest, f.multi.amd64.manifest.digest, 'sbom']])
    const human = await runCli(['images', 'list', bundle])
    assert.match(human.stdout, new RegExp(`signature +${f.signature.digest.slice(0, 19)}`))
  })

  it('stores every referrer manifest and blob in the layout, listed in images/index.json without a ref.name', async () => {
    const r = await runCli(['bundle', 'inspect', bundle, '--json'])
    assert.equal(r.code, 0, r.stderr)
    const paths = new Set((r.json.files as {path: string}[]).map((x) => x.path))
    for (const a of [f.signature, f.sbom, f.multi.sbom]) {
      for (const d of [a.digest, ...a.blobs.map((b) => b.digest)]) assert.ok(paths.has(`images/blobs/sha256/${d.slice(7)}`), `${d} is in the bundle`)
    }
    const out = join(f.dir, 'carry-x')
    const x = await runCli(['bundle', 'extract', bundle, '--to', out, '--trust', f.keys.pub, '--json'])
    assert.equal(x.code, 0, x.stderr + x.stdout)
    const root = out
    const index = JSON.parse(await readFile(join(root, 'images', 'index.json'), 'utf8')) as {manifests: {digest: string; annotations: Record<string, string>}[]}
    const sig = index.manifests.find((m) => m.digest === f.signature.digest)
    assert.equal(sig?.annotations['org.opencontainers.image.ref.name'], undefined)
    assert.equal(sig?.annotations['dev.airlock.referrer.subject'], f.signed.manifest.digest)
    assert.equal(sha256(await readFile(join(root, 'images', 'blobs', 'sha256', f.signature.digest.slice(7)))), f.signature.digest)
    // skopeo still reads the images by name out of the layout that holds the referrers
    const raw = await skopeo(['inspect', '--raw', `oci:${join(root, 'images')}:${f.upstream.host}/team/signed:1.0`])
    assert.equal(sha256(raw), f.signed.manifest.digest)
  })

  it('images push restores the signature under its cosign tag and the SBOM in the tag schema, same digests', async () => {
    const r = await runCli(['images', 'push', bundle, '--registry', `${f.site.host}/mirror`, '--insecure-registry', f.site.host, '--trust', f.keys.pub, '--json'], {env})
    assert.equal(r.code, 0, r.stderr + r.stdout)
    assert.equal(r.json.referrers.pushed, 3)
    assert.equal(r.json.referrers.tagged, 1)
    assert.equal(r.json.referrers.tagSchemaUpdates, 2)
    const site = `${f.site.host}/mirror/team`
    const sigTag = `${f.signed.manifest.digest.replace(':', '-')}.sig`
    assert.equal(sha256(await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${site}/signed:${sigTag}`])), f.signature.digest)
    assert.equal(sha256(await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${site}/signed@${f.sbom.digest}`])), f.sbom.digest)
    // the referrers tag schema, as a client of a registry without the referrers API reads it
    const listed = await fetch(`http://${f.site.host}/v2/mirror/team/signed/manifests/${f.signed.manifest.digest.replace(':', '-')}`, {headers: {accept: 'application/vnd.oci.image.index.v1+json'}})
    assert.equal(listed.status, 200)
    const index = (await listed.json()) as {manifests: {digest: string; artifactType?: string}[]}
    assert.deepEqual(index.manifests.map((m) => [m.digest, m.artifactType]), [[f.sbom.digest, 'application/spdx+json']])
    for (const b of [...f.signature.blobs, ...f.sbom.blobs]) {
      const head = await fetch(`http://${f.site.host}/v2/mirror/team/signed/blobs/${b.digest}`, {method: 'HEAD'})
      assert.equal(head.status, 200, `${b.digest} pushed`)
    }
    const multi = await fetch(`http://${f.site.host}/v2/mirror/team/multi/manifests/${f.multi.amd64.manifest.digest.replace(':', '-')}`, {headers: {accept: 'application/vnd.oci.image.index.v1+json'}})
    assert.deepEqual(((await multi.json()) as {manifests: {digest: string}[]}).manifests.map((m) => m.digest), [f.multi.sbom.digest])

    const again = await runCli(['images', 'push', bundle, '--registry', `${f.site.host}/mirror`, '--insecure-registry', f.site.host, '--trust', f.keys.pub, '--json'], {env})
    assert.equal(again.code, 0, again.stderr)
    assert.deepEqual(again.json.referrers, {pushed: 0, present: 3, tagged: 0, tagSchemaUpdates: 0})
  })

  it('--exclude-referrers and spec.excludeReferrers leave them out; a required signature is still checked', async () => {
    const spec = await writeSpec(f.dir, [`{ref: "${f.upstream.host}/team/signed:1.0", verify: {cosignKey: ${f.cosignPub}}}`])
    const flagged = join(f.dir, 'exclude-flag.tar')
    const a = await runCli(['bundle', 'build', spec, '--key', f.keys.key, '--out', flagged, '--insecure-registry', f.upstream.host, '--exclude-referrers'], {env})
    assert.equal(a.code, 0, a.stderr)
    const specField = await writeSpec(f.dir, [`${f.upstream.host}/team/signed:1.0`], '  excludeReferrers: true\n')
    const fielded = join(f.dir, 'exclude-field.tar')
    const b = await runCli(['bundle', 'build', specField, '--key', f.keys.key, '--out', fielded, '--insecure-registry', f.upstream.host], {env})
    assert.equal(b.code, 0, b.stderr)
    for (const file of [flagged, fielded]) {
      const r = await runCli(['bundle', 'inspect', file, '--json'])
      const paths = (r.json.files as {path: string}[]).map((x) => x.path)
      assert.ok(!paths.includes(`images/blobs/sha256/${f.signature.digest.slice(7)}`))
      assert.ok(!paths.includes(`images/blobs/sha256/${f.sbom.digest.slice(7)}`))
      assert.equal(r.json.extensions.images[0].referrers, undefined)
    }
    const listed = await runCli(['images', 'list', flagged, '--json'])
    assert.equal(listed.json.images[0].signature.key, f.cosignPub)
  })
})
