import assert from 'node:assert/strict'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'

import {parseSpec} from '../../src/spec/load.js'
import {REPO_ROOT} from '../support/paths.js'

const SPEC = join(REPO_ROOT, 'bundles', 'wallaroo-2025.1.yaml')

describe('bundles/wallaroo-2025.1.yaml', () => {
  it('passes the spec schema: the wallaroo-2025.1 profile, kots size and edition, csr TLS, manifests, and no images', async () => {
    const spec = parseSpec(await readFile(SPEC, 'utf8'), SPEC)
    assert.equal(spec.spec.profile, 'wallaroo-2025.1')
    assert.equal(spec.spec.kots?.size, 16)
    assert.equal(spec.spec.kots?.edition, 'enterprise')
    assert.equal(spec.spec.kots?.domain, spec.spec.tls?.domain)
    assert.equal(spec.spec.tls?.mode, 'csr')
    assert.ok(spec.spec.manifests?.platform)
    // the .airgap and kotsadm.tar.gz carry every image: listing any here would pull it twice
    assert.deepEqual(spec.spec.images, [])
    assert.deepEqual(
      spec.spec.files.map((f) => [f.id, f.as]),
      [
        ['app', 'wallaroo.airgap'],
        ['kotsadm', 'kotsadm.tar.gz'],
      ],
    )
  })

  it('takes the two archives from --set files.app / files.kotsadm', async () => {
    const spec = parseSpec(await readFile(SPEC, 'utf8'), SPEC, {'files.app': '/media/vendor/wallaroo-2025.1.airgap', 'files.kotsadm': '/media/vendor/kotsadm.tar.gz', 'kots.size': '8'})
    assert.deepEqual(
      spec.spec.files.map((f) => f.source),
      ['/media/vendor/wallaroo-2025.1.airgap', '/media/vendor/kotsadm.tar.gz'],
    )
    assert.equal(spec.spec.kots?.size, 8)
  })
})
