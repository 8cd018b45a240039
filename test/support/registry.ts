/*
 * Real registries for the image tests: Debian's docker-registry (distribution 2.8) on 127.0.0.1 at
 * random ports, in three flavours (htpasswd basic auth over TLS with a CA made here, anonymous plain
 * HTTP, bearer tokens from a small token service), seeded with `skopeo copy --all` from OCI layouts
 * the tests write. Every process is killed and every folder removed when the tests end.
 */
import {execFile, spawn, type ChildProcess} from 'node:child_process'
import {createHash, createSign, randomBytes} from 'node:crypto'
import {mkdir, readFile, writeFile} from 'node:fs/promises'
import {createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import {connect, createServer as createNetServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {gzipSync} from 'node:zlib'

import {endRun, makeTempDir, registerCleanup} from './cleanup.js'

const run = promisify(execFile)

/** Registers something to undo at the end of the run: registries and their folders are shared by test files. */
export function onCleanup(fn: () => Promise<void> | void): void {
  registerCleanup('registry helper', fn, 'run')
}

/** For scripts outside mocha (bench/): undo everything now and remove the temp root. */
export async function cleanupAll(): Promise<void> {
  await endRun()
}

export async function tempDir(tag = 'registry'): Promise<string> {
  return makeTempDir(tag, 'run')
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as {port: number}).port
      s.close(() => resolve(port))
    })
  })
}

async function waitForPort(port: number, child: ChildProcess, log: () => string, ms = 15_000): Promise<void> {
  const until = Date.now() + ms
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited (${child.exitCode}):\n${log()}`)
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect(port, '127.0.0.1')
      sock.once('connect', () => {
        sock.destroy()
        resolve(true)
      })
      sock.once('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > until) throw new Error(`docker-registry did not listen on ${port} within ${ms} ms:\n${log()}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

export interface Pki {
  dir: string
  caCert: string
  serverCert: string
  serverKey: string
}

/** A CA and a server certificate for 127.0.0.1 and localhost, made with openssl. */
export async function makePki(): Promise<Pki> {
  const dir = await tempDir('pki')
  const o = (args: string[]) => run('openssl', args, {cwd: dir})
  await o(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=airlock test CA'])
  await o(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'])
  await writeFile(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n')
  await o(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'ext.cnf'])
  return {dir, caCert: join(dir, 'ca.crt'), serverCert: join(dir, 'server.crt'), serverKey: join(dir, 'server.key')}
}

/**
 * bcrypt, the only hash docker-registry's htpasswd accepts: from Apache's htpasswd (apache2-utils,
 * which scripts/test-deps.sh installs), else from Python's crypt module (gone in Python 3.13).
 */
async function bcrypt(password: string): Promise<string> {
  try {
    const {stdout} = await run('htpasswd', ['-nbB', 'x', password])
    return stdout.trim().slice('x:'.length)
  } catch {
    const {stdout} = await run('python3', ['-W', 'ignore', '-c', 'import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))', password])
    return stdout.trim()
  }
}

export interface Registry {
  /** host:port */
  host: string
  dir: string
  stop(): Promise<void>
}

export interface RegistryOptions {
  tls?: Pki
  htpasswd?: {user: string; password: string}
  token?: TokenService
}

export async function startRegistry(options: RegistryOptions = {}): Promise<Registry> {
  const dir = await tempDir('distribution')
  const port = await freePort()
  const lines = [
    'version: 0.1',
    'log: {level: warn, accesslog: {disabled: true}}',
    `storage: {filesystem: {rootdirectory: ${join(dir, 'data')}}, delete: {enabled: true}}`,
    'http:',
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
  ]
  if (options.tls) lines.push(`  tls: {certificate: ${options.tls.serverCert}, key: ${options.tls.serverKey}}`)
  if (options.htpasswd) {
    await writeFile(join(dir, 'htpasswd'), `${options.htpasswd.user}:${await bcrypt(options.htpasswd.password)}\n`)
    lines.push(`auth: {htpasswd: {realm: airlock-test, path: ${join(dir, 'htpasswd')}}}`)
  } else if (options.token) {
    lines.push(`auth: {token: {realm: "${options.token.realm}", service: ${options.token.service}, issuer: ${options.token.issuer}, rootcertbundle: ${options.token.certFile}}}`)
  }
  await writeFile(join(dir, 'config.yml'), `${lines.join('\n')}\n`)
  const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], {stdio: ['ignore', 'pipe', 'pipe']})
  let log = ''
  child.stdout?.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-4000)))
  child.stderr?.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-4000)))
  const stop = async () => {
    // a registry stopped by SIGTERM has a signalCode and no exitCode: without this a second stop() waits forever
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await gone
    }
  }
  onCleanup(stop)
  await waitForPort(port, child, () => log)
  return {host: `127.0.0.1:${port}`, dir, stop}
}

export interface TokenService {
  realm: string
  service: string
  issuer: string
  certFile: string
  /** every scope asked for, in order, and whether credentials came with it */
  requests: {scopes: string[]; user?: string}[]
  stop(): Promise<void>
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url')

/**
 * A token service as distribution's token auth expects: RS256 JWTs with the signing certificate in
 * `x5c`, that certificate being the registry's rootcertbundle. It grants push to `user`/`password`,
 * pull to anyone, and records every request so tests can check scopes and token reuse.
 */
export async function startTokenService(user: string, password: string): Promise<TokenService> {
  const dir = await tempDir('token')
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'token.key', '-out', 'token.crt', '-days', '2', '-subj', '/CN=airlock test token issuer'], {cwd: dir})
  const key = await readFile(join(dir, 'token.key'), 'utf8')
  const certDer = Buffer.from((await readFile(join(dir, 'token.crt'), 'utf8')).replace(/-----[^-]+-----|\s/g, ''), 'base64')
  const service = 'airlock-test-registry'
  const issuer = 'airlock-test-issuer'
  const requests: TokenService['requests'] = []
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const scopes = url.searchParams.getAll('scope')
    let who: string | undefined
    const auth = req.headers.authorization
    if (auth?.startsWith('Basic ')) {
      const [u, p] = Buffer.from(auth.slice(6), 'base64').toString().split(':')
      if (u !== user || p !== password) {
        res.writeHead(401).end('{"details":"bad credentials"}')
        requests.push({scopes, user: u})
        return
      }
      who = u
    }
    requests.push({scopes, ...(who ? {user: who} : {})})
    const access = scopes.map((s) => {
      const [type, name, actions] = s.split(':')
      const granted = (actions ?? '').split(',').filter((a) => a === 'pull' || (who && a === 'push'))
      return {type, name, actions: granted}
    })
    const now = Math.floor(Date.now() / 1000)
    const header = b64url(JSON.stringify({typ: 'JWT', alg: 'RS256', x5c: [certDer.toString('base64')]}))
    const claims = b64url(JSON.stringify({iss: issuer, sub: who ?? '', aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access}))
    const signature = createSign('RSA-SHA256').update(`${header}.${claims}`).sign(key).toString('base64url')
    res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify({token: `${header}.${claims}.${signature}`, expires_in: 300}))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as {port: number}).port
  const stop = () => new Promise<void>((r) => server.close(() => r()))
  onCleanup(stop)
  return {realm: `http://127.0.0.1:${port}/token`, service, issuer, certFile: join(dir, 'token.crt'), requests, stop}
}

// ---- OCI layouts written by the tests ----

export interface TestBlob {
  digest: string
  size: number
  data: Buffer
  mediaType: string
}

function blob(data: Buffer, mediaType: string): TestBlob {
  return {digest: `sha256:${createHash('sha256').update(data).digest('hex')}`, size: data.length, data, mediaType}
}

/** Deterministic pseudo-random bytes, so that a layer's digest is the same in every run. */
export function seededBytes(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size)
  let block = createHash('sha256').update(seed).digest()
  for (let off = 0; off < size; off += 32) {
    block.copy(out, off, 0, Math.min(32, size - off))
    block = createHash('sha256').update(block).digest()
  }
  return out
}

/** A gzip layer of `size` random-looking bytes (gzip of incompressible data stays that size). */
export function makeLayer(seed: string, size: number): TestBlob & {diffId: string} {
  const raw = seededBytes(seed, size)
  const gz = gzipSync(raw, {level: 1})
  return {...blob(gz, 'application/vnd.oci.image.layer.v1.tar+gzip'), diffId: `sha256:${createHash('sha256').update(raw).digest('hex')}`}
}

export interface TestImage {
  manifest: TestBlob
  config: TestBlob
  layers: TestBlob[]
  platform: {os: string; architecture: string; variant?: string}
}

export function makeImage(layers: (TestBlob & {diffId: string})[], platform: TestImage['platform'] = {os: 'linux', architecture: 'amd64'}, label = 'test'): TestImage {
  const config = blob(Buffer.from(JSON.stringify({...platform, config: {Labels: {label}}, rootfs: {type: 'layers', diff_ids: layers.map((l) => l.diffId)}})), 'application/vnd.oci.image.config.v1+json')
  const manifest = blob(
    Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: desc(config), layers: layers.map(desc)})),
    'application/vnd.oci.image.manifest.v1+json',
  )
  return {manifest, config, layers, platform}
}

function desc(b: TestBlob) {
  return {mediaType: b.mediaType, digest: b.digest, size: b.size}
}

export function makeIndex(images: TestImage[]): TestBlob {
  return blob(
    Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: images.map((i) => ({...desc(i.manifest), platform: i.platform}))})),
    'application/vnd.oci.image.index.v1+json',
  )
}

/** Writes an OCI layout holding `entries` (an image or an index with its images), each named by tag. */
export async function writeLayout(dir: string, entries: {tag: string; image?: TestImage; index?: {blob: TestBlob; images: TestImage[]}}[]): Promise<void> {
  await mkdir(join(dir, 'blobs', 'sha256'), {recursive: true})
  const put = (b: TestBlob) => writeFile(join(dir, 'blobs', 'sha256', b.digest.slice(7)), b.data)
  const manifests = []
  for (const e of entries) {
    const images = e.image ? [e.image] : (e.index?.images ?? [])
    for (const img of images) for (const b of [img.manifest, img.config, ...img.layers]) await put(b)
    const top = e.image ? e.image.manifest : (e.index as {blob: TestBlob}).blob
    await put(top)
    manifests.push({...desc(top), annotations: {'org.opencontainers.image.ref.name': e.tag}})
  }
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({imageLayoutVersion: '1.0.0'}))
  await writeFile(join(dir, 'index.json'), JSON.stringify({schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests}))
}

export interface SkopeoAuth {
  creds?: string
  certDir?: string
  tlsVerify?: boolean
}

function skopeoFlags(prefix: 'src' | 'dest', a: SkopeoAuth = {}): string[] {
  const f: string[] = []
  if (a.creds) f.push(`--${prefix}-creds`, a.creds)
  if (a.certDir) f.push(`--${prefix}-cert-dir`, a.certDir)
  f.push(`--${prefix}-tls-verify=${a.tlsVerify ?? Boolean(a.certDir)}`)
  return f
}

/** A cert dir as skopeo wants it: ca.crt inside. */
export async function skopeoCertDir(pki: Pki): Promise<string> {
  const dir = await tempDir('certs')
  await writeFile(join(dir, 'ca.crt'), await readFile(pki.caCert))
  return dir
}

export async function skopeo(args: string[]): Promise<string> {
  const {stdout} = await run('skopeo', args, {maxBuffer: 64 << 20, env: {...process.env, REGISTRY_AUTH_FILE: join(tmpdir(), 'airlock-no-such-auth.json')}})
  return stdout
}

export async function seed(layout: string, tag: string, dest: string, auth?: SkopeoAuth): Promise<void> {
  await skopeo(['copy', '--all', '--preserve-digests', '--quiet', ...skopeoFlags('dest', auth), `oci:${layout}:${tag}`, `docker://${dest}`])
}

export async function inspectDigest(ref: string, auth?: SkopeoAuth): Promise<string> {
  const out = await skopeo(['inspect', '--raw', ...skopeoFlags('src', auth).map((f) => f.replace('--src-', '--')), `docker://${ref}`])
  return `sha256:${createHash('sha256').update(out).digest('hex')}`
}

// ---- a proxy that misbehaves on purpose ----

export interface FaultProxy {
  host: string
  /** blob GETs seen, by digest */
  blobGets: Map<string, number>
  stop(): Promise<void>
}

export interface Faults {
  /** flip one byte in the middle of this blob, every time */
  flip?: string
  /** cut the connection after half of this blob, the first `times` times */
  drop?: {digest: string; times: number}
  /** answer blob GETs with a redirect to this origin (a "storage host") */
  redirectTo?: string
}

/** An HTTP proxy in front of a plain-HTTP registry that corrupts, drops or redirects blob downloads. */
export async function startFaultProxy(upstream: string, faults: Faults): Promise<FaultProxy> {
  const blobGets = new Map<string, number>()
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const m = /\/blobs\/(sha256:[0-9a-f]{64})$/.exec((req.url ?? '').split('?')[0] ?? '')
    const digest = req.method === 'GET' ? m?.[1] : undefined
    if (digest) blobGets.set(digest, (blobGets.get(digest) ?? 0) + 1)
    if (digest && faults.redirectTo) {
      res.writeHead(307, {location: `${faults.redirectTo}${req.url}`}).end()
      return
    }
    const up = httpRequest(`http://${upstream}${req.url}`, {method: req.method, headers: {...req.headers, host: upstream}}, (ur) => {
      const headers = {...ur.headers}
      const dropping = digest && faults.drop?.digest === digest && (blobGets.get(digest) ?? 0) <= faults.drop.times
      const flipping = digest && faults.flip === digest
      if (!dropping && !flipping) {
        res.writeHead(ur.statusCode ?? 502, headers)
        ur.pipe(res)
        return
      }
      const size = Number(ur.headers['content-length'] ?? 0)
      res.writeHead(ur.statusCode ?? 502, headers)
      let seen = 0
      ur.on('data', (chunk: Buffer) => {
        const start = seen
        seen += chunk.length
        const mid = Math.floor(size / 2)
        if (dropping && seen >= mid) {
          res.write(chunk.subarray(0, mid - start))
          res.socket?.destroy()
          ur.destroy()
          return
        }
        if (flipping && start <= mid && mid < seen) {
          const copy = Buffer.from(chunk)
          copy[mid - start] = (copy[mid - start] as number) ^ 0xff
          res.write(copy)
          return
        }
        res.write(chunk)
      })
      ur.on('end', () => res.end())
    })
    up.on('error', () => res.destroy())
    req.pipe(up)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as {port: number}).port
  const stop = () =>
    new Promise<void>((r) => {
      server.closeAllConnections()
      server.close(() => r())
    })
  onCleanup(stop)
  return {host: `127.0.0.1:${port}`, blobGets, stop}
}

/**
 * A "storage host" on another origin, as S3 behind a registry's redirect: it serves blobs straight
 * from the registry's filesystem and records any Authorization header that reached it.
 */
export async function startStorageHost(registryDir: string): Promise<{origin: string; sawAuthorization: string[]; stop(): Promise<void>}> {
  const sawAuthorization: string[] = []
  const server = createServer((req, res) => {
    if (req.headers.authorization) sawAuthorization.push(req.headers.authorization)
    const hex = /sha256:([0-9a-f]{64})/.exec(req.url ?? '')?.[1] ?? ''
    const file = join(registryDir, 'data', 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data')
    readFile(file).then(
      (data) => res.writeHead(200, {'content-length': data.length, 'content-type': 'application/octet-stream'}).end(data),
      () => res.writeHead(404).end(),
    )
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as {port: number}).port
  const stop = () =>
    new Promise<void>((r) => {
      server.closeAllConnections()
      server.close(() => r())
    })
  onCleanup(stop)
  return {origin: `http://127.0.0.1:${port}`, sawAuthorization, stop}
}
