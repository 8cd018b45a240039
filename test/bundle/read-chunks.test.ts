import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {readdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {READ_CHUNK, readChunks} from '../../src/bundle/entry.js'
import {makeTempDir, removeTempDir} from '../support/cli.js'

/** Descriptors this process has open (Linux): a reader that leaks one shows up here. */
async function openFds(): Promise<number> {
  return (await readdir('/proc/self/fd')).length
}

describe('readChunks: a file read into two reused buffers', () => {
  let dir: string
  before(async () => {
    dir = await makeTempDir()
  })
  after(() => removeTempDir(dir))

  it('gives every byte of the file, in order, when each chunk is taken before the next is asked for', async () => {
    for (const size of [0, 1, READ_CHUNK, 3 * READ_CHUNK + 12345]) {
      const data = randomBytes(size)
      const file = join(dir, `f-${size}`)
      await writeFile(file, data)
      const copies: Buffer[] = []
      for await (const chunk of readChunks(file)) copies.push(Buffer.from(chunk))
      assert.ok(Buffer.concat(copies).equals(data), `${size} bytes read back differ`)
    }
  })

  it('reuses its buffers (the bytes of a kept chunk change) and closes the file when the reader stops early', async () => {
    const file = join(dir, 'big')
    await writeFile(file, randomBytes(4 * READ_CHUNK))
    const before = await openFds()
    const kept: Buffer[] = []
    for await (const chunk of readChunks(file)) {
      kept.push(chunk)
      if (kept.length === 3) break
    }
    // the first and third chunk share a buffer, which now holds the third chunk's bytes
    assert.equal(kept[0]?.buffer, kept[2]?.buffer)
    assert.ok(kept[0]?.equals(kept[2] as Buffer))
    assert.equal(await openFds(), before)
  })
})
