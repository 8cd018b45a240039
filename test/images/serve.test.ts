import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import {createHash} from 'node:crypto'
import {copyFile, mkdir, open, readFile, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {gzipSync} from 'node:zlib'

import {runCli} from '../support/cli.js'
import {BIN} from '../support/paths.js'
import {inspectDigest, makePki, skopeo, skopeoCertDir} from '../support/registry.js'
import {locateEntries} from '../../src/images/bundle-read.js'
import {authEnv, getFixture, writeImageSpec, type Fixture} from './fixture.js'

interface Served {
  child: ChildProcess
  json: any // eslint-disable-line @typescript-eslint/no-explicit-any
  stderr: () => string
  /** sends the signal and resolves with the exit code */
  stop: (signal?: NodeJS.Signals) => Promise<number | null>
}

const running = new Set<ChildProcess>()
after(() => {
  for (const c of running) c.kill('SIGKILL')
})

/** Starts `images serve ... --json` and waits for the JSON it prints once it listens. */
function serve(args: string[]): Promise<Served> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'images', 'serve', ...args, '--listen', '127.0.0.1:0', '--json'], {stdio: ['ignore', 'pipe', 'pipe']})
    running.add(child)
    let out = ''
    let err = ''
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => {
      running.delete(child)
      r(code)
    }))
    child.stderr.on('data', (c: Buffer) => (err += c.toString()))
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString()
      try {
        const json = JSON.parse(out)
        resolve({child, json, stderr: () => err, stop: (signal = 'SIGTERM') => (child.kill(signal), exited)})
      } catch {
        // not complete yet
      }
    })
    void exited.then((code) => reject(new Error(`images serve exited (${code}) before listening:\n${out}\n${err}`)))
  })
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`

describe('images serve', function () {
  this.timeout(180_000)
  let f: Fixture
  let bundle: string
  let dir: string

  before(async () => {
    f = await getFixture()
    dir = join(f.dir, 'serve')
    await mkdir(dir, {recursive: true})
    const spec = await writeImageSpec(dir, [`${f.plain.host}/team/app1:1.0`, `${f.plain.host}/team/app2:1.0`, `{ref: "${f.plain.host}/team/tool:2.0", platforms: [all]}`, `{ref: "${f.plain.host}/team/tool@${f.indexDigest}", platforms: [linux/arm64]}`])
    bundle = join(dir, 'serve.tar')
    const r = await runCli(['bundle', 'build', spec, '--key', f.keys.key, '--out', bundle, '--insecure-registry', f.plain.host, '--json'], {env: authEnv(f.authFile)})
    assert.equal(r.code, 0, r.stderr + r.stdout)
  })

  it('serves every image to skopeo by tag and by digest, with the bundled digests; stops cleanly on SIGTERM', async () => {
    const s = await serve([bundle, '--trust', f.keys.pub])
    const {address} = s.json
    assert.equal(s.json.verified, true)
    assert.deepEqual(
      s.json.images.map((i: {repository: string; tag?: string}) => `${i.repository}:${i.tag ?? ''}`),
      ['team/app1:1.0', 'team/app2:1.0', 'team/tool:2.0', 'team/tool:'],
    )
    assert.equal(await inspectDigest(`${address}/team/app1:1.0`), f.app1.manifest.digest)
    assert.equal(await inspectDigest(`${address}/team/app2:1.0`), f.app2.manifest.digest)
    assert.equal(await inspectDigest(`${address}/team/tool:2.0`), f.indexDigest)
    const narrowed = s.json.images[3].digest
    assert.equal(await inspectDigest(`${address}/team/tool@${narrowed}`), narrowed)
    // full pulls, every blob checked by skopeo against its digest
    const pulled = join(dir, 'pulled')
    for (const [ref, tag] of [['team/app1:1.0', 'app1'], ['team/app2:1.0', 'app2'], ['team/tool:2.0', 'tool'], [`team/tool@${narrowed}`, 'arm']] as const) {
      await skopeo(['copy', '--all', '--quiet', '--src-tls-verify=false', `docker://${address}/${ref}`, `oci:${pulled}:${tag}`])
    }
    const index = JSON.parse(await readFile(join(pulled, 'index.json'), 'utf8'))
    assert.deepEqual(index.manifests.map((m: {digest: string}) => m.digest), [f.app1.manifest.digest, f.app2.manifest.digest, f.indexDigest, narrowed])
    for (const l of [...f.app1.layers, ...f.arm64.layers, ...f.amd64.layers]) {
      assert.equal(sha256(await readFile(join(pulled, 'blobs', 'sha256', l.digest.slice(7)))), l.digest)
    }
    assert.equal(await s.stop('SIGTERM'), 0)
  })

  it('answers the distribution API: headers, ranges, catalog, tags, OCI errors, 405 for writes', async () => {
    const s = await serve([bundle, '--trust', f.keys.pub])
    const base = `http://${s.json.address}`
    try {
      const v2 = await fetch(`${base}/v2/`)
      assert.equal(v2.status, 200)
      assert.equal(v2.headers.get('docker-distribution-api-version'), 'registry/2.0')

      const head = await fetch(`${base}/v2/team/tool/manifests/2.0`, {method: 'HEAD'})
      assert.equal(head.status, 200)
      assert.equal(head.headers.get('content-type'), 'application/vnd.oci.image.index.v1+json')
      assert.equal(head.headers.get('docker-content-digest'), f.indexDigest)
      const child = await fetch(`${base}/v2/team/tool/manifests/${f.arm64.manifest.digest}`)
      assert.equal(child.headers.get('content-type'), 'application/vnd.oci.image.manifest.v1+json')
      assert.equal(sha256(Buffer.from(await child.arrayBuffer())), f.arm64.manifest.digest)

      const layer = f.app1.layers[0]!
      const blobHead = await fetch(`${base}/v2/team/app1/blobs/${layer.digest}`, {method: 'HEAD'})
      assert.equal(blobHead.status, 200)
      assert.equal(Number(blobHead.headers.get('content-length')), layer.size)
      const ranged = await fetch(`${base}/v2/team/app1/blobs/${layer.digest}`, {headers: {range: 'bytes=1000-1999'}})
      assert.equal(ranged.status, 206)
      assert.equal(ranged.headers.get('content-range'), `bytes 1000-1999/${layer.size}`)
      assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), layer.data.subarray(1000, 2000))
      const tail = await fetch(`${base}/v2/team/app1/blobs/${layer.digest}`, {headers: {range: 'bytes=-10'}})
      assert.deepEqual(Buffer.from(await tail.arrayBuffer()), layer.data.subarray(layer.size - 10))
      const beyond = await fetch(`${base}/v2/team/app1/blobs/${layer.digest}`, {headers: {range: `bytes=${layer.size}-`}})
      assert.equal(beyond.status, 416)

      assert.deepEqual(await (await fetch(`${base}/v2/_catalog`)).json(), {repositories: ['team/app1', 'team/app2', 'team/tool']})
      const page = await fetch(`${base}/v2/_catalog?n=1&last=team/app1`)
      assert.deepEqual(await page.json(), {repositories: ['team/app2']})
      assert.match(page.headers.get('link') ?? '', /last=team%2Fapp2.*rel="next"/)
      assert.deepEqual(await (await fetch(`${base}/v2/team/tool/tags/list`)).json(), {name: 'team/tool', tags: ['2.0']})
      // n=0 is an empty page without a Link; following every Link ends, and the pages add up to the whole list
      const zero = await fetch(`${base}/v2/team/tool/tags/list?n=0`)
      assert.deepEqual(await zero.json(), {name: 'team/tool', tags: []})
      assert.equal(zero.headers.get('link'), null)
      for (const n of [1, 2, 3, 10]) {
        const seen: string[] = []
        let next: string | undefined = `/v2/_catalog?n=${n}`
        for (let hops = 0; next; hops++) {
          assert.ok(hops < 10, `n=${n}: the Link chain does not end`)
          const r: Response = await fetch(`${base}${next}`)
          seen.push(...((await r.json()) as {repositories: string[]}).repositories)
          next = /<([^>]+)>; rel="next"/.exec(r.headers.get('link') ?? '')?.[1]
        }
        assert.deepEqual(seen, ['team/app1', 'team/app2', 'team/tool'], `n=${n}`)
      }
      assert.equal((await fetch(`${base}/v2/_catalog?n=-1`)).status, 400)
      assert.equal((await fetch(`${base}/v2/_catalog?n=abc`)).status, 400)

      const errorCode = async (url: string, init?: RequestInit) => {
        const r = await fetch(`${base}${url}`, init)
        return [r.status, ((await r.json()) as {errors: {code: string}[]}).errors[0]?.code]
      }
      assert.deepEqual(await errorCode('/v2/team/app1/manifests/9.9'), [404, 'MANIFEST_UNKNOWN'])
      assert.deepEqual(await errorCode('/v2/nope/manifests/1.0'), [404, 'NAME_UNKNOWN'])
      // a blob of another repository is not served under this one
      assert.deepEqual(await errorCode(`/v2/team/app1/blobs/${f.app2.layers[2]!.digest}`), [404, 'BLOB_UNKNOWN'])
      assert.deepEqual(await errorCode('/v2/team/app1/blobs/sha256:xyz'), [400, 'DIGEST_INVALID'])
      assert.deepEqual(await errorCode('/v2/team/app1/manifests/1.0', {method: 'PUT', body: '{}'}), [405, 'UNSUPPORTED'])
      assert.deepEqual(await errorCode('/v2/team/app1/blobs/uploads/', {method: 'POST'}), [405, 'UNSUPPORTED'])
      assert.deepEqual(await errorCode(`/v2/team/app1/blobs/${layer.digest}`, {method: 'DELETE'}), [405, 'UNSUPPORTED'])
    } finally {
      assert.equal(await s.stop('SIGINT'), 0)
    }
  })

  it('serves over TLS with a certificate from a CA made here; logs requests only with --verbose', async () => {
    const pki = await makePki()
    const certDir = await skopeoCertDir(pki)
    const s = await serve([bundle, '--trust', f.keys.pub, '--tls-cert', pki.serverCert, '--tls-key', pki.serverKey, '--verbose'])
    assert.equal(s.json.tls, true)
    assert.match(s.json.url, /^https:\/\//)
    await skopeo(['copy', '--quiet', '--src-cert-dir', certDir, `docker://${s.json.address}/team/app2:1.0`, `oci:${join(dir, 'tls')}:app2`])
    const index = JSON.parse(await readFile(join(dir, 'tls', 'index.json'), 'utf8'))
    assert.equal(index.manifests[0].digest, f.app2.manifest.digest)
    assert.equal(await s.stop(), 0)
    // --json keeps stderr quiet even with --verbose; without --json each request is logged
    assert.doesNotMatch(s.stderr(), /GET \/v2\//)
    const noisy = spawn(process.execPath, [BIN, 'images', 'serve', bundle, '--no-verify', '--listen', '127.0.0.1:0', '--verbose'], {stdio: ['ignore', 'pipe', 'pipe']})
    running.add(noisy)
    let out = ''
    let err = ''
    noisy.stderr.on('data', (c: Buffer) => (err += c.toString()))
    const address = await new Promise<string>((resolve) => noisy.stdout.on('data', (c: Buffer) => {
      out += c.toString()
      const m = /registry +http:\/\/(127\.0\.0\.1:\d+)/.exec(out)
      if (m) resolve(m[1] as string)
    }))
    assert.deepEqual(await (await fetch(`http://${address}/v2/team/app1/tags/list`)).json(), {name: 'team/app1', tags: ['1.0']})
    const gone = new Promise((r) => noisy.once('exit', r))
    noisy.kill('SIGINT')
    assert.equal(await gone, 0)
    running.delete(noisy)
    assert.match(err, /GET \/v2\/team\/app1\/tags\/list 200/, out)
  })

  it('serves a bundle split into parts from its split index', async () => {
    const partsDir = join(dir, 'parts')
    await mkdir(partsDir)
    const copy = join(partsDir, 'serve.tar')
    await copyFile(bundle, copy)
    const split = await runCli(['bundle', 'split', copy, '--size', '200K', '--json'])
    assert.equal(split.code, 0, split.stderr + split.stdout)
    assert.ok(split.json.parts.length >= 3)
    const s = await serve([split.json.index, '--trust', f.keys.pub])
    try {
      await skopeo(['copy', '--all', '--quiet', '--src-tls-verify=false', `docker://${s.json.address}/team/tool:2.0`, `oci:${join(dir, 'from-parts')}:tool`])
      assert.equal(await inspectDigest(`${s.json.address}/team/app1:1.0`), f.app1.manifest.digest)
    } finally {
      assert.equal(await s.stop(), 0)
    }
  })

  it('refuses an untrusted signer (exit 3) and a tampered bundle (exit 3) before listening', async () => {
    const other = await runCli(['images', 'serve', bundle, '--trust-fingerprint', `sha256:${'0'.repeat(64)}`, '--listen', '127.0.0.1:0', '--json'])
    assert.equal(other.code, 3, other.stderr + other.stdout)
    assert.equal(other.json.error.code, 'SIGNER_UNTRUSTED')
    const tampered = await damagedCopy('tampered.tar')
    const r = await runCli(['images', 'serve', tampered.file, '--trust', f.keys.pub, '--listen', '127.0.0.1:0', '--json'])
    assert.equal(r.code, 3, r.stderr + r.stdout)
    assert.equal(r.json.error.code, 'DIGEST_MISMATCH')
    assert.match(r.json.error.subject, new RegExp(tampered.digest.slice(7)))
  })

  it('with --no-verify, never hands out a damaged blob: the transfer is cut short', async () => {
    const tampered = await damagedCopy('no-verify.tar')
    const s = await serve([tampered.file, '--no-verify'])
    try {
      assert.equal(s.json.verified, false)
      await assert.rejects(fetch(`http://${s.json.address}/v2/team/app1/blobs/${tampered.digest}`).then((r) => r.arrayBuffer()))
      await assert.rejects(skopeo(['copy', '--quiet', '--src-tls-verify=false', `docker://${s.json.address}/team/app1:1.0`, `oci:${join(dir, 'bad')}:app1`]))
    } finally {
      assert.equal(await s.stop(), 0)
    }
  })

  it('cuts a blob short once the bundle file changes on disk while served: verified, --no-verify, and split into parts', async () => {
    const changing = join(dir, 'changing')
    await mkdir(changing)
    const whole = join(changing, 'verified.tar')
    const loose = join(changing, 'no-verify.tar')
    await copyFile(bundle, whole)
    await copyFile(bundle, loose)
    await copyFile(bundle, join(changing, 'parts.tar'))
    const split = await runCli(['bundle', 'split', join(changing, 'parts.tar'), '--size', '200K', '--json'])
    assert.equal(split.code, 0, split.stderr + split.stdout)
    // a file changed in the last two seconds is hashed as it is sent; older ones are pinned instead
    const newest = Math.max(...(await Promise.all([whole, ...split.json.parts.map((p: {path: string}) => p.path)].map(async (x) => (await stat(x)).ctimeMs))))
    await new Promise((r) => setTimeout(r, Math.max(0, newest + 2100 - Date.now())))
    const digest = f.app1.layers[0]!.digest
    const at = (await locateEntries(bundle)).get(`images/blobs/sha256/${digest.slice(7)}`)!
    const cases: Array<{args: string[]; files: Array<{path: string; size: number}>; rehash: boolean}> = [
      {args: [whole, '--trust', f.keys.pub], files: [{path: whole, size: at.offset + at.size}], rehash: false},
      {args: [loose, '--no-verify'], files: [{path: loose, size: at.offset + at.size}], rehash: true},
      {args: [split.json.index, '--trust', f.keys.pub], files: split.json.parts, rehash: false},
    ]
    for (const c of cases) {
      const s = await serve(c.args)
      try {
        assert.equal(s.json.rehash, c.rehash, c.args.join(' '))
        const url = `http://${s.json.address}/v2/team/app1/blobs/${digest}`
        assert.equal(sha256(Buffer.from(await (await fetch(url)).arrayBuffer())), digest, c.args.join(' '))
        await flipByte(c.files, at.offset + 100)
        await assert.rejects(fetch(url).then((r) => r.arrayBuffer()), c.args.join(' '))
        await assert.rejects(skopeo(['copy', '--quiet', '--src-tls-verify=false', `docker://${s.json.address}/team/app1:1.0`, `oci:${join(changing, 'pulled')}:app1`]), c.args.join(' '))
      } finally {
        assert.equal(await s.stop(), 0)
      }
    }
  })

  it('serves a differential bundle: manifests and configs, and 404 for the layers it leaves out', async () => {
    const spec = await writeImageSpec(dir, [`${f.plain.host}/team/app2:1.0`])
    const diff = join(dir, 'diff.tar')
    const built = await runCli(['bundle', 'build', spec, '--key', f.keys.key, '--out', diff, '--insecure-registry', f.plain.host, '--since', bundle, '--json'], {env: authEnv(f.authFile)})
    assert.equal(built.code, 0, built.stderr + built.stdout)
    const s = await serve([diff, '--trust', f.keys.pub])
    try {
      const base = `http://${s.json.address}/v2/team/app2`
      assert.equal((await fetch(`${base}/manifests/1.0`)).headers.get('docker-content-digest'), f.app2.manifest.digest)
      assert.equal((await fetch(`${base}/blobs/${f.app2.config.digest}`, {method: 'HEAD'})).status, 200)
      const layer = await fetch(`${base}/blobs/${f.app2.layers[0]!.digest}`)
      assert.equal(layer.status, 404)
      assert.equal(((await layer.json()) as {errors: {code: string}[]}).errors[0]?.code, 'BLOB_UNKNOWN')
    } finally {
      assert.equal(await s.stop(), 0)
    }
  })

  it('refuses a certificate with the wrong key, and a gzip bundle (exit 2)', async () => {
    const pki = await makePki()
    const r = await runCli(['images', 'serve', bundle, '--no-verify', '--listen', '127.0.0.1:0', '--tls-cert', pki.serverCert, '--tls-key', join(pki.dir, 'ca.key'), '--json'])
    assert.equal(r.code, 2, r.stderr + r.stdout)
    assert.equal(r.json.error.subject, '--tls-key')
    const gz = join(dir, 'serve.tar.gz')
    await writeFile(gz, gzipSync(await readFile(bundle), {level: 1}))
    const g = await runCli(['images', 'serve', gz, '--no-verify', '--listen', '127.0.0.1:0', '--json'])
    assert.equal(g.code, 2, g.stderr + g.stdout)
    assert.equal(g.json.error.code, 'INPUT_INVALID')
  })

  it('refuses a malformed --listen and a port in use (exit 2)', async () => {
    const bad = await runCli(['images', 'serve', bundle, '--no-verify', '--listen', 'nowhere', '--json'])
    assert.equal(bad.code, 2)
    assert.equal(bad.json.error.subject, '--listen')
    const s = await serve([bundle, '--no-verify'])
    try {
      const taken = await runCli(['images', 'serve', bundle, '--no-verify', '--listen', s.json.address, '--json'])
      assert.equal(taken.code, 2, taken.stderr + taken.stdout)
      assert.equal(taken.json.error.subject, '--listen')
    } finally {
      await s.stop()
    }
  })

  /** A copy of the bundle with one byte of app1's first layer flipped in place. */
  async function damagedCopy(name: string): Promise<{file: string; digest: string}> {
    const file = join(dir, name)
    await copyFile(bundle, file)
    const digest = f.app1.layers[0]!.digest
    const at = (await locateEntries(file)).get(`images/blobs/sha256/${digest.slice(7)}`)!
    await flipByte([{path: file, size: at.offset + at.size}], at.offset + 100)
    return {file, digest}
  }

  /** Flips, in place, the byte at `offset` of the files joined in order (a bundle or its parts). */
  async function flipByte(files: Array<{path: string; size: number}>, offset: number): Promise<void> {
    let start = 0
    const file = files.find((x) => offset < (start += x.size)) as {path: string; size: number}
    const at = offset - (start - file.size)
    const handle = await open(file.path, 'r+')
    try {
      const b = Buffer.alloc(1)
      await handle.read(b, 0, 1, at)
      b[0] = (b[0] as number) ^ 0xff
      await handle.write(b, 0, 1, at)
    } finally {
      await handle.close()
    }
  }
})
