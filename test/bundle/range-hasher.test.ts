import assert from 'node:assert/strict'
import {createHash, randomBytes} from 'node:crypto'
import {open, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {RangeHasher} from '../../src/bundle/range-hasher.js'
import {makeTempDir, removeTempDir} from '../support/cli.js'

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

describe('RangeHasher: ranges of one file hashed by this thread and workers through shared memory', () => {
  let dir: string
  let data: Buffer
  let file: string
  before(async () => {
    dir = await makeTempDir()
    data = randomBytes(24 << 20)
    file = join(dir, 'data.bin')
    await writeFile(file, data)
  })
  after(() => removeTempDir(dir))

  // bundle-shaped: many tiny ranges (configs, manifests), some of a few MB (layers), an empty one
  const ranges = (): [number, number][] => {
    const out: [number, number][] = []
    let at = 0
    for (let i = 0; at < data.length; i++) {
      const size = i % 5 === 0 ? 3_000_000 + i * 1000 : i % 7 === 0 ? 0 : 200 + i * 37
      const to = Math.min(data.length, at + size)
      out.push([at, to])
      at = to + 512
    }
    return out
  }

  for (const workers of [0, 1, 2]) {
    it(`gives every range's SHA-256, collected in order, with ${workers} worker(s) and the slots reused many times over`, async () => {
      const handle = await open(file, 'r')
      const hasher = new RangeHasher(handle.fd, workers, 8)
      try {
        const list = ranges()
        const tickets: number[] = []
        const got: string[] = []
        for (const [from, to] of list) {
          tickets.push(hasher.add(from, to))
          // at most `capacity` uncollected: collect the oldest as the walk in verify does
          while (tickets.length >= 6) got.push(await hasher.digest(tickets.shift() as number))
        }
        while (tickets.length > 0) got.push(await hasher.digest(tickets.shift() as number))
        assert.equal(list.length > 24, true)
        assert.deepEqual(got, list.map(([from, to]) => sha(data.subarray(from, to))))
      } finally {
        await hasher.close()
        await handle.close()
      }
    })
  }

  it('rejects a range past the end of the file with code TRUNCATED, on a worker or here, and goes on with the next', async () => {
    const handle = await open(file, 'r')
    const hasher = new RangeHasher(handle.fd, 1, 16)
    try {
      const first = hasher.add(0, 1000)
      const past = hasher.add(data.length - 10, data.length + 10)
      const after = hasher.add(1000, 5000)
      assert.equal(await hasher.digest(first), sha(data.subarray(0, 1000)))
      await assert.rejects(hasher.digest(past), (error: {code?: string}) => error.code === 'TRUNCATED')
      assert.equal(await hasher.digest(after), sha(data.subarray(1000, 5000)))
    } finally {
      await hasher.close()
      await handle.close()
    }
  })
})
