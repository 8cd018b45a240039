import {strict as assert} from 'node:assert'

import {effectivePartSize} from '../../src/transport/publish.js'
import {AirlockError} from '../../src/ui/errors.js'

const MiB = 1024 * 1024
const GiB = 1024 * MiB

describe('multipart part size chosen from the bundle size (build --out s3://, publish)', () => {
  it('keeps the requested 8 MiB while the bundle fits in 10,000 parts, and raises it, in whole MiB, only as far as needed beyond', () => {
    assert.equal(effectivePartSize(1 * GiB, 8 * MiB), 8 * MiB)
    assert.equal(effectivePartSize(10_000 * 8 * MiB, 8 * MiB), 8 * MiB)
    for (const size of [10_000 * 8 * MiB + 1, 100 * GiB, 1024 * GiB, 5 * 1024 * GiB]) {
      const part = effectivePartSize(size, 8 * MiB)
      assert.ok(Math.ceil(size / part) <= 10_000, `${size} bytes in parts of ${part}: ${Math.ceil(size / part)} parts`)
      assert.equal(part % MiB, 0)
      // the smallest whole-MiB size that fits: one MiB less would need more than 10,000 parts
      assert.ok(Math.ceil(size / (part - MiB)) > 10_000)
    }
  })

  it('refuses parts below the 5 MiB S3 requires, naming --part-size', () => {
    assert.equal(effectivePartSize(1 * GiB, 5 * MiB), 5 * MiB)
    assert.throws(
      () => effectivePartSize(1 * GiB, 5 * MiB - 1),
      (e: unknown) => e instanceof AirlockError && e.code === 'USAGE' && /--part-size/.test(e.message),
    )
  })
})
