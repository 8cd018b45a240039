import {strict as assert} from 'node:assert'

import {parseSize} from '../../src/transport/size.js'
import {formatBytes} from '../../src/ui/progress.js'

describe('sizes are printed in the units they are written in', () => {
  it('prints a size flag back as the user wrote it: 64M is "64.0 MiB", not "67.1 MB"', () => {
    assert.equal(formatBytes(parseSize('64M', '--part-size')), '64.0 MiB')
    assert.equal(formatBytes(parseSize('64MiB', '--part-size')), '64.0 MiB')
    assert.equal(formatBytes(parseSize('4G', '--size')), '4.0 GiB')
    assert.equal(formatBytes(parseSize('512K', '--size')), '512 KiB')
    assert.equal(formatBytes(parseSize('1.5 GiB', '--size')), '1.5 GiB')
  })

  it('uses powers of 1024 with IEC names, and never prints "1024" of a unit', () => {
    assert.equal(formatBytes(0), '0 B')
    assert.equal(formatBytes(1023), '1023 B')
    assert.equal(formatBytes(1024), '1.0 KiB')
    assert.equal(formatBytes(1536), '1.5 KiB')
    assert.equal(formatBytes(1024 * 1024 - 1), '1.0 MiB')
    assert.equal(formatBytes(5 * 1024 ** 4), '5.0 TiB')
    assert.equal(formatBytes(3.4), '3 B', 'a rate in bytes per second is a whole number')
  })
})
