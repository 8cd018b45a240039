/*
 * What real registries do that the spec's happy path does not: each test bends one answer of a small
 * local registry (quirk-registry.ts) the way Docker Hub, ECR, Quay, Harbor, ACR or a proxy in front of
 * one does, and runs the CLI (or the client) as a user would.
 */
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {execFile, spawn} from 'node:child_process'
import {chmod, mkdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {RegistryClient} from '../../src/registry/client.js'
import {proxyAuthorization, proxyFor} from '../../src/registry/proxy.js'
import {Transport} from '../../src/registry/transport.js'
import {makeKeys} from '../support/bundles.js'
import {BIN} from '../support/paths.js'
import {registerCleanup} from '../support/cleanup.js'
import {startProxy} from '../support/proxy.js'
import {makeTempDir, runCli} from '../support/cli.js'
import {makeImage, makeLayer, makePki, type TestBlob, type TestImage} from '../support/registry.js'
import {authEnv, writeImageSpec} from '../images/fixture.js'
import {startQuirkRegistry, type QuirkOptions, type QuirkRegistry} from './quirk-registry.js'

const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`

const base = makeLayer('interop-base', 30_000)
const app = makeImage([base, makeLayer('interop-app', 25_000)], {os: 'linux', architecture: 'amd64'}, 'interop')
const arm = makeImage([makeLayer('interop-arm', 20_000)], {os: 'linux', architecture: 'arm64', variant: 'v8'}, 'interop')

function seedImage(r: QuirkRegistry, repo: string, tag: string | undefined, img: TestImage): void {
  r.putBlob(repo, img.config.data)
  for (const l of img.layers) r.putBlob(repo, l.data)
  r.putManifest(repo, tag, img.manifest.data, img.manifest.mediaType)
}

/** BuildKit's shape: an index of platform images, each followed by an attestation manifest (unknown/unknown). */
function buildkitIndex(r: QuirkRegistry, repo: string, tag: string, images: TestImage[]): string {
  const manifests: object[] = []
  for (const img of images) {
    seedImage(r, repo, undefined, img)
    manifests.push({mediaType: img.manifest.mediaType, digest: img.manifest.digest, size: img.manifest.size, platform: img.platform})
  }
  for (const img of images) {
    const statement = Buffer.from(JSON.stringify({_type: 'https://in-toto.io/Statement/v0.1', subject: [{digest: {sha256: img.manifest.digest.slice(7)}}]}))
    const config = Buffer.from('{}')
    r.putBlob(repo, statement)
    r.putBlob(repo, config)
    const att = Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: {mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length}, layers: [{mediaType: 'application/vnd.in-toto+json', digest: sha256(statement), size: statement.length}]}))
    const digest = r.putManifest(repo, undefined, att, 'application/vnd.oci.image.manifest.v1+json')
    manifests.push({mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: att.length, platform: {os: 'unknown', architecture: 'unknown'}, annotations: {'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': img.manifest.digest}})
  }
  const index = Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests}))
  return r.putManifest(repo, tag, index, 'application/vnd.oci.image.index.v1+json')
}

async function registry(options: QuirkOptions = {}): Promise<QuirkRegistry> {
  const r = await startQuirkRegistry(options)
  seedImage(r, 'team/app', '1.0', app)
  return r
}

/** `bundle build` of `refs` from `host` (plain HTTP; undefined for https) with no credentials but those `env` points at. */
async function build(host: string | undefined, refs: string[], env: NodeJS.ProcessEnv = {}, extra: string[] = []) {
  const dir = await makeTempDir('interop')
  const keys = await makeKeys(dir)
  const spec = await writeImageSpec(dir, refs)
  const out = join(dir, 'b.tar')
  const r = await runCli(['bundle', 'build', spec, '--key', keys.key, '--out', out, ...(host ? ['--insecure-registry', host] : []), '--json', ...extra], {env: {...authEnv(join(dir, 'no-auth.json')), ...env}})
  return {r, out, dir, keys}
}

/** A docker config folder holding `config`, and a bin folder with credential helper scripts. */
async function dockerConfig(dir: string, config: object, helpers: Record<string, string> = {}): Promise<NodeJS.ProcessEnv> {
  const conf = join(dir, 'docker')
  const bin = join(dir, 'bin')
  await mkdir(conf, {recursive: true})
  await mkdir(bin, {recursive: true})
  await writeFile(join(conf, 'config.json'), JSON.stringify(config))
  for (const [name, script] of Object.entries(helpers)) {
    await writeFile(join(bin, `docker-credential-${name}`), `#!/bin/sh\n${script}\n`)
    await chmod(join(bin, `docker-credential-${name}`), 0o755)
  }
  return {DOCKER_CONFIG: conf, PATH: `${bin}:${process.env.PATH ?? ''}`}
}

describe('registry interop', function () {
  this.timeout(120_000)

  describe('pulls', () => {
    it('takes a tag by the digest of its bytes: charset in Content-Type, a wrong Docker-Content-Digest, no Content-Length', async () => {
      const r = await registry({
        hook: ({req, res, kind, ref}) => {
          if (req.method !== 'GET' || (kind !== 'manifests' && kind !== 'blobs')) return false
          const data = kind === 'manifests' ? app.manifest.data : [app.config, ...app.layers].find((b) => b.digest === ref)?.data
          if (!data) return false
          // chunked transfer (no Content-Length); the manifest's header digest names something else, as ECR's can
          res.writeHead(200, {'content-type': kind === 'manifests' ? `${app.manifest.mediaType}; charset=utf-8` : 'application/octet-stream', 'docker-content-digest': sha256('not this')})
          res.write(data.subarray(0, 100))
          res.end(data.subarray(100))
          return true
        },
      })
      const {r: out} = await build(r.host, [`${r.host}/team/app:1.0`])
      assert.equal(out.code, 0, out.stderr + out.stdout)
      assert.equal(out.json.images[0].digest, app.manifest.digest)
    })

    it('follows a relative blob redirect and waits as long as an HTTP-date Retry-After asks', async () => {
      const seen: {at: number; status: number}[] = []
      let limited = false
      const r = await registry({
        hook: ({req, res, kind, ref, url}) => {
          const layer = app.layers[1] as TestBlob
          if (kind === 'other' && url.pathname.startsWith('/storage/')) {
            const data = [app.config, ...app.layers].find((b) => url.pathname.endsWith(b.digest.slice(7)))?.data
            res.writeHead(data ? 200 : 404, {'content-length': data?.length ?? 0}).end(data)
            return true
          }
          if (kind !== 'blobs' || req.method !== 'GET') return false
          if (ref === layer.digest) {
            seen.push({at: Date.now(), status: limited ? 307 : 429})
            if (!limited) {
              limited = true
              res.writeHead(429, {'retry-after': new Date(Date.now() + 2000).toUTCString(), 'content-length': 0}).end()
              return true
            }
          }
          res.writeHead(307, {location: `/storage/${ref.slice(7)}`, 'content-length': 0}).end()
          return true
        },
      })
      const {r: out} = await build(r.host, [`${r.host}/team/app:1.0`])
      assert.equal(out.code, 0, out.stderr + out.stdout)
      assert.equal(out.json.images[0].digest, app.manifest.digest)
      assert.equal(seen.length, 2)
      // an HTTP-date has whole seconds: the wait is at least the second it rounds down to
      assert.ok((seen[1] as {at: number}).at - (seen[0] as {at: number}).at >= 900, `waited ${(seen[1] as {at: number}).at - (seen[0] as {at: number}).at} ms`)
      assert.ok(r.log.some((l) => l.path.startsWith('/storage/')))
    })

    it('a registry that keeps answering 429 fails after the retry bound with a rate-limit hint (exit 4)', async () => {
      const r = await registry({
        hook: ({res, kind}) => {
          if (kind !== 'manifests') return false
          res.writeHead(429, {'retry-after': '0', 'content-type': 'application/json'}).end('{"errors":[{"code":"TOOMANYREQUESTS","message":"pull rate limit"}]}')
          return true
        },
      })
      const {r: out} = await build(r.host, [`${r.host}/team/app:1.0`], {AIRLOCK_RETRY_ATTEMPTS: '3'})
      assert.equal(out.code, 4, out.stderr)
      assert.equal(out.json.error.code, 'REGISTRY_ERROR')
      assert.match(out.json.error.message, /team\/app:1.0.*429.*after 3 attempts/)
      assert.match(out.json.error.hint, /rate-limits/)
      assert.equal(r.log.filter((l) => l.path.includes('/manifests/')).length, 3)
    })

    it('with --cache, a second build resolves the tag with one HEAD and downloads nothing', async () => {
      const r = await registry()
      const dir = await makeTempDir('interop-cache2')
      const first = await build(r.host, [`${r.host}/team/app:1.0`], {}, ['--cache', join(dir, 'cache')])
      assert.equal(first.r.code, 0, first.r.stderr + first.r.stdout)
      const before = r.log.length
      const second = await build(r.host, [`${r.host}/team/app:1.0`], {}, ['--cache', join(dir, 'cache')])
      assert.equal(second.r.code, 0, second.r.stderr + second.r.stdout)
      assert.equal(second.r.json.images[0].digest, app.manifest.digest)
      const asked = r.log.slice(before).map((l) => `${l.method} ${l.path}`)
      assert.ok(asked.includes('HEAD /v2/team/app/manifests/1.0'), asked.join('\n'))
      // (signature and SBOM discovery still asks its own questions; no manifest or blob is downloaded again)
      assert.deepEqual(asked.filter((a) => /^GET .*\/(manifests|blobs)\//.test(a)), [])
    })

    it('with --cache, a registry that refuses HEAD (405) is asked with GET', async () => {
      const r = await registry({
        hook: ({req, res}) => {
          if (req.method !== 'HEAD') return false
          res.writeHead(405, {allow: 'GET', 'content-length': 0}).end()
          return true
        },
      })
      const dir = await makeTempDir('interop-cache')
      for (const round of [1, 2]) {
        const {r: out} = await build(r.host, [`${r.host}/team/app:1.0`], {}, ['--cache', join(dir, 'cache')])
        assert.equal(out.code, 0, `round ${round}: ${out.stderr}${out.stdout}`)
        assert.equal(out.json.images[0].digest, app.manifest.digest)
      }
    })

    it('keeps a BuildKit index whole, attestations included, when every platform it has is taken', async () => {
      const r = await registry()
      const digest = buildkitIndex(r, 'team/multi', '2.0', [app, arm])
      const {r: out} = await build(r.host, [`{ref: "${r.host}/team/multi:2.0", platforms: [linux/amd64, linux/arm64]}`])
      assert.equal(out.code, 0, out.stderr + out.stdout)
      assert.equal(out.json.images[0].digest, digest, 'the index digest is the registry\'s')
      assert.deepEqual(out.json.images[0].platforms, ['linux/amd64', 'linux/arm64/v8'])
    })

    it('fetches a non-distributable layer the registry does not hold from the URLs its descriptor lists', async () => {
      const foreign = makeLayer('interop-foreign', 15_000)
      const r = await registry({
        hook: ({req, res, url}) => {
          if (!url.pathname.startsWith('/mcr/')) return false
          // the layer's own host: no registry credentials expected or needed
          if (req.headers.authorization) return (res.writeHead(400).end(), true)
          res.writeHead(200, {'content-length': foreign.size}).end(foreign.data)
          return true
        },
      })
      const config = Buffer.from(JSON.stringify({os: 'windows', architecture: 'amd64', rootfs: {type: 'layers', diff_ids: [foreign.diffId, base.diffId]}}))
      r.putBlob('team/win', config)
      r.putBlob('team/win', base.data)
      const manifest = Buffer.from(JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        config: {mediaType: 'application/vnd.docker.container.image.v1+json', digest: sha256(config), size: config.length},
        layers: [
          {mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', digest: foreign.digest, size: foreign.size, urls: [`${r.origin}/mcr/${foreign.digest.slice(7)}`]},
          {mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: base.digest, size: base.size},
        ],
      }))
      const digest = r.putManifest('team/win', 'ltsc', manifest, 'application/vnd.docker.distribution.manifest.v2+json')
      const {r: out, out: tar} = await build(r.host, [`{ref: "${r.host}/team/win:ltsc", platforms: [windows/amd64]}`])
      assert.equal(out.code, 0, out.stderr + out.stdout)
      assert.equal(out.json.images[0].digest, digest)
      const {execFile} = await import('node:child_process')
      const names = await new Promise<string>((resolve, reject) => execFile('tar', ['-tf', tar], (e, o) => (e ? reject(e) : resolve(o))))
      assert.ok(names.includes(`blobs/sha256/${foreign.digest.slice(7)}`), 'the foreign layer is in the bundle')
    })

    it('pulls from and pushes to a registry named by an IPv6 literal', async () => {
      const r = await startQuirkRegistry({listen: '::1'})
      seedImage(r, 'team/app', '1.0', app)
      assert.equal(r.host, `[::1]:${r.host.split(']:')[1]}`)
      // quoted: a YAML scalar cannot start with "["
      const {r: out, out: tar, keys} = await build(r.host, [`"${r.host}/team/app:1.0"`])
      assert.equal(out.code, 0, out.stderr + out.stdout)
      assert.equal(out.json.images[0].digest, app.manifest.digest)
      const pushed = await runCli(['images', 'push', tar, '--registry', `${r.host}/site`, '--insecure-registry', r.host, '--trust', keys.pub, '--json'], {env: authEnv('/nonexistent/auth.json')})
      assert.equal(pushed.code, 0, pushed.stderr + pushed.stdout)
      assert.equal(pushed.json.images[0].destination, `${r.host}/site/team/app:1.0@${app.manifest.digest}`)
      assert.equal(sha256(r.manifest('site/team/app', '1.0')?.bytes ?? ''), app.manifest.digest)
    })

    it('refuses a Docker schema 1 manifest naming the image (exit 3)', async () => {
      const r = await registry()
      r.putManifest('team/old', 'v1', Buffer.from(JSON.stringify({schemaVersion: 1, name: 'team/old', tag: 'v1', fsLayers: [], history: []})), 'application/vnd.docker.distribution.manifest.v1+prettyjws')
      const {r: out} = await build(r.host, [`${r.host}/team/old:v1`])
      assert.equal(out.code, 3, out.stderr)
      assert.equal(out.json.error.code, 'MANIFEST_INVALID')
      assert.match(out.json.error.message, /team\/old:v1.*schema 1/)
    })
  })

  describe('through an HTTP proxy', () => {
    it('reads HTTPS_PROXY, HTTP_PROXY and NO_PROXY as curl and Go do; loopback always goes direct', () => {
      const env = {HTTPS_PROXY: 'http://u:p%40ss@proxy.corp:3128', http_proxy: 'proxy.corp:8080', NO_PROXY: '.internal, reg.example:5000, 10.0.0.0/8, [fd00::5]'}
      const via = (u: string) => proxyFor(new URL(u), env)?.href
      assert.equal(via('https://quay.io/v2/'), 'http://u:p%40ss@proxy.corp:3128/')
      assert.equal(via('http://plain.example:5000/v2/'), 'http://proxy.corp:8080/')
      for (const direct of ['https://127.0.0.1:5000/', 'https://localhost/', 'https://[::1]:443/', 'https://harbor.internal/', 'https://a.b.internal/', 'https://reg.example:5000/', 'https://10.1.2.3/', 'https://[fd00::5]/']) {
        assert.equal(via(direct), undefined, direct)
      }
      assert.equal(via('https://reg.example:5001/'), 'http://u:p%40ss@proxy.corp:3128/', 'NO_PROXY names another port')
      assert.deepEqual(proxyAuthorization(new URL('http://u:p%40ss@proxy.corp:3128')), {'proxy-authorization': `Basic ${Buffer.from('u:p@ss').toString('base64')}`})
      assert.throws(() => proxyFor(new URL('https://quay.io/'), {HTTPS_PROXY: 'socks5://proxy:1080'}), /http:\/\/ proxies only/)
    })

    it('reaches an https registry through HTTPS_PROXY with a CONNECT tunnel, checking the registry\'s own certificate', async () => {
      const dir = await makeTempDir('interop-proxy')
      await new Promise<void>((resolve, reject) => execFile('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=registry.test', '-addext', 'subjectAltName=DNS:registry.test'], (e) => (e ? reject(e) : resolve())))
      const r = await registry({tls: {cert: await readFile(join(dir, 'cert.pem'), 'utf8'), key: await readFile(join(dir, 'key.pem'), 'utf8')}})
      const proxy = await startProxy(['registry.test'])
      const name = `registry.test:${r.host.split(':')[1]}`
      const {r: out} = await build(undefined, [`${name}/team/app:1.0`], {HTTPS_PROXY: proxy.url, NO_PROXY: 'other.example'}, ['--registry-ca', join(dir, 'cert.pem')])
      assert.equal(out.code, 0, out.stderr + out.stdout)
      assert.equal(out.json.images[0].digest, app.manifest.digest)
      assert.ok(proxy.seen.includes(`CONNECT ${name}`), proxy.seen.join('\n'))
    })

    it('sends plain http in absolute form through HTTP_PROXY, and goes direct for NO_PROXY hosts', async () => {
      const r = await registry()
      const proxy = await startProxy(['plain.test'])
      const name = `plain.test:${r.host.split(':')[1]}`
      const {r: out} = await build(name, [`${name}/team/app:1.0`], {HTTP_PROXY: proxy.url})
      assert.equal(out.code, 0, out.stderr + out.stdout)
      assert.ok(proxy.seen.includes(`GET http://${name}/v2/team/app/manifests/1.0`), proxy.seen.join('\n'))
      const before = proxy.seen.length
      const {r: direct} = await build(name, [`${name}/team/app:1.0`], {HTTP_PROXY: proxy.url, NO_PROXY: '.test', AIRLOCK_RETRY_ATTEMPTS: '1'})
      assert.equal(direct.code, 4, direct.stderr)
      assert.equal(direct.json.error.code, 'REMOTE_UNREACHABLE')
      assert.equal(proxy.seen.length, before, 'nothing went through the proxy')
    })
  })

  describe('authentication', () => {
    it('re-authenticates once when a bearer token expires mid-build; realm query kept, access_token read', async () => {
      const r = await registry({auth: {kind: 'bearer', tokenField: 'access_token', realmQuery: '?account=builder', tokenUses: 2}})
      const {r: out} = await build(r.host, [`${r.host}/team/app:1.0`])
      assert.equal(out.code, 0, out.stderr + out.stdout)
      assert.equal(out.json.images[0].digest, app.manifest.digest)
      const asked = r.tokenRequests.filter((t) => t.scopes.includes('repository:team/app:pull'))
      assert.ok(asked.length >= 2, `a new token after the first expired (${asked.length} asked)`)
      assert.ok(asked.every((t) => t.account === 'builder' && t.service === 'quirk'))
    })

    it('asks a docker credential helper named in credHelpers, as docker does, once per registry', async () => {
      const r = await registry({auth: {kind: 'basic', user: 'robot', password: 'from-helper'}})
      seedImage(r, 'team/other', '1.0', arm)
      const dir = await makeTempDir('interop-helper')
      const env = await dockerConfig(dir, {credHelpers: {[r.host]: 'quirktest'}, auths: {}}, {
        quirktest: `[ "$1" = get ] || exit 2\nread server\necho "$server" >> "${join(dir, 'asked')}"\necho '{"ServerURL":"'"$server"'","Username":"robot","Secret":"from-helper"}'`,
      })
      const {r: out} = await build(r.host, [`${r.host}/team/app:1.0`, `{ref: "${r.host}/team/other:1.0", platforms: [linux/arm64]}`], env)
      assert.equal(out.code, 0, out.stderr + out.stdout)
      assert.deepEqual((await readFile(join(dir, 'asked'), 'utf8')).trim().split('\n'), [r.host])
    })

    it('exchanges an identity token from credsStore (user <token>) for an access token by OAuth2 POST', async () => {
      const r = await registry({auth: {kind: 'bearer', identityToken: 'refresh-me'}})
      const dir = await makeTempDir('interop-idtoken')
      const env = await dockerConfig(dir, {credsStore: 'quirkstore'}, {quirkstore: `read server\necho '{"ServerURL":"'"$server"'","Username":"<token>","Secret":"refresh-me"}'`})
      const {r: out} = await build(r.host, [`${r.host}/team/app:1.0`], env)
      assert.equal(out.code, 0, out.stderr + out.stdout)
      assert.ok(r.tokenRequests.length > 0 && r.tokenRequests.every((t) => t.method === 'POST' && t.grant === 'refresh_token'))
    })

    it('a credential helper that is not installed is named when the registry needs credentials (exit 4), and does not stop an anonymous pull', async () => {
      const locked = await registry({auth: {kind: 'basic', user: 'robot', password: 'x'}})
      const dir = await makeTempDir('interop-nohelper')
      const env = await dockerConfig(dir, {credsStore: 'nosuchstore'})
      const {r: out} = await build(locked.host, [`${locked.host}/team/app:1.0`], env)
      assert.equal(out.code, 4, out.stderr)
      assert.equal(out.json.error.code, 'REGISTRY_AUTH')
      assert.match(out.json.error.message, /docker-credential-nosuchstore .*not installed/)

      const open = await registry({auth: {kind: 'bearer'}})
      const {r: anon} = await build(open.host, [`${open.host}/team/app:1.0`], env)
      assert.equal(anon.code, 0, anon.stderr + anon.stdout)
      assert.ok(open.tokenRequests.every((t) => t.user === undefined), 'the token was asked for anonymously')
    })

    it('a registry that redirects to another registry wanting a token: that one gets an anonymous token, never these credentials', async () => {
      const behind = await startQuirkRegistry({auth: {kind: 'bearer', user: 'someone', password: 'else'}})
      seedImage(behind, 'mirror/team/app', '1.0', app)
      const front = await startQuirkRegistry({
        hook: ({res, url}) => {
          if (!url.pathname.startsWith('/v2/team/app/')) return false
          res.writeHead(307, {location: `${behind.origin}${url.pathname.replace('/v2/', '/v2/mirror/')}`, 'content-length': 0}).end()
          return true
        },
      })
      const dir = await makeTempDir('interop-redirect-auth')
      await writeFile(join(dir, 'auth.json'), JSON.stringify({auths: {[front.host]: {auth: Buffer.from('front-user:front-secret').toString('base64')}}}))
      const {r: out} = await build(front.host, [`${front.host}/team/app:1.0`], {REGISTRY_AUTH_FILE: join(dir, 'auth.json')})
      assert.equal(out.code, 0, out.stderr + out.stdout)
      assert.equal(out.json.images[0].digest, app.manifest.digest)
      // asked for the scope the other host's own challenge named, and anonymously
      assert.ok(behind.tokenRequests.some((t) => t.scopes.includes('repository:mirror/team/app:pull')), JSON.stringify(behind.tokenRequests))
      assert.ok(behind.tokenRequests.every((t) => t.user === undefined), JSON.stringify(behind.tokenRequests))
      assert.ok(behind.log.every((l) => !l.headers.authorization?.startsWith('Basic')), 'no Basic credentials reached the other host')
    })

    it('sends the credentials as Basic when a 401 comes without WWW-Authenticate (a proxy dropped it)', async () => {
      const expected = `Basic ${Buffer.from('robot:pw').toString('base64')}`
      const r = await registry({
        hook: ({req, res}) => {
          if (req.headers.authorization === expected) return false
          res.writeHead(401, {'content-length': 0}).end()
          return true
        },
      })
      const dir = await makeTempDir('interop-nochallenge')
      await writeFile(join(dir, 'auth.json'), JSON.stringify({auths: {[r.host]: {auth: Buffer.from('robot:pw').toString('base64')}}}))
      const {r: out} = await build(r.host, [`${r.host}/team/app:1.0`], {REGISTRY_AUTH_FILE: join(dir, 'auth.json')})
      assert.equal(out.code, 0, out.stderr + out.stdout)
      assert.equal(out.json.images[0].digest, app.manifest.digest)
    })

    it('says a token without the push action is a permission problem, not a login one (insufficient_scope)', async () => {
      const r = await registry({
        auth: {kind: 'bearer', user: 'reader', password: 'p'},
        hook: ({req, res, kind, repo}) => {
          if (kind !== 'uploads') return false
          res.writeHead(401, {'www-authenticate': `Bearer realm="${r.origin}/token",service="quirk",scope="repository:${repo}:pull,push",error="insufficient_scope"`, 'content-length': 0}).end()
          return true
        },
      })
      const dir = await makeTempDir('interop-scope')
      await writeFile(join(dir, 'auth.json'), JSON.stringify({auths: {[`http://${r.host}`]: {auth: Buffer.from('reader:p').toString('base64')}}}))
      const transport = new Transport({insecure: [r.host], backoffMs: 1})
      try {
        const client = new RegistryClient(r.host, transport, {env: authEnv(join(dir, 'auth.json'))})
        const {Readable} = await import('node:stream')
        await assert.rejects(client.pushBlob('team/app', base.digest, base.size, () => Readable.from([base.data])), (e: Error & {code?: string; hint?: string}) => {
          assert.equal(e.code, 'REGISTRY_AUTH')
          assert.match(e.message, /denied access to team\/app for reader/)
          assert.match(e.hint ?? '', /lacks permission/)
          return true
        })
      } finally {
        transport.close()
      }
    })
  })

  describe('pushes', () => {
    let bundle: string
    let pub: string

    before(async () => {
      const r = await registry()
      buildkitIndex(r, 'team/multi', '2.0', [app, arm])
      const b = await build(r.host, [`${r.host}/team/app:1.0`, `{ref: "${r.host}/team/multi:2.0", platforms: [all]}`])
      assert.equal(b.r.code, 0, b.r.stderr + b.r.stdout)
      bundle = b.out
      pub = b.keys.pub
      await r.stop()
    })

    async function push(dest: QuirkRegistry, env: NodeJS.ProcessEnv = {}) {
      const dir = await makeTempDir('interop-push')
      const r = await runCli(['images', 'push', bundle, '--registry', `${dest.host}/site`, '--insecure-registry', dest.host, '--trust', pub, '--json'], {env: {...authEnv(join(dir, 'none.json')), ...env}})
      assert.equal(r.code, 0, r.stderr + r.stdout)
      // what a node would pull: the tag names the pushed digest, every manifest and blob is there
      const top = dest.manifest('site/team/app', '1.0')
      assert.equal(top && sha256(top.bytes), app.manifest.digest)
      for (const b of [app.config, ...app.layers]) assert.ok(dest.hasBlob('site/team/app', b.digest), b.digest)
      return r
    }

    it('falls back to one PUT when a registry ends chunked uploads at the first PATCH (ECR), and keeps to it', async () => {
      const dest = await startQuirkRegistry({
        hook: async ({req, res, kind, body}) => {
          if (kind !== 'uploads' || req.method !== 'PATCH' || !req.headers['content-range']) return false
          // ECR: 201 for a chunk, and the Range never moves past the first one
          await body()
          res.writeHead(201, {range: '0-9999', location: req.url ?? '', 'content-length': 0}).end()
          return true
        },
      })
      await push(dest, {AIRLOCK_UPLOAD_CHUNK_BYTES: '10000'})
      // blobs started together may each try chunks once; the image pushed after that goes straight to one PUT
      const armLayer = (arm.layers[0] as TestBlob).digest
      const put = dest.log.find((l) => l.method === 'PUT' && l.search.endsWith(`digest=${encodeURIComponent(armLayer)}`))
      assert.ok(put && Number(put.headers['content-length']) === (arm.layers[0] as TestBlob).size, 'the later blob went in one PUT')
      assert.ok(!dest.log.some((l) => l.method === 'PATCH' && l.path === put.path), 'with no PATCH before it')
    })

    it('takes the other upload mode on the next attempt when one keeps failing with 500', async () => {
      const dest = await startQuirkRegistry({
        hook: async ({req, res, kind, body}) => {
          if (kind !== 'uploads' || req.method !== 'PATCH' || !req.headers['content-range']) return false
          await body()
          res.writeHead(500, {'content-length': 0}).end()
          return true
        },
      })
      await push(dest, {AIRLOCK_UPLOAD_CHUNK_BYTES: '10000'})
    })

    it('falls back to PATCH then PUT when a registry refuses a PUT with the blob in it', async () => {
      const dest = await startQuirkRegistry({
        hook: ({req, res, kind}) => {
          if (kind !== 'uploads' || req.method !== 'PUT' || Number(req.headers['content-length'] ?? 0) === 0) return false
          res.writeHead(405, {'content-type': 'application/json'}).end(JSON.stringify({errors: [{code: 'UNSUPPORTED', message: 'monolithic upload is not supported'}]}))
          return true
        },
      })
      await push(dest)
      assert.ok(dest.log.some((l) => l.method === 'PATCH'))
    })

    it('keeps the query of an absolute upload Location byte for byte; a 202 to a mount uploads; Quay\'s 202 to a manifest PUT is success', async () => {
      const dest = await startQuirkRegistry({absoluteLocation: true, refuseMount: true, manifestPutStatus: 202})
      const r = await push(dest)
      assert.equal(r.json.blobs.mounted, 0)
      assert.ok(dest.log.some((l) => l.method === 'POST' && l.search.includes('mount=')), 'a mount was asked for')
      const puts = dest.log.filter((l) => l.method === 'PUT' && l.path.includes('/blobs/uploads/'))
      assert.ok(puts.length > 0 && puts.every((l) => /\?_state=[0-9a-f]+~a%20b%3D&digest=sha256%3A[0-9a-f]{64}$/.test(l.search)), puts.map((l) => l.search).join(' '))
      assert.equal(dest.manifest('site/team/multi', '2.0') !== undefined, true, 'the index went in after its children')
    })

    it('uploads when a registry refuses HEAD on blobs (405)', async () => {
      const dest = await startQuirkRegistry({
        hook: ({req, res, kind}) => {
          if (kind !== 'blobs' || req.method !== 'HEAD') return false
          res.writeHead(405, {'content-length': 0}).end()
          return true
        },
      })
      const r = await push(dest)
      assert.ok(r.json.blobs.uploaded + r.json.blobs.mounted >= app.layers.length + 1)
    })

    it('a registry that does not create repositories on push (ECR) fails naming the repository to create (exit 4)', async () => {
      const dest = await startQuirkRegistry({
        hook: ({req, res, kind, repo}) => {
          if (kind !== 'uploads' || req.method !== 'POST') return false
          res.writeHead(404, {'content-type': 'application/json'}).end(JSON.stringify({errors: [{code: 'NAME_UNKNOWN', message: `The repository with name '${repo}' does not exist in the registry`}]}))
          return true
        },
      })
      const r = await runCli(['images', 'push', bundle, '--registry', `${dest.host}/site`, '--insecure-registry', dest.host, '--trust', pub, '--json'], {env: authEnv('/nonexistent/auth.json')})
      assert.equal(r.code, 4, r.stderr)
      assert.equal(r.json.error.code, 'REGISTRY_NOT_FOUND')
      assert.match(r.json.error.message, /NAME_UNKNOWN/)
      assert.match(r.json.error.hint, /create site\/team\/(app|multi) there first/)
    })

    it('sends each manifest with the media type it declares, even when its index names another', async () => {
      const src = await registry()
      // an index whose descriptor calls an OCI manifest a Docker one: the document's own mediaType is the truth
      seedImage(src, 'team/sloppy', undefined, app)
      const index = Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{mediaType: 'application/vnd.docker.distribution.manifest.v2+json', digest: app.manifest.digest, size: app.manifest.size, platform: app.platform}]}))
      const digest = src.putManifest('team/sloppy', '1', index, 'application/vnd.oci.image.index.v1+json')
      const b = await build(src.host, [`{ref: "${src.host}/team/sloppy:1", platforms: [all]}`])
      assert.equal(b.r.code, 0, b.r.stderr + b.r.stdout)
      const dest = await startQuirkRegistry()
      const r = await runCli(['images', 'push', b.out, '--registry', dest.host, '--insecure-registry', dest.host, '--trust', b.keys.pub, '--json'], {env: authEnv('/nonexistent/auth.json')})
      assert.equal(r.code, 0, r.stderr + r.stdout)
      assert.equal(sha256(dest.manifest('team/sloppy', '1')?.bytes ?? ''), digest)
      assert.equal(dest.manifest('team/sloppy', app.manifest.digest)?.type, app.manifest.mediaType)
      // images serve answers the child with its own type too
      const child = spawn(process.execPath, [BIN, 'images', 'serve', b.out, '--trust', b.keys.pub, '--listen', '127.0.0.1:0', '--json'], {stdio: ['ignore', 'pipe', 'ignore']})
      const exited = new Promise((r) => child.once('exit', r))
      try {
        let out = ''
        const address = await new Promise<string>((resolve, reject) => {
          child.stdout.on('data', (c: Buffer) => {
            out += c.toString()
            try {
              resolve((JSON.parse(out) as {address: string}).address)
            } catch {
              // not complete yet
            }
          })
          child.once('exit', (code) => reject(new Error(`images serve exited (${code}): ${out}`)))
        })
        const res = await fetch(`http://${address}/v2/team/sloppy/manifests/${app.manifest.digest}`, {headers: {accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json'}})
        assert.equal(res.status, 200)
        assert.equal(res.headers.get('content-type'), app.manifest.mediaType)
        assert.equal(sha256(Buffer.from(await res.arrayBuffer())), app.manifest.digest)
      } finally {
        child.kill('SIGKILL')
        await exited
      }
    })

    it('follows an http:// upload Location of a registry reached over https (behind a TLS-terminating proxy) over https', async () => {
      const pki = await makePki()
      const dest = await startQuirkRegistry({tls: {cert: await readFile(pki.serverCert, 'utf8'), key: await readFile(pki.serverKey, 'utf8')}, plainLocation: true})
      const transport = new Transport({ca: await readFile(pki.caCert, 'utf8'), backoffMs: 1, attempts: 2})
      try {
        const client = new RegistryClient(dest.host, transport, {env: authEnv('/nonexistent/auth.json')})
        const {Readable} = await import('node:stream')
        assert.equal(await client.pushBlob('team/app', base.digest, base.size, () => Readable.from([base.data])), 'uploaded')
      } finally {
        transport.close()
      }
      assert.ok(dest.hasBlob('team/app', base.digest))
    })

    it('never sends the registry\'s token to an upload Location on another host', async () => {
      const storage = await startQuirkRegistry()
      const reg = await startQuirkRegistry({
        auth: {kind: 'bearer', user: 'u', password: 'p'},
        hook: async ({req, res, kind, repo}) => {
          if (kind !== 'uploads' || req.method !== 'POST') return false
          const started = await fetch(`${storage.origin}/v2/${repo}/blobs/uploads/`, {method: 'POST'})
          res.writeHead(202, {location: `${storage.origin}${started.headers.get('location')}`, 'content-length': 0}).end()
          return true
        },
      })
      const dir = await makeTempDir('interop-foreign')
      await writeFile(join(dir, 'auth.json'), JSON.stringify({auths: {[reg.host]: {auth: Buffer.from('u:p').toString('base64')}}}))
      const transport = new Transport({insecure: [reg.host, storage.host], backoffMs: 1})
      try {
        const client = new RegistryClient(reg.host, transport, {env: authEnv(join(dir, 'auth.json'))})
        const data = base.data
        const {Readable} = await import('node:stream')
        assert.equal(await client.pushBlob('team/app', base.digest, data.length, (s, e) => Readable.from([data.subarray(s, e + 1)])), 'uploaded')
      } finally {
        transport.close()
      }
      assert.ok(storage.hasBlob('team/app', base.digest))
      assert.ok(storage.log.length > 1 && storage.log.every((l) => l.headers.authorization === undefined))
      assert.ok(reg.log.some((l) => l.headers.authorization?.startsWith('Bearer ')), 'the registry itself got the token')
    })
  })
})
