import assert from 'node:assert/strict'

import {ociChartReference} from '../../src/charts/fetch.js'
import {formatReference} from '../../src/registry/reference.js'
import {parseSpec} from '../../src/spec/load.js'
import {AirlockError} from '../../src/ui/errors.js'

const HEAD = 'apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: demo, version: 1.0.0}\nspec:\n  charts:\n'

function specError(charts: string): AirlockError {
  try {
    parseSpec(`${HEAD}${charts}`, 'b.yaml')
  } catch (error) {
    assert.ok(error instanceof AirlockError)
    assert.equal(error.code, 'SPEC_INVALID')
    assert.equal(error.exitCode, 2)
    return error
  }
  assert.fail('the spec was accepted')
}

describe('spec.charts', () => {
  it('accepts the three kinds of entry with values, images, discover and a registry value', () => {
    const spec = parseSpec(
      `${HEAD}    - {ref: oci://ghcr.io/acme/charts/app, version: 1.2.3, values: [./site.yaml, {replicas: 2}], registryValue: global.imageRegistry}\n    - {repo: https://charts.example.com/stable, name: tools, version: 0.3.0+build.1, images: [busybox:1.36]}\n    - {source: ./site-0.1.0.tgz, discover: false}\n`,
      'b.yaml',
    )
    assert.equal(spec.spec.charts.length, 3)
    assert.equal(spec.spec.charts[0]?.discover, true)
    assert.equal(spec.spec.charts[2]?.discover, false)
    assert.deepEqual(spec.spec.charts[1]?.images, ['busybox:1.36'])
  })

  it('names the YAML path of each mistake', () => {
    assert.equal(specError('    - {ref: oci://ghcr.io/acme/app}\n').subject, 'b.yaml#spec.charts[0].version')
    assert.equal(specError('    - {repo: https://charts.example.com, version: 1.0.0}\n').subject, 'b.yaml#spec.charts[0].name')
    assert.equal(specError('    - {ref: ghcr.io/acme/app, version: 1.0.0}\n').subject, 'b.yaml#spec.charts[0].ref')
    assert.equal(specError('    - {ref: "oci://ghcr.io/acme/app:1.0.0", version: 1.0.0}\n').subject, 'b.yaml#spec.charts[0].ref')
    assert.equal(specError('    - {repo: http://charts.example.com, name: x, version: 1.0.0}\n').subject, 'b.yaml#spec.charts[0].repo')
    assert.equal(specError('    - {source: ./a.tgz, ref: oci://ghcr.io/acme/app, version: 1.0.0}\n').subject, 'b.yaml#spec.charts[0].source')
    assert.equal(specError('    - {version: 1.0.0}\n').subject, 'b.yaml#spec.charts[0]')
    assert.equal(specError('    - {source: ./a.tgz, registryValue: "a..b"}\n').subject, 'b.yaml#spec.charts[0].registryValue')
    const unknown = specError('    - {source: ./a.tgz}\n    - {source: ./b.tgz, valuesFiles: [x]}\n')
    assert.equal(unknown.subject, 'b.yaml#spec.charts[1]')
    assert.match(unknown.message, /spec\.charts\[1\]: unknown key "valuesFiles" \(line 7\)/)
  })

  it('takes an OCI chart on Docker Hub as helm names it (oci://registry-1.docker.io/...) and refuses a ref without a host', () => {
    assert.equal(formatReference(ociChartReference('oci://registry-1.docker.io/bitnamicharts/nginx', '18.1.0', 's')), 'docker.io/bitnamicharts/nginx:18.1.0')
    assert.equal(formatReference(ociChartReference('oci://localhost:5000/charts/x', '1.0.0+b1', 's')), 'localhost:5000/charts/x:1.0.0_b1')
    assert.throws(() => ociChartReference('oci://bitnamicharts/nginx', '18.1.0', 'b.yaml#spec.charts[0].ref'), (e: unknown) => e instanceof AirlockError && e.code === 'SPEC_INVALID' && /registry host/.test(e.message))
  })
})
