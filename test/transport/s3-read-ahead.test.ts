import {strict as assert} from 'node:assert'
import {randomBytes} from 'node:crypto'
import {createServer, request, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

import {PutObjectCommand, S3Client} from '@aws-sdk/client-s3'

import {SeekSource, TarReader} from '../../src/bundle/tar-reader.js'
import {openS3RandomAccess} from '../../src/transport/s3-object.js'
import {craftTar} from '../support/bundles.js'
import {registerCleanup} from '../support/cleanup.js'
import {startS3} from '../support/s3.js'

/** A pass-through to s3rver that counts the GETs it forwards (the Host header is kept, so signatures hold). */
async function countingProxy(target: string): Promise<{endpoint: string; gets: () => number}> {
  const to = new URL(target)
  let gets = 0
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET') gets++
    const up = request({host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers}, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    up.on('error', () => res.destroy())
    req.pipe(up)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  registerCleanup('counting proxy', () => new Promise((resolve) => server.close(resolve)))
  return {endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, gets: () => gets}
}

describe('s3:// read by offset (images push/serve --no-verify): headers through a read-ahead window', function () {
  this.timeout(60_000)

  it('walks 200 small entries and a large one with a handful of GETs, not one per header, seeing every entry as a file would', async () => {
    const s3 = await startS3()
    const proxy = await countingProxy(s3.endpoint)
    const entries = Array.from({length: 200}, (_, i) => ({path: `small/${i}.txt`, body: Buffer.from(`entry ${i}\n`)}))
    const big = randomBytes(3 * 1024 * 1024)
    const tar = craftTar([...entries, {path: 'big.bin', body: big}, {path: 'after.txt', body: Buffer.from('after\n')}])
    const client = new S3Client({endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: {accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER'}})
    await client.send(new PutObjectCommand({Bucket: s3.bucket, Key: 'many.tar', Body: tar}))
    client.destroy()

    const saved = {...process.env}
    Object.assign(process.env, s3.env)
    const bundle = await openS3RandomAccess(`s3://${s3.bucket}/many.tar`, {endpoint: proxy.endpoint, concurrency: 4})
    try {
      const reader = new TarReader(new SeekSource(bundle))
      const names: string[] = []
      for (let e = await reader.next(); e; e = await reader.next()) names.push(e.path)
      assert.deepEqual(names, [...entries.map((e) => e.path), 'big.bin', 'after.txt'])
      // 203 headers: the window serves the 200 small ones (about 200 KiB) from one GET; the header
      // after the 3 MiB body needs another. One GET per header would be 200+.
      assert.ok(proxy.gets() <= 4, `${proxy.gets()} GETs for 202 headers`)
      // a range read beside the window still returns exactly the bytes asked for
      const at = tar.indexOf(big.subarray(0, 64))
      assert.deepEqual(await bundle.readBuffer(at + 100, 300), big.subarray(100, 400))
    } finally {
      await bundle.close()
      process.env = saved
      await s3.stop()
    }
  })
})
