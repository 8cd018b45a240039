import assert from 'node:assert/strict'

import {formatReference, parseReference} from '../../src/registry/reference.js'
import {AirlockError} from '../../src/ui/errors.js'

const D = `sha256:${'a'.repeat(64)}`

describe('image references', () => {
  const cases: [string, string][] = [
    ['nginx', 'docker.io/library/nginx:latest'],
    ['nginx:1.25', 'docker.io/library/nginx:1.25'],
    ['bitnami/redis:7', 'docker.io/bitnami/redis:7'],
    ['index.docker.io/library/busybox', 'docker.io/library/busybox:latest'],
    ['quay.io/org/team/app:1.2.3', 'quay.io/org/team/app:1.2.3'],
    ['localhost/app', 'localhost/app:latest'],
    ['localhost:5000/a/b:c', 'localhost:5000/a/b:c'],
    ['10.0.0.5:5000/x', '10.0.0.5:5000/x:latest'],
    [`ghcr.io/o/tool@${D}`, `ghcr.io/o/tool@${D}`],
    [`ghcr.io/o/tool:v1@${D}`, `ghcr.io/o/tool:v1@${D}`],
    ['my_org/app__x-y.z:Tag_1.0-rc', 'docker.io/my_org/app__x-y.z:Tag_1.0-rc'],
  ]
  for (const [input, want] of cases) {
    it(`normalises ${input}`, () => assert.equal(formatReference(parseReference(input)), want))
  }

  it('splits registry, repository, tag and digest', () => {
    assert.deepEqual(parseReference(`reg.example:443/a/b:t@${D}`), {registry: 'reg.example:443', repository: 'a/b', tag: 't', digest: D})
  })

  const bad = ['', 'UPPER/case', 'a//b', 'app:', 'app:-bad', `app@sha256:${'A'.repeat(64)}`, 'app@md5:abc', ' nginx', 'a/b/', `x:${'t'.repeat(129)}`, 'reg..io/x']
  for (const input of bad) {
    it(`refuses ${JSON.stringify(input)} naming the spec path`, () => {
      assert.throws(
        () => parseReference(input, 'spec.yaml#spec.images[3]'),
        (e: unknown) => e instanceof AirlockError && e.code === 'REFERENCE_INVALID' && e.subject === 'spec.yaml#spec.images[3]' && e.exitCode === 2,
      )
    })
  }
})
