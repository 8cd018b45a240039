import {strict as assert} from 'node:assert'
import {spawn, spawnSync, execFileSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {existsSync} from 'node:fs'
import {mkdir, readFile, readdir, rm, writeFile} from 'node:fs/promises'
import {createServer, request as httpRequest} from 'node:http'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'
import {crc32} from 'node:zlib'

import {GetObjectCommand, S3Client} from '@aws-sdk/client-s3'

import {readTarEntries, craftTar} from '../support/bundles.js'
import {makeTempDir, runCli} from '../support/cli.js'
import {BIN} from '../support/paths.js'
import {inspectDigest, skopeo} from '../support/registry.js'
import {sha256Of, startS3, type TestS3} from '../support/s3.js'
import {authEnv, getFixture, writeImageSpec, type Fixture} from '../images/fixture.js'

const MiB = 1024 * 1024
const EPOCH = {SOURCE_DATE_EPOCH: '1735689600'}

describe('bundles that never touch local disk: build into S3, read from S3 (s3rver)', function () {
  this.timeout(180_000)
  let s3: TestS3
  let f: Fixture
  let dir: string
  let spec: string
  let local: string
  let env: NodeJS.ProcessEnv
  let s3args: string[]
  const key = 'releases/direct.tar'
  const url = () => `s3://${s3.bucket}/${key}`

  before(async () => {
    ;[s3, f] = await Promise.all([startS3(), getFixture()])
    dir = await makeTempDir()
    env = {...s3.env, ...authEnv(f.authFile), ...EPOCH}
    s3args = ['--endpoint', s3.endpoint]
    // images and a 13 MiB file: three parts of 5 MiB, so the stream is really cut and reassembled
    await mkdir(join(dir, 'src'))
    await writeFile(join(dir, 'src', 'payload.bin'), randomBytes(13 * MiB))
    spec = await writeImageSpec(dir, [`${f.plain.host}/team/app1:1.0`, `${f.plain.host}/team/app2:1.0`], '  files:\n    - {source: ./src/payload.bin, as: payload.bin}\n')
    // the same file name as the key: VERIFY.txt names the bundle file, so only then are the bytes the same
    await mkdir(join(dir, 'local'))
    local = join(dir, 'local', 'direct.tar')
    const built = await runCli(['bundle', 'build', spec, '--key', f.keys.key, '--out', local, '--insecure-registry', f.plain.host, '--json'], {env})
    assert.equal(built.code, 0, built.stderr)
    const up = await runCli(['bundle', 'build', spec, '--key', f.keys.key, '--out', url(), '--insecure-registry', f.plain.host, ...s3args, '--part-size', '5M', '--json'], {env})
    assert.equal(up.code, 0, up.stderr)
  })

  after(async () => {
    await s3?.stop()
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  it('builds into S3 byte-identical to a local build (same SHA-256, same signature), with KEY.sha256 as publish writes it', async () => {
    const digest = await sha256Of(local)
    assert.equal(await sha256Of(await s3.objectFile(key)), digest)
    assert.equal(await readFile(await s3.objectFile(`${key}.sha256`), 'utf8'), `${digest}  direct.tar\n`)
    // nothing of the bundle was written beside the spec or in the working folder
    assert.deepEqual((await readdir(dir)).sort(), ['local', 'src', ...(await readdir(dir)).filter((n) => n.startsWith('spec-'))].sort())
    // bundle fetch accepts KEY.sha256 alone (a streamed upload cannot carry the digest in its metadata)
    const out = join(dir, 'fetched.tar')
    const got = await runCli(['bundle', 'fetch', url(), '--out', out, ...s3args, '--trust', f.keys.pub, '--json'], {env})
    assert.equal(got.code, 0, got.stderr)
    assert.equal(got.json.sha256From, 'checksum-object')
    assert.equal(await sha256Of(out), digest)
    await rm(out)
  })

  it('reports the upload in --json: size, SHA-256, parts', async () => {
    const again = await runCli(['bundle', 'build', spec, '--key', f.keys.key, '--out', `s3://${s3.bucket}/json/direct.tar`, '--insecure-registry', f.plain.host, ...s3args, '--part-size', '5M', '--s3-concurrency', '2', '--json'], {env})
    assert.equal(again.code, 0, again.stderr)
    assert.equal(again.json.s3.sha256, await sha256Of(local))
    assert.equal(again.json.s3.parts, Math.ceil(again.json.s3.size / (5 * MiB)))
    assert.equal(again.json.s3.checksumUrl, `s3://${s3.bucket}/json/direct.tar.sha256`)
  })

  it('sends every part with the CRC32 of its bytes (x-amz-checksum-crc32, what the store checks to refuse a damaged part)', async () => {
    // a recording proxy in front of s3rver (which checks no part checksum itself): what went over the wire
    const seen: {n: number; header: string | undefined; crc: number; bytes: number}[] = []
    let algorithm: string | undefined
    const target = new URL(s3.endpoint)
    const proxy = createServer((req, res) => {
      const url = new URL(req.url ?? '/', s3.endpoint)
      if (req.method === 'POST' && url.searchParams.has('uploads')) algorithm = req.headers['x-amz-checksum-algorithm'] as string | undefined
      const upstream = httpRequest({host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers}, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers)
        up.pipe(res)
      })
      upstream.on('error', () => res.destroy())
      if (req.method === 'PUT' && url.searchParams.has('partNumber')) {
        let crc = 0
        let bytes = 0
        req.on('data', (c: Buffer) => {
          crc = crc32(c, crc)
          bytes += c.length
        })
        req.on('end', () => seen.push({n: Number(url.searchParams.get('partNumber')), header: req.headers['x-amz-checksum-crc32'] as string | undefined, crc, bytes}))
      }
      req.pipe(upstream)
    })
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r))
    try {
      const port = (proxy.address() as AddressInfo).port
      const r = await runCli(['bundle', 'build', spec, '--key', f.keys.key, '--out', `s3://${s3.bucket}/crc/direct.tar`, '--insecure-registry', f.plain.host, '--endpoint', `http://127.0.0.1:${port}`, '--part-size', '5M', '--json'], {env})
      assert.equal(r.code, 0, r.stderr)
      assert.equal(algorithm, 'CRC32')
      assert.equal(seen.length, r.json.s3.parts)
      assert.ok(seen.length >= 3)
      for (const p of seen.sort((a, b) => a.n - b.n)) {
        const be = Buffer.alloc(4)
        be.writeUInt32BE(p.crc >>> 0)
        assert.equal(p.header, be.toString('base64'), `part ${p.n}`)
        assert.equal(p.bytes, p.n < seen.length ? 5 * MiB : r.json.s3.size - (seen.length - 1) * 5 * MiB)
      }
      assert.equal(await sha256Of(await s3.objectFile('crc/direct.tar')), await sha256Of(local))
    } finally {
      proxy.closeAllConnections()
      await new Promise((r) => proxy.close(r))
    }
  })

  it('refuses an object already under the key (exit 2, naming it) unless --force', async () => {
    const r = await runCli(['bundle', 'build', spec, '--key', f.keys.key, '--out', url(), '--insecure-registry', f.plain.host, ...s3args, '--json'], {env})
    assert.equal(r.code, 2, r.stderr)
    assert.equal(r.json.error.code, 'FILE_EXISTS')
    assert.match(r.json.error.message, new RegExp(`s3://${s3.bucket}/${key}`))
    const forced = await runCli(['bundle', 'build', spec, '--key', f.keys.key, '--out', url(), '--insecure-registry', f.plain.host, ...s3args, '--force', '--json'], {env})
    assert.equal(forced.code, 0, forced.stderr)
    assert.equal(await sha256Of(await s3.objectFile(key)), await sha256Of(local))
  })

  it('verifies, inspects, lists and extracts straight from S3, with the same answers as for the file', async () => {
    const v = await runCli(['bundle', 'verify', url(), ...s3args, '--trust', f.keys.pub, '--json'], {env})
    assert.equal(v.code, 0, v.stderr)
    const vl = await runCli(['bundle', 'verify', local, '--trust', f.keys.pub, '--json'], {env})
    assert.equal(v.json.bundle, url())
    assert.deepEqual({...v.json, bundle: undefined}, {...vl.json, bundle: undefined})

    const i = await runCli(['bundle', 'inspect', url(), ...s3args, '--json'], {env})
    assert.equal(i.code, 0, i.stderr)
    assert.deepEqual(i.json.images, (await runCli(['bundle', 'inspect', local, '--json'])).json.images)

    const l = await runCli(['images', 'list', url(), ...s3args, '--json'], {env})
    assert.equal(l.code, 0, l.stderr)
    assert.equal(l.json.bundle, url())
    assert.deepEqual({...l.json, bundle: undefined}, {...(await runCli(['images', 'list', local, '--json'])).json, bundle: undefined})

    const to = join(dir, 'extracted')
    const x = await runCli(['bundle', 'extract', url(), '--to', to, ...s3args, '--trust', f.keys.pub, '--json'], {env})
    assert.equal(x.code, 0, x.stderr)
    assert.equal(await sha256Of(join(to, 'files', 'payload.bin')), await sha256Of(join(dir, 'src', 'payload.bin')))
    await rm(to, {recursive: true})
  })

  it('pushes the images from S3 into a registry, digests kept (read back by skopeo)', async () => {
    const r = await runCli(['images', 'push', url(), ...s3args, '--registry', `${f.plain.host}/from-s3`, '--insecure-registry', f.plain.host, '--trust', f.keys.pub, '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    assert.equal(await inspectDigest(`${f.plain.host}/from-s3/team/app1:1.0`), f.app1.manifest.digest)
    assert.equal(await inspectDigest(`${f.plain.host}/from-s3/team/app2:1.0`), f.app2.manifest.digest)
  })

  it('serves the images from S3 to skopeo', async () => {
    const child = spawn(process.execPath, [BIN, 'images', 'serve', url(), ...s3args, '--trust', f.keys.pub, '--listen', '127.0.0.1:0', '--json'], {env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe']})
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
    try {
      let out = ''
      let err = ''
      child.stderr.on('data', (c: Buffer) => (err += c.toString()))
      const address = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString()
          try {
            resolve(JSON.parse(out).address)
          } catch {
            // not complete yet
          }
        })
        void exited.then((code) => reject(new Error(`images serve exited (${code}):\n${out}\n${err}`)))
      })
      const pulled = join(dir, 'pulled')
      await skopeo(['copy', '--quiet', '--src-tls-verify=false', `docker://${address}/team/app2:1.0`, `oci:${pulled}:app2`])
      const index = JSON.parse(await readFile(join(pulled, 'index.json'), 'utf8'))
      assert.equal(index.manifests[0].digest, f.app2.manifest.digest)
      await rm(pulled, {recursive: true})
    } finally {
      child.kill('SIGTERM')
      await exited
    }
  })

  it('a plain whole-object download (as aws s3 cp does) is accepted by VERIFY.txt run as printed', async () => {
    const site = join(dir, 'site')
    await mkdir(site)
    try {
      const client = new S3Client({endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: {accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER'}})
      const out = await client.send(new GetObjectCommand({Bucket: s3.bucket, Key: key}))
      await writeFile(join(site, 'direct.tar'), Buffer.from(await (out.Body as {transformToByteArray(): Promise<Uint8Array>}).transformToByteArray()))
      client.destroy()
      const script = execFileSync('tar', ['-xOf', join(site, 'direct.tar'), 'imgs-1.0.0/VERIFY.txt'], {encoding: 'utf8'})
      const ok = spawnSync('sh', ['-c', script], {cwd: site, env: {PATH: process.env.PATH ?? '/usr/bin:/bin', TMPDIR: site, TRUST: f.keys.pub}, encoding: 'utf8'})
      assert.equal(ok.status, 0, ok.stderr + ok.stdout)
      assert.match(ok.stdout, /Verified OK/)
    } finally {
      await rm(site, {recursive: true, force: true})
    }
  })

  it('refuses a tampered object with exit 3 naming the entry, and a missing one with exit 4 naming s3://B/K', async () => {
    const tampered = 'tampered/direct.tar'
    const entries = await readTarEntries(local)
    const changed = entries.map((e) => {
      if (!e.path.endsWith('payload.bin')) return e
      const body = Buffer.from(e.body as Buffer)
      body[1000] = (body[1000] as number) ^ 1 // one byte, in the middle of the 13 MiB file
      return {...e, body}
    })
    const file = join(dir, 'tampered.tar')
    await writeFile(file, craftTar(changed))
    const put = await runCli(['bundle', 'publish', file, `s3://${s3.bucket}/${tampered}`, ...s3args, '--json'], {env})
    assert.equal(put.code, 0, put.stderr)
    await rm(file)
    const v = await runCli(['bundle', 'verify', `s3://${s3.bucket}/${tampered}`, ...s3args, '--trust', f.keys.pub, '--json'], {env})
    assert.equal(v.code, 3, v.stderr)
    assert.equal(v.json.error.code, 'DIGEST_MISMATCH')
    assert.match(v.json.error.message, /files\/payload\.bin/)

    const missing = await runCli(['bundle', 'verify', `s3://${s3.bucket}/no/such.tar`, ...s3args, '--trust', f.keys.pub, '--json'], {env})
    assert.equal(missing.code, 4, missing.stderr)
    assert.equal(missing.json.error.code, 'S3_ERROR')
    assert.match(missing.json.error.message, new RegExp(`s3://${s3.bucket}/no/such\\.tar`))
  })

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`a build interrupted by ${signal} mid-upload leaves no object under the key`, async () => {
      const partial = `interrupted-${signal}/direct.tar`
      const uploads = join(s3.directory, s3.bucket, '._S3rver_uploads')
      const before = existsSync(uploads) ? (await readdir(uploads)).length : 0
      const child = spawn(process.execPath, [BIN, 'bundle', 'build', spec, '--key', f.keys.key, '--out', `s3://${s3.bucket}/${partial}`, '--insecure-registry', f.plain.host, ...s3args, '--part-size', '5M', '--s3-concurrency', '1'], {
        env: {...process.env, ...env},
        stdio: 'ignore',
      })
      const exited = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((r) => child.once('exit', (code, sig) => r({code, signal: sig})))
      let finished = false
      void exited.then(() => (finished = true))
      // wait until the first part has landed in the store, then interrupt
      const landed = async () => existsSync(uploads) && (await Promise.all((await readdir(uploads)).map((u) => readdir(join(uploads, u)).catch((): string[] => [])))).some((files) => files.includes('1') && files.length > 0) && (await readdir(uploads)).length > before
      while (!finished && !(await landed())) await new Promise((r) => setTimeout(r, 10))
      assert.equal(finished, false, 'the build finished before it could be interrupted')
      child.kill(signal)
      const end = await exited
      assert.equal(end.signal, signal, `the build ends by the signal (exit ${end.code})`)
      await assert.rejects(s3.objectFile(partial).then((p) => readFile(p)), 'no object under the key')
      await assert.rejects(s3.objectFile(`${partial}.sha256`).then((p) => readFile(p)), 'no KEY.sha256')
    })
  }

  it('--resume: an interrupted build keeps its upload and record; the same build with --resume sends only the missing parts and gives the bytes of an uninterrupted build', async () => {
    const target = 'resumed/direct.tar'
    const record = `${spec}.s3-upload.json`
    // no SOURCE_DATE_EPOCH: the rerun must take the interrupted build's clock from the record
    const noEpoch = {...process.env, ...env, SOURCE_DATE_EPOCH: ''}
    const args = ['bundle', 'build', spec, '--key', f.keys.key, '--out', `s3://${s3.bucket}/${target}`, '--insecure-registry', f.plain.host, ...s3args, '--part-size', '5M', '--s3-concurrency', '1', '--resume']
    const rebuilt = join(dir, 'local', 'resumed', 'direct.tar')
    try {
      const child = spawn(process.execPath, [BIN, ...args], {env: noEpoch, stdio: ['ignore', 'ignore', 'pipe']})
      let err = ''
      child.stderr.on('data', (c: Buffer) => (err += c.toString()))
      const exited = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((r) => child.once('exit', (code, sig) => r({code, signal: sig})))
      let finished = false
      void exited.then(() => (finished = true))
      const parts = async () => Object.keys((JSON.parse(await readFile(record, 'utf8').catch(() => '{}')) as {parts?: object}).parts ?? {}).length
      while (!finished && (await parts()) < 1) await new Promise((r) => setTimeout(r, 10))
      assert.equal(finished, false, `the build finished before it could be interrupted: ${err}`)
      child.kill('SIGINT')
      const end = await exited
      assert.equal(end.signal, 'SIGINT', err)
      assert.match(err, /--resume/)
      await assert.rejects(s3.objectFile(target).then((p) => readFile(p)), 'no object under the key')
      const kept = JSON.parse(await readFile(record, 'utf8')) as {created: string; parts: Record<string, unknown>}
      assert.ok(Object.keys(kept.parts).length >= 1)

      const again = await runCli([...args, '--json'], {env: noEpoch})
      assert.equal(again.code, 0, again.stderr)
      assert.ok(again.json.s3.partsResumed >= 1, JSON.stringify(again.json.s3))
      assert.ok(again.json.s3.partsResumed < again.json.s3.parts)
      assert.equal(again.json.created, kept.created)
      assert.equal(existsSync(record), false, 'the record is removed once the object is complete')
      // the object is exactly what one uninterrupted build with that clock writes
      const epoch = String(Date.parse(kept.created) / 1000)
      const local2 = await runCli(['bundle', 'build', spec, '--key', f.keys.key, '--out', rebuilt, '--insecure-registry', f.plain.host, '--json'], {env: {...env, SOURCE_DATE_EPOCH: epoch}})
      assert.equal(local2.code, 0, local2.stderr)
      const digest = await sha256Of(rebuilt)
      assert.equal(await sha256Of(await s3.objectFile(target)), digest)
      assert.equal(again.json.s3.sha256, digest)
    } finally {
      await rm(record, {force: true})
      await rm(join(dir, 'local', 'resumed'), {recursive: true, force: true})
    }
  })

  it('--resume starts a new upload, saying why, when the bundle differs from the interrupted build; --resume with a file --out is refused', async () => {
    const target = 'resumed-changed/direct.tar'
    const record = `${spec}.s3-upload.json`
    try {
      // a record of an upload whose bytes were another bundle's (another identity)
      const start = await runCli(['bundle', 'build', spec, '--key', f.keys.key, '--out', `s3://${s3.bucket}/${target}`, '--insecure-registry', f.plain.host, ...s3args, '--part-size', '5M', '--resume', '--json'], {env})
      assert.equal(start.code, 0, start.stderr)
      assert.equal(start.json.s3.partsResumed, 0)
      await writeFile(record, JSON.stringify({version: 1, url: `s3://${s3.bucket}/${target}`, endpoint: s3.endpoint, uploadId: 'f'.repeat(32), partSize: 5 * MiB, created: '2025-01-01T00:00:00.000Z', identity: '0'.repeat(64), parts: {'1': {etag: '"x"', size: 5 * MiB, crc32: 'AAAAAA=='}}}))
      const r = await runCli(['bundle', 'build', spec, '--key', f.keys.key, '--out', `s3://${s3.bucket}/${target}`, '--insecure-registry', f.plain.host, ...s3args, '--part-size', '5M', '--resume', '--force', '--json'], {env})
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.json.s3.partsResumed, 0)
      assert.ok(r.json.notes.some((n: string) => /bundle differs/.test(n) && /new upload/.test(n)), JSON.stringify(r.json.notes))
      assert.equal(await sha256Of(await s3.objectFile(target)), await sha256Of(local))
      assert.equal(existsSync(record), false)

      const file = await runCli(['bundle', 'build', spec, '--key', f.keys.key, '--out', join(dir, 'no.tar'), '--resume', '--json'], {env})
      assert.equal(file.code, 2)
      assert.equal(file.json.error.code, 'USAGE')
      assert.match(file.json.error.message, /--resume/)
    } finally {
      await rm(record, {force: true})
    }
  })

  it('--resume: a build whose source changes mid-upload keeps its upload (exit 3, saying how to resume); the rebuild with --resume sees a different bundle and starts a new upload', async () => {
    const big = join(dir, 'src', 'late-resume.bin')
    await writeFile(big, randomBytes(12 * MiB))
    const changing = join(dir, 'changing.yaml')
    const record = `${changing}.s3-upload.json`
    await writeFile(changing, 'apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: t, version: 1.0.0}\nspec:\n  files:\n    - {source: ./src/payload.bin, as: payload.bin}\n    - {source: ./src/late-resume.bin, as: late.bin}\n')
    const args = ['bundle', 'build', changing, '--key', f.keys.key, '--out', `s3://${s3.bucket}/changing/direct.tar`, ...s3args, '--part-size', '5M', '--s3-concurrency', '1', '--resume', '--json']
    try {
      const child = spawn(process.execPath, [BIN, ...args], {env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe']})
      let out = ''
      let err = ''
      child.stdout.on('data', (c: Buffer) => (out += c.toString()))
      child.stderr.on('data', (c: Buffer) => (err += c.toString()))
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
      let finished = false
      void exited.then(() => (finished = true))
      while (!finished && !existsSync(record)) await new Promise((r) => setTimeout(r, 5))
      await writeFile(big, randomBytes(12 * MiB))
      const code = await exited
      assert.equal(code, 3, out + err)
      assert.equal(JSON.parse(out).error.code, 'DIGEST_MISMATCH')
      assert.match(err, /kept.*--resume/)
      assert.ok(existsSync(record), 'the record of the kept upload stays')
      await assert.rejects(s3.objectFile('changing/direct.tar').then((p) => readFile(p)), 'no object under the key')

      const again = await runCli(args, {env})
      assert.equal(again.code, 0, again.stderr)
      assert.equal(again.json.s3.partsResumed, 0)
      assert.ok(again.json.notes.some((n: string) => /bundle differs/.test(n)), JSON.stringify(again.json.notes))
      assert.equal(existsSync(record), false)
    } finally {
      await rm(record, {force: true})
      await rm(changing, {force: true})
      await rm(big, {force: true})
    }
  })

  it('a build whose source fails mid-upload leaves no object under the key', async () => {
    // the file changes between planning and writing: the writer's re-hash catches it after parts were sent
    const big = join(dir, 'src', 'late.bin')
    await writeFile(big, randomBytes(12 * MiB))
    const failing = join(dir, 'failing.yaml')
    await writeFile(failing, 'apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: t, version: 1.0.0}\nspec:\n  files:\n    - {source: ./src/payload.bin, as: payload.bin}\n    - {source: ./src/late.bin, as: late.bin}\n')
    const target = 'failing/direct.tar'
    const uploads = join(s3.directory, s3.bucket, '._S3rver_uploads')
    const child = spawn(process.execPath, [BIN, 'bundle', 'build', failing, '--key', f.keys.key, '--out', `s3://${s3.bucket}/${target}`, ...s3args, '--part-size', '5M', '--s3-concurrency', '1', '--json'], {env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
    const known = existsSync(uploads) ? new Set(await readdir(uploads)) : new Set<string>()
    let finished = false
    void exited.then(() => (finished = true))
    while (!finished && !(existsSync(uploads) && (await readdir(uploads)).some((u) => !known.has(u)))) await new Promise((r) => setTimeout(r, 5))
    await writeFile(big, randomBytes(12 * MiB))
    const code = await exited
    await rm(failing)
    assert.equal(code, 3, out)
    assert.equal(JSON.parse(out).error.code, 'DIGEST_MISMATCH')
    await assert.rejects(s3.objectFile(target).then((p) => readFile(p)), 'no object under the key')
  })
})
