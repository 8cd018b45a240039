import {strict as assert} from 'node:assert'
import {createHash, randomBytes} from 'node:crypto'
import {readFile} from 'node:fs/promises'
import {createServer, request, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import {createServer as createHttpsServer} from 'node:https'
import type {AddressInfo, Socket} from 'node:net'

import {PutObjectCommand, S3Client} from '@aws-sdk/client-s3'

import {openS3RandomAccess, RANGE_BYTES} from '../../src/transport/s3-object.js'
import {buildTestBundle, makeKeys} from '../support/bundles.js'
import {registerCleanup} from '../support/cleanup.js'
import {makeTempDir, runCli} from '../support/cli.js'
import {makePki} from '../support/registry.js'
import {startS3, type TestS3} from '../support/s3.js'

const MiB = 1024 * 1024

/** How the store in front of s3rver misbehaves, GET by GET (1-based); undefined passes the answer on. */
type Fault = 'cut' | 'long' | 'chunked' | 'stale' | 'garbage' | 'shifted'

interface Store {
  endpoint: string
  gets: number
  connections: number
  /** If-Match of every GET, in order */
  ifMatch: (string | undefined)[]
  /** Range of every GET, in order */
  ranges: (string | undefined)[]
  /** answers a GET whose If-Match differs from this with 412, as S3 does for a replaced object */
  etag: string | undefined
}

/**
 * A store in front of s3rver (the Host header is kept, so signatures hold) that can cut a GET's body
 * short, send more than asked, answer in chunked encoding, or enforce If-Match (s3rver ignores it).
 */
async function storeProxy(target: string, fault: (get: number) => Fault | undefined, tls?: {cert: Buffer; key: Buffer}): Promise<Store> {
  const to = new URL(target)
  const store: Store = {endpoint: '', gets: 0, connections: 0, ifMatch: [], ranges: [], etag: undefined}
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const get = req.method === 'GET' ? ++store.gets : 0
    const how = get ? fault(get) : undefined
    if (get) store.ifMatch.push(req.headers['if-match'] as string | undefined)
    if (get) store.ranges.push(req.headers.range)
    if (get && store.etag !== undefined && req.headers['if-match'] !== store.etag) {
      const xml = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-Match</Condition></Error>'
      // chunked, as S3 sends its errors
      res.writeHead(412, {'content-type': 'application/xml'})
      res.write(xml.slice(0, 40))
      res.end(xml.slice(40))
      return
    }
    if (how === 'garbage') {
      // something that is not HTTP (a misrouted port, a broken proxy)
      res.socket?.end('SSH-2.0-OpenSSH_9.6\r\n\r\n')
      return
    }
    // a broken cache in between: the first range's bytes whatever was asked
    const headers = how === 'shifted' ? {...req.headers, range: `bytes=0-${Number(/-(\d+)$/.exec(req.headers.range ?? '')?.[1]) - Number(/=(\d+)-/.exec(req.headers.range ?? '')?.[1])}`} : req.headers
    const up = request({host: to.hostname, port: to.port, method: req.method, path: req.url, headers}, (answer) => {
      const headers = {...answer.headers}
      const size = Number(headers['content-length'] ?? 0)
      if (how === 'chunked') delete headers['content-length']
      if (how === 'long') headers['content-length'] = String(size + 100)
      res.writeHead(answer.statusCode ?? 502, headers)
      if (how === 'stale') {
        // the connection closes without an answer, as a kept-alive one the store timed out does
        res.socket?.destroy()
        answer.destroy()
        return
      }
      let sent = 0
      answer.on('data', (chunk: Buffer) => {
        if (how === 'cut' && sent + chunk.length >= size / 2) {
          res.write(chunk.subarray(0, Math.max(0, Math.floor(size / 2) - sent)))
          res.socket?.destroy()
          answer.destroy()
          return
        }
        sent += chunk.length
        res.write(chunk)
      })
      answer.on('end', () => res.end(how === 'long' ? Buffer.alloc(100, 0x41) : undefined))
    })
    up.on('error', () => res.destroy())
    req.pipe(up)
  }
  const server: Server = tls ? createHttpsServer(tls, handler) : createServer(handler)
  const sockets = new Set<Socket>()
  server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    store.connections++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  registerCleanup('S3 store proxy', () => {
    for (const s of sockets) s.destroy()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  })
  store.endpoint = `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`
  return store
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

describe('s3:// read in place: ranged GETs received straight into the range buffers', function () {
  this.timeout(120_000)
  let s3: TestS3
  let saved: NodeJS.ProcessEnv
  // four and a half ranges, so the last one is short and several are in flight at once
  const object = randomBytes(4 * RANGE_BYTES + RANGE_BYTES / 2)
  const url = () => `s3://${s3.bucket}/object.bin`

  before(async () => {
    s3 = await startS3()
    const client = new S3Client({endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: {accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER'}})
    await client.send(new PutObjectCommand({Bucket: s3.bucket, Key: 'object.bin', Body: object}))
    client.destroy()
    saved = {...process.env}
    Object.assign(process.env, s3.env, {AIRLOCK_RETRY_BACKOFF_MS: '10'})
  })

  after(async () => {
    if (saved) process.env = saved
    await s3?.stop()
  })

  async function readAll(endpoint: string, concurrency = 4): Promise<Buffer> {
    const bundle = await openS3RandomAccess(url(), {endpoint, concurrency})
    try {
      const parts: Buffer[] = []
      for await (const chunk of bundle.read(0, bundle.size)) parts.push(Buffer.from(chunk))
      return Buffer.concat(parts)
    } finally {
      await bundle.close()
    }
  }

  it('reads the whole object in order over kept-alive connections, every GET tied to the ETag by If-Match', async () => {
    const store = await storeProxy(s3.endpoint, () => undefined)
    const got = await readAll(store.endpoint)
    assert.equal(sha(got), sha(object))
    assert.equal(store.gets, 5)
    // two ranges in flight per read: five GETs over at most two connections, plus the HEAD's own
    assert.ok(store.connections <= 3, `${store.connections} connections for ${store.gets} GETs`)
    const etag = store.ifMatch[0]
    assert.match(etag ?? '', /^"[0-9a-f]{32}"$/)
    assert.deepEqual(store.ifMatch, Array(5).fill(etag))
  })

  it('reads side by side share as many connections as the SDK agent allows (ranges in flight + 2), the rest wait their turn', async () => {
    const store = await storeProxy(s3.endpoint, () => undefined)
    const bundle = await openS3RandomAccess(url(), {endpoint: store.endpoint, concurrency: 1})
    try {
      // four reads of a range and a half each, two GETs in flight per read: eight GETs wanted at once
      const at = [0, 1, 2, 3].map((i) => i * RANGE_BYTES)
      const got = await Promise.all(
        at.map(async (offset) => {
          const parts: Buffer[] = []
          for await (const chunk of bundle.read(offset, RANGE_BYTES + RANGE_BYTES / 2)) parts.push(Buffer.from(chunk))
          return Buffer.concat(parts)
        }),
      )
      for (const [i, offset] of at.entries()) assert.equal(sha(got[i] as Buffer), sha(object.subarray(offset, offset + RANGE_BYTES + RANGE_BYTES / 2)))
      assert.equal(store.gets, 8)
      // three for the GETs, one for the HEAD (the SDK's own)
      assert.ok(store.connections <= 4, `${store.connections} connections`)
    } finally {
      await bundle.close()
    }
  })

  it('fetches the rest of a range the store cuts short: the bytes arrive whole and in order', async () => {
    const store = await storeProxy(s3.endpoint, (get) => (get === 2 ? 'cut' : undefined))
    assert.equal(sha(await readAll(store.endpoint)), sha(object))
    assert.equal(store.gets, 6, 'one GET more')
    // the second range (bytes 8 MiB to 16 MiB) was cut near its middle: the next GET asks for what follows
    const cut = store.ranges[1] as string
    assert.equal(cut, `bytes=${RANGE_BYTES}-${2 * RANGE_BYTES - 1}`)
    const again = store.ranges.find((r) => r !== cut && r?.endsWith(`-${2 * RANGE_BYTES - 1}`))
    const from = Number(/^bytes=(\d+)-/.exec(again ?? '')?.[1])
    assert.ok(from > RANGE_BYTES && from <= RANGE_BYTES * 1.5, `the retry asked for ${again}`)
  })

  it('refuses a store that answers another range than the one asked for (exit 4), never placing its bytes', async () => {
    const store = await storeProxy(s3.endpoint, (get) => (get === 2 ? 'shifted' : undefined))
    await assert.rejects(readAll(store.endpoint), (e: Error & {code?: string}) => {
      assert.equal(e.code, 'S3_ERROR')
      assert.match(e.message, new RegExp(`answered bytes 0-\\d+/\\d+ when asked for bytes ${RANGE_BYTES}-`))
      return true
    })
  })

  it('sends a GET again on a new connection when a kept-alive one closes unanswered', async () => {
    const store = await storeProxy(s3.endpoint, (get) => (get === 3 ? 'stale' : undefined))
    assert.equal(sha(await readAll(store.endpoint, 1)), sha(object))
    assert.equal(store.gets, 6)
  })

  it('refuses a store that sends more than the range asked for (SIZE_MISMATCH, an integrity failure)', async () => {
    const store = await storeProxy(s3.endpoint, (get) => (get === 1 ? 'long' : undefined))
    await assert.rejects(readAll(store.endpoint), (e: Error & {code?: string}) => {
      assert.equal(e.code, 'SIZE_MISMATCH')
      assert.match(e.message, /more than the \d+ bytes asked for at 0/)
      return true
    })
  })

  it('names the object when the store answers something other than HTTP (exit 4), without retrying it', async () => {
    const store = await storeProxy(s3.endpoint, (get) => (get === 2 ? 'garbage' : undefined))
    await assert.rejects(readAll(store.endpoint), (e: Error & {code?: string; hint?: string}) => {
      assert.equal(e.code, 'S3_ERROR')
      assert.match(e.message, /s3:\/\/airlock-test\/object\.bin at byte \d+ is not valid HTTP: .*SSH-2\.0/)
      assert.match(e.hint ?? '', /--endpoint/)
      return true
    })
    // the two ranges in flight and the one started when the first arrived; a retry would ask again
    assert.ok(store.gets <= 3, `${store.gets} GETs`)
  })

  it('reads answers in chunked encoding (as some S3-compatible stores send them) byte for byte', async () => {
    const store = await storeProxy(s3.endpoint, () => 'chunked')
    assert.equal(sha(await readAll(store.endpoint)), sha(object))
    // a small read through the read-ahead window too
    const bundle = await openS3RandomAccess(url(), {endpoint: store.endpoint, concurrency: 4})
    try {
      assert.deepEqual(await bundle.readBuffer(RANGE_BYTES + 5, 4096), object.subarray(RANGE_BYTES + 5, RANGE_BYTES + 5 + 4096))
    } finally {
      await bundle.close()
    }
  })

  it('an object replaced while it is read fails with PreconditionFailed (exit 4), never bytes of two versions', async () => {
    const store = await storeProxy(s3.endpoint, () => undefined)
    const bundle = await openS3RandomAccess(url(), {endpoint: store.endpoint, concurrency: 4})
    try {
      // the HEAD saw the old object; the store now holds another
      store.etag = '"0123456789abcdef0123456789abcdef"'
      await assert.rejects(
        (async () => {
          for await (const chunk of bundle.read(0, bundle.size)) void chunk
        })(),
        (e: Error & {code?: string; hint?: string}) => {
          assert.equal(e.code, 'S3_ERROR')
          assert.match(e.message, /PreconditionFailed \(HTTP 412\).*s3:\/\/airlock-test\/object\.bin/)
          assert.match(e.hint ?? '', /changed while it was being read/)
          return true
        },
      )
    } finally {
      await bundle.close()
    }
  })

  it('bundle verify reads a bundle through an HTTPS endpoint whose CA the site trusts (NODE_EXTRA_CA_CERTS)', async () => {
    const dir = await makeTempDir()
    const keys = await makeKeys(dir)
    const file = await buildTestBundle(dir, keys, {'big.bin': randomBytes(3 * RANGE_BYTES), 'a.txt': 'alpha\n'})
    const client = new S3Client({endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: {accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER'}})
    await client.send(new PutObjectCommand({Bucket: s3.bucket, Key: 'tls/bundle.tar', Body: await readFile(file)}))
    client.destroy()
    const pki = await makePki()
    const store = await storeProxy(s3.endpoint, () => undefined, {cert: await readFile(pki.serverCert), key: await readFile(pki.serverKey)})
    const env = {...s3.env, NODE_EXTRA_CA_CERTS: pki.caCert}
    const v = await runCli(['bundle', 'verify', `s3://${s3.bucket}/tls/bundle.tar`, '--endpoint', store.endpoint, '--trust', keys.pub, '--json'], {env})
    assert.equal(v.code, 0, v.stderr)
    assert.ok(store.gets >= 3, `${store.gets} GETs`)
    // without the CA the endpoint is not trusted: a remote failure naming the object, not a crash
    const untrusted = await runCli(['bundle', 'verify', `s3://${s3.bucket}/tls/bundle.tar`, '--endpoint', store.endpoint, '--trust', keys.pub, '--json'], {env: s3.env})
    assert.equal(untrusted.code, 4, untrusted.stderr)
    assert.match(untrusted.json.error.message, /tls\/bundle\.tar/)
  })
})
