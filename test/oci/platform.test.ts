import assert from 'node:assert/strict'

import {parseManifest} from '../../src/oci/manifest.js'
import {parsePlatform, platformMatches} from '../../src/oci/platform.js'
import {blobPath} from '../../src/oci/digest.js'
import {AirlockError} from '../../src/ui/errors.js'

describe('platforms and manifests', () => {
  it('matches variants the way containerd normalises them', () => {
    const arm64 = {os: 'linux', architecture: 'arm64'}
    assert.ok(platformMatches(parsePlatform('linux/arm64/v8', 's'), arm64))
    assert.ok(platformMatches(parsePlatform('linux/arm64', 's'), {...arm64, variant: 'v8'}))
    assert.ok(!platformMatches(parsePlatform('linux/arm/v6', 's'), {os: 'linux', architecture: 'arm', variant: 'v7'}))
    assert.ok(!platformMatches(parsePlatform('linux/amd64', 's'), arm64))
    assert.throws(() => parsePlatform('linux', 'spec.platforms[0]'), (e: unknown) => e instanceof AirlockError && e.subject === 'spec.platforms[0]')
  })

  it('refuses a Docker schema 1 manifest with a clear code', () => {
    // the shape a registry serves for application/vnd.docker.distribution.manifest.v1+prettyjws
    const schema1 = Buffer.from(JSON.stringify({schemaVersion: 1, name: 'library/old', tag: 'latest', architecture: 'amd64', fsLayers: [{blobSum: `sha256:${'a'.repeat(64)}`}], history: [{v1Compatibility: '{}'}], signatures: []}))
    assert.throws(() => parseManifest(schema1, 'application/vnd.docker.distribution.manifest.v1+prettyjws', 'old:latest'), (e: unknown) => e instanceof AirlockError && e.code === 'MANIFEST_INVALID' && /schema 1/.test(e.message))
  })

  it('never turns a hostile digest into a path', () => {
    assert.equal(blobPath(`sha256:${'b'.repeat(64)}`), `blobs/sha256/${'b'.repeat(64)}`)
    for (const d of ['sha256:../../etc/passwd', `sha512:${'a'.repeat(128)}`, `sha256:${'a'.repeat(63)}/`]) {
      assert.throws(() => blobPath(d), (e: unknown) => e instanceof AirlockError && e.code === 'MANIFEST_INVALID')
    }
    const hostile = Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: {mediaType: 'x', digest: 'sha256:../../x', size: 1}, layers: []}))
    assert.throws(() => parseManifest(hostile, undefined, 'm'), (e: unknown) => e instanceof AirlockError && e.code === 'MANIFEST_INVALID')
  })
})
