/*
 * Both sides of the gap in one run, through the built CLI only, with the real parts: a vendor registry
 * (TLS, basic auth) holding multi-arch images with shared layers, a release CA and a signer certificate
 * chaining to it, the Wallaroo spec from bundles/ with its .airgap and kotsadm archives, parts on
 * removable media, VERIFY.txt run as printed, a site registry read back with skopeo, and the target
 * cluster as a snapshot of a live API server and as a kubectl dump. Every step's --json is checked.
 */
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import {copyFile, mkdir, readdir, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'
import {create as createTar} from 'tar'
import {parse as parseYaml, stringify as stringifyYaml} from 'yaml'

import {makeTempDir, runCli, type CliResult} from '../support/cli.js'
import {fakeKubectl, loadFixture, makePki as makeKubePki, startKubeApi, writeKubeconfig, type KubeApi} from '../support/kube-api.js'
import {issueWithOpenssl} from '../support/openssl-ca.js'
import {BIN, REPO_ROOT} from '../support/paths.js'
import {step} from '../support/steps.js'
import {
  inspectDigest,
  makeImage,
  makeIndex,
  makeLayer,
  makePki,
  seed,
  seededBytes,
  skopeo,
  skopeoCertDir,
  startRegistry,
  writeLayout,
  type Registry,
  type TestImage,
} from '../support/registry.js'
import {appConfigYaml, writeAirgap} from '../kots/fixtures.js'

const USER = 'vendor'
const PASSWORD = 'vendor-pull-secret'
const DOMAIN = 'wallaroo.example.com'
const ROOT = 'wallaroo-2025.1.0'
const KUBE_TOKEN = 'sha256~e2eTokenForTheSiteCluster0123456789abcdef'

/** `sh -c SCRIPT` with arguments, for what a person types with a pipe; never blocks the event loop. */
function sh(script: string, args: string[], options: {cwd?: string; env?: NodeJS.ProcessEnv} = {}): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', script, 'sh', ...args], {cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    child.once('error', reject)
    child.once('close', (code) => resolve({code: code ?? -1, stdout, stderr}))
  })
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex')
const sha256File = async (path: string) => sha256(await readFile(path))
const ok = (r: CliResult, what: string) => assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`)

describe('both sides of the gap, end to end (built CLI, real registries, CA, parts, VERIFY.txt, cluster)', function () {
  this.timeout(120_000)
  // each step uses what the one before made: stop at the first failure instead of reporting its echoes
  this.bail(true)

  let dir: string
  let vendor: Registry
  let site: Registry
  let app1: TestImage
  let app2: TestImage
  let tool: {amd64: TestImage; arm64: TestImage; index: string}
  let buildEnv: NodeJS.ProcessEnv
  let vendorCa: string
  /** folders the registry helpers made for this file; removed here, not by cleanupAll, which would also stop registries other test files share */
  const helperDirs: string[] = []
  let airgap: string
  let kotsadm: string
  let ca: {cert: string; key: string}
  let signerCert: string
  let signerKey: string
  let bundle: string
  let split: {sha256: string; index: string; parts: {path: string; size: number; sha256: string}[]}
  let media: string
  let isolated: string
  let siteBundle: string
  let clusterEnv: NodeJS.ProcessEnv
  const apis: KubeApi[] = []
  /** the connected side's last step, which the isolated side starts from */
  let stepSplit: () => Promise<void>

  const imageRefs = () => ({
    app1: `${vendor.host}/wallaroo/app1:1.0`,
    app2: `${vendor.host}/wallaroo/app2:1.0`,
    tool: `${vendor.host}/tools/tool:2.0`,
    toolArm: `${vendor.host}/tools/tool@${tool.index}`,
  })

  before(async () => {
    dir = await makeTempDir()
    const pki = await makePki()
    vendorCa = pki.caCert
    helperDirs.push(pki.dir)
    ;[vendor, site] = await Promise.all([startRegistry({tls: pki, htpasswd: {user: USER, password: PASSWORD}}), startRegistry()])
    helperDirs.push(vendor.dir, site.dir)

    // Two application images sharing two base layers, and a tool as a two-platform index that shares one.
    const base1 = makeLayer('e2e-base-1', 300_000)
    const base2 = makeLayer('e2e-base-2', 120_000)
    app1 = makeImage([base1, base2, makeLayer('e2e-app-1', 50_000)], {os: 'linux', architecture: 'amd64'}, 'app1')
    app2 = makeImage([base1, base2, makeLayer('e2e-app-2', 70_000)], {os: 'linux', architecture: 'amd64'}, 'app2')
    const amd64 = makeImage([base1, makeLayer('e2e-tool-amd64', 40_000)], {os: 'linux', architecture: 'amd64'}, 'tool')
    const arm64 = makeImage([makeLayer('e2e-tool-arm64', 45_000)], {os: 'linux', architecture: 'arm64', variant: 'v8'}, 'tool')
    const index = makeIndex([amd64, arm64])
    tool = {amd64, arm64, index: index.digest}
    const layout = join(dir, 'layout')
    await writeLayout(layout, [
      {tag: 'app1', image: app1},
      {tag: 'app2', image: app2},
      {tag: 'tool', index: {blob: index, images: [amd64, arm64]}},
    ])
    const certDir = await skopeoCertDir(pki)
    helperDirs.push(certDir)
    const auth = {creds: `${USER}:${PASSWORD}`, certDir}
    const refs = imageRefs()
    await Promise.all([seed(layout, 'app1', refs.app1, auth), seed(layout, 'app2', refs.app2, auth), seed(layout, 'tool', refs.tool, auth)])

    const authFile = join(dir, 'auth.json')
    await writeFile(authFile, JSON.stringify({auths: {[vendor.host]: {auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}}}))
    buildEnv = {REGISTRY_AUTH_FILE: authFile, XDG_RUNTIME_DIR: '/nonexistent', DOCKER_CONFIG: '/nonexistent'}

    // What the vendor portal hands out: the application's .airgap (with its KOTS Config) and kotsadm.tar.gz.
    const downloads = join(dir, 'downloads')
    await mkdir(join(downloads, 'kotsadm-stage', 'images'), {recursive: true})
    airgap = await writeAirgap(downloads, appConfigYaml(), 'wallaroo-2025.1.airgap')
    await writeFile(join(downloads, 'kotsadm-stage', 'images', 'kotsadm.tar'), seededBytes('e2e-kotsadm', 200_000))
    kotsadm = join(downloads, 'kotsadm.tar.gz')
    await createTar({gzip: true, cwd: join(downloads, 'kotsadm-stage'), file: kotsadm}, ['images'])

    const bin = await fakeKubectl(dir, 'v1.31.4')
    clusterEnv = {PATH: `${bin}:${process.env.PATH ?? ''}`, KUBECONFIG: join(dir, 'no-kubeconfig')}
  })

  after(async () => {
    await Promise.all([...apis.map((a) => a.close()), vendor?.stop(), site?.stop()])
    await Promise.all([dir, ...helperDirs].filter(Boolean).map((d) => rm(d, {recursive: true, force: true})))
  })

  describe('connected side', () => {
    const stepRelease = step(async () => {
      const caDir = join(dir, 'release-ca')
      const made = await runCli(['certs', 'ca', '--name', 'Acme Release CA', '--key-type', 'ecdsa-p256', '--out', caDir, '--json'])
      ok(made, 'certs ca')
      ca = {cert: made.json.cert, key: made.json.key}
      assert.equal((await stat(ca.key)).mode & 0o777, 0o600)
      assert.equal(made.json.keyEncrypted, false)

      const keys = await runCli(['keys', 'generate', '--out', join(dir, 'keys', 'release'), '--json'])
      ok(keys, 'keys generate')
      signerKey = keys.json.privateKey
      assert.equal((await stat(signerKey)).mode & 0o777, 0o600)
      // a signing certificate (digitalSignature), as the site's own PKI would issue it with openssl
      signerCert = await issueWithOpenssl(join(dir, 'keys'), {caCert: ca.cert, caKey: ca.key}, signerKey, 'release', {subject: '/CN=Acme Release Signing'})

      // certs inspect reviews it as a server certificate (so its verdict fails on the missing SAN), but the chain must hold
      const review = await runCli(['certs', 'inspect', signerCert, '--ca', ca.cert, '--json'])
      const chain = review.json.findings.find((f: {check: string}) => f.check === 'chain')
      assert.equal(chain.severity, 'ok', JSON.stringify(chain))
    })
    it('makes a release CA with certs ca, a signing key with keys generate, and a signer certificate chaining to the CA', () => stepRelease())

    const stepBuild = step(async () => {
      await stepRelease()
      // The shipped spec, with this run's vendor images added (the real one lists none: the .airgap carries them).
      const spec = parseYaml(await readFile(join(REPO_ROOT, 'bundles', 'wallaroo-2025.1.yaml'), 'utf8'))
      const refs = imageRefs()
      spec.spec.images = [refs.app1, refs.app2, {ref: refs.tool, platforms: ['all']}, {ref: refs.toolArm, platforms: ['linux/arm64']}]
      const connected = join(dir, 'connected')
      await mkdir(connected)
      const specPath = join(connected, 'wallaroo-2025.1.yaml')
      await writeFile(specPath, stringifyYaml(spec))
      // out/ does not exist yet: build makes it, as a person's first build in a fresh folder needs
      bundle = join(connected, 'out', `${ROOT}.tar`)

      const r = await runCli(
        [
          'bundle', 'build', specPath, '--key', signerKey, '--cert', signerCert, '--out', bundle,
          '--set', `files.app=${airgap}`, '--set', `files.kotsadm=${kotsadm}`, '--set', `kots.appConfig=${airgap}`,
          '--registry-ca', vendorCa, '--json',
        ],
        {env: buildEnv},
      )
      ok(r, 'bundle build')
      assert.equal(r.json.root, ROOT)
      assert.match(r.json.signer.subject, /Acme Release Signing/)
      assert.deepEqual(
        r.json.images.map((i: {digest: string}) => i.digest).slice(0, 3),
        [app1.manifest.digest, app2.manifest.digest, tool.index],
      )
      assert.equal(r.json.images.length, 4)
      const files = new Map<string, {sha256: string; role: string}>(r.json.files.map((f: {path: string; sha256: string; role: string}) => [f.path, f]))
      assert.equal(files.get('files/wallaroo.airgap')?.sha256, await sha256File(airgap))
      assert.equal(files.get('files/kotsadm.tar.gz')?.sha256, await sha256File(kotsadm))
      for (const path of ['kots/config-values.yaml', `tls/${DOMAIN}.csr`, 'tls/REVIEW.md', 'manifests/namespace.yaml', 'manifests/storageclass.yaml', 'manifests/nodepools.sh', 'requirements.yaml', 'VERIFY.txt']) {
        assert.ok(files.has(path), `${path} is in the bundle`)
      }
      // the TLS private key is written beside the bundle, never into it
      assert.ok(![...files.keys()].some((p) => p.endsWith('.key')))
      assert.equal((await stat(join(dirname(bundle), `${DOMAIN}.key`))).mode & 0o777, 0o600)

      const inspect = await runCli(['bundle', 'inspect', bundle, '--json'])
      ok(inspect, 'bundle inspect')
      assert.equal(inspect.json.profile.name, 'wallaroo-2025.1')
      assert.equal(inspect.json.extensions.kots.tier, 16)
      assert.equal(inspect.json.extensions.kots.edition, 'enterprise')
      assert.match(inspect.json.extensions.kots.checkedAgainst, /wallaroo-2025\.1\.airgap/)
      assert.ok(inspect.json.extensions.kots.services.every((s: {enabled: boolean}) => s.enabled), 'the 16-core tier runs every service')
    })
    it('builds the Wallaroo bundle: images, kots, TLS, manifests and the two archives, signed with the certificate', () => stepBuild())

    stepSplit = step(async () => {
      await stepBuild()
      const r = await runCli(['bundle', 'split', bundle, '--size', '300K', '--json'])
      ok(r, 'bundle split')
      split = r.json
      assert.ok(split.parts.length >= 3, `${split.parts.length} parts`)
      assert.equal(split.sha256, await sha256File(bundle))
      for (const p of split.parts) assert.ok(p.size <= 300 * 1024)
      // what crosses the gap: the parts and their index, and the CA certificate (out of band)
      media = join(dir, 'media')
      await mkdir(media)
      for (const p of [...split.parts.map((x) => x.path), split.index]) await copyFile(p, join(media, basename(p)))
    })
    it('splits the bundle into parts for removable media', () => stepSplit())
  })

  describe('isolated side', () => {
    const part = (i: number) => join(media, basename(split.parts[i]?.path ?? ''))

    const stepVerifyParts = step(async () => {
      await stepSplit()
      for (const input of [part(0), join(media, basename(split.index))]) {
        const r = await runCli(['bundle', 'verify', input, '--trust', ca.cert, '--json'])
        ok(r, `bundle verify ${input}`)
        assert.equal(r.json.verified, true)
        assert.equal(r.json.root, ROOT)
        assert.equal(r.json.signer.trustedBy, 'ca')
        assert.match(r.json.signer.subject, /Acme Release Signing/)
        assert.equal(r.json.images, 4)
      }
      const parts = split.parts.map((_, i) => part(i))
      const piped = await sh(`cat "$@" | "${process.execPath}" "${BIN}" bundle verify - --trust "${ca.cert}" --json`, parts)
      assert.equal(piped.code, 0, piped.stderr + piped.stdout)
      assert.equal(JSON.parse(piped.stdout).root, ROOT)
    })
    it('verifies from the first part, from the index, and from `cat parts | verify -`, trusting the CA', () => stepVerifyParts())

    const stepDamaged = step(async () => {
      await stepSplit()
      const damaged = join(dir, 'damaged-media')
      await mkdir(damaged)
      for (const f of await readdir(media)) await copyFile(join(media, f), join(damaged, f))
      const victim = join(damaged, basename(split.parts[1]?.path ?? ''))
      const bytes = await readFile(victim)
      const mid = bytes.length >> 1
      bytes[mid] = (bytes[mid] as number) ^ 0xff
      await writeFile(victim, bytes)
      const r = await runCli(['bundle', 'verify', join(damaged, basename(split.index)), '--trust', ca.cert, '--json'])
      assert.equal(r.code, 3, r.stdout + r.stderr)
      assert.equal(r.json.error.code, 'DIGEST_MISMATCH')
      assert.equal(r.json.error.subject, victim)

      const other = await runCli(['certs', 'ca', '--name', 'Some Other CA', '--key-type', 'ecdsa-p256', '--out', join(dir, 'other-ca'), '--json'])
      ok(other, 'certs ca (other)')
      const untrusted = await runCli(['bundle', 'verify', part(0), '--trust', other.json.cert, '--json'])
      assert.equal(untrusted.code, 3, untrusted.stdout + untrusted.stderr)
      assert.equal(untrusted.json.error.code, 'SIGNER_UNTRUSTED')
      assert.equal(untrusted.json.error.subject, `${ROOT}/signer.pem`)
    })
    it('refuses a damaged part, naming it (exit 3), and a signer that chains to another CA (exit 3)', () => stepDamaged())

    const stepRejoin = step(async () => {
      await stepSplit()
      isolated = join(dir, 'isolated')
      await mkdir(isolated)
      siteBundle = join(isolated, `${ROOT}.tar`)
      const joined = await sh('cat "$@" > "$OUT"', split.parts.map((_, i) => part(i)), {env: {...process.env, OUT: siteBundle}})
      assert.equal(joined.code, 0, joined.stderr)
      assert.equal(await sha256File(siteBundle), split.sha256)

      const printed = await sh('tar -xOf "$1" "$2"', [siteBundle, `${ROOT}/VERIFY.txt`])
      assert.equal(printed.code, 0, printed.stderr)
      await copyFile(ca.cert, join(isolated, 'release-ca.crt'))
      const byHand = await sh(printed.stdout, [], {cwd: isolated, env: {PATH: process.env.PATH ?? '/usr/bin:/bin', TRUST_CA: 'release-ca.crt', TMPDIR: isolated}})
      assert.equal(byHand.code, 0, byHand.stdout + byHand.stderr)
      assert.match(byHand.stdout, /Verified OK/)
      assert.match(byHand.stdout, new RegExp(`bundle verified: ${ROOT}`))
      await rm(join(isolated, ROOT), {recursive: true, force: true})
    })
    it('rejoins the parts and verifies by hand with the commands in VERIFY.txt, run as printed with TRUST_CA', () => stepRejoin())

    const stepExtract = step(async () => {
      await stepRejoin()
      const to = join(isolated, 'wallaroo')
      const r = await runCli(['bundle', 'extract', siteBundle, '--to', to, '--trust', ca.cert, '--json'])
      ok(r, 'bundle extract')
      assert.equal(r.json.verified, true)
      assert.ok(r.json.files > 10)
      assert.equal(await sha256File(join(to, 'files', 'wallaroo.airgap')), await sha256File(airgap))
      assert.equal(await sha256File(join(to, 'files', 'kotsadm.tar.gz')), await sha256File(kotsadm))
      // run as the walkthrough prints it, `sh manifests/nodepools.sh`: it must at least parse
      const script = await sh('sh -n "$1"', [join(to, 'manifests', 'nodepools.sh')])
      assert.equal(script.code, 0, script.stderr)

      const values = parseYaml(await readFile(join(to, 'kots', 'config-values.yaml'), 'utf8'))
      assert.equal(values.kind, 'ConfigValues')
      assert.equal(values.spec.values.wallaroo_domain.value, DOMAIN)
      assert.equal(values.spec.values.enable_plateau.value, '1')
      assert.equal(values.spec.values.jupyter_mode.value, 'multiple')

      const csr = await sh('openssl req -in "$1" -verify -noout -subject', [join(to, 'tls', `${DOMAIN}.csr`)])
      assert.equal(csr.code, 0, csr.stderr)
      assert.match(csr.stdout, new RegExp(`CN ?= ?${DOMAIN.replaceAll('.', '\\.')}`))

      const sc = parseYaml(await readFile(join(to, 'manifests', 'storageclass.yaml'), 'utf8'))
      assert.equal(sc.metadata.name, 'wallaroo-standard')
      assert.equal(sc.provisioner, 'ebs.csi.aws.com')

      const raw = await skopeo(['inspect', '--raw', `oci:${join(to, 'images')}:${imageRefs().app2}`])
      assert.equal(`sha256:${sha256(Buffer.from(raw))}`, app2.manifest.digest)
    })
    it('extracts: the archives, ConfigValues, CSR, manifests and an OCI layout skopeo reads', () => stepExtract())

    const stepCsr = step(async () => {
      await stepExtract()
      const siteCa = await runCli(['certs', 'ca', '--name', 'Acme Site CA', '--out', join(dir, 'site-ca'), '--json'])
      ok(siteCa, 'certs ca (site)')
      const issued = await runCli(['certs', 'issue', '--ca-cert', siteCa.json.cert, '--ca-key', siteCa.json.key, '--csr', join(isolated, 'wallaroo', 'tls', `${DOMAIN}.csr`), '--out', join(isolated, 'tls'), '--json'])
      ok(issued, 'certs issue')
      assert.equal(issued.json.domain, DOMAIN)
      assert.ok(issued.json.sans.dns.includes(DOMAIN), JSON.stringify(issued.json.sans))
      const key = join(dirname(bundle), `${DOMAIN}.key`)
      const review = await runCli(['certs', 'inspect', issued.json.fullchain, key, '--domain', DOMAIN, '--ca', siteCa.json.cert, '--json'])
      ok(review, 'certs inspect')
      assert.notEqual(review.json.verdict, 'fail')
      const severity = (check: string) => review.json.findings.find((f: {check: string}) => f.check === check)?.severity
      assert.equal(severity('key-match'), 'ok')
      assert.equal(severity('chain'), 'ok')
      assert.equal(severity('domain'), 'ok')
    })
    it('the CSR from the bundle, signed by the site CA, gives a certificate that passes review with the key kept beside the bundle', () => stepCsr())

    const stepPush = step(async () => {
      await stepRejoin()
      const r = await runCli(['images', 'push', siteBundle, '--registry', `${site.host}/platform`, '--insecure-registry', site.host, '--trust', ca.cert, '--json'])
      ok(r, 'images push')
      assert.equal(r.json.verified, true)
      assert.ok(r.json.blobs.mounted >= 2, 'shared base layers are mounted, not uploaded again')
      const pushed = r.json.images as {source: string; destination: string; digest: string; sourceDigest: string; digestChanged: boolean}[]
      assert.equal(pushed.length, 4)
      const expected = [app1.manifest.digest, app2.manifest.digest, tool.index]
      for (const [i, digest] of expected.entries()) {
        const image = pushed[i]!
        assert.equal(image.digest, digest)
        assert.ok(image.destination.startsWith(`${site.host}/platform/`), image.destination)
        const ref = image.destination.replace(/@sha256:[0-9a-f]{64}$/, '')
        assert.equal(await inspectDigest(ref), digest, ref)
      }
      const narrowed = pushed[3]!
      assert.equal(narrowed.digestChanged, true)
      assert.equal(narrowed.sourceDigest, tool.index)
      assert.equal(await inspectDigest(narrowed.destination), narrowed.digest)

      // every blob of every platform comes back out, checked by skopeo against its digest
      const pulled = join(dir, 'pulled')
      await skopeo(['copy', '--all', '--quiet', '--src-tls-verify=false', `docker://${site.host}/platform/tools/tool:2.0`, `oci:${pulled}:tool`])
      const blobs = new Set(await readdir(join(pulled, 'blobs', 'sha256')))
      for (const b of [tool.amd64, tool.arm64].flatMap((img) => [img.manifest, img.config, ...img.layers])) {
        assert.ok(blobs.has(b.digest.slice(7)), `${b.digest} pulled`)
        assert.equal(await sha256File(join(pulled, 'blobs', 'sha256', b.digest.slice(7))), b.digest.slice(7))
      }
    })
    it('pushes every image into the site registry; skopeo reads each back with the expected digest', () => stepPush())

    const stepCluster = step(async () => {
      await stepRejoin()
      const pki = makeKubePki()
      const api = await startKubeApi(loadFixture('eks'), {pki, token: KUBE_TOKEN})
      apis.push(api)
      const kubeconfig = await writeKubeconfig(join(isolated, 'site.kubeconfig'), {server: api.url, caPem: pki.caPem, token: KUBE_TOKEN})
      const snapshot = join(isolated, 'cluster.json')
      const snap = await runCli(['cluster', 'snapshot', '--kubeconfig', kubeconfig, '--out', snapshot, '--json'], {env: clusterEnv})
      ok(snap, 'cluster snapshot')
      assert.equal(snap.json.distribution.id, 'eks')

      const pass = await runCli(['cluster', 'verify', '--bundle', siteBundle, '--trust', ca.cert, '--from', snapshot, '--json'], {env: clusterEnv})
      // nothing fails; DNS is resolved only live, so from a snapshot the verdict is incomplete (exit 5)
      assert.equal(pass.code, 5, `cluster verify (passing): ${pass.stdout}\n${pass.stderr}`)
      assert.equal(pass.json.verdict, 'incomplete')
      assert.deepEqual(pass.json.checks.filter((c: {status: string; severity: string}) => c.status === 'unchecked' && c.severity === 'fail').map((c: {id: string}) => c.id), ['dns.platform'])
      assert.equal(pass.json.profile.source, `${ROOT}/requirements.yaml`)
      assert.equal(pass.json.summary.fail, 0)
      const status = (r: CliResult, id: string) => r.json.checks.find((c: {id: string}) => c.id === id)?.status
      assert.equal(status(pass, 'services.cores'), 'pass')
      assert.equal(status(pass, 'rbac.installer'), 'pass')

      const small = loadFixture('eks')
      for (const n of small.nodes.items) {
        n.status.capacity.cpu = '2'
        n.status.allocatable.cpu = '1930m'
      }
      const dump = join(isolated, 'small-cluster.json')
      await writeFile(dump, JSON.stringify({apiVersion: 'v1', kind: 'List', items: [...small.nodes.items, ...small.namespaces.items, ...small.storageclasses.items]}))
      const fail = await runCli(['cluster', 'verify', '--bundle', siteBundle, '--trust', ca.cert, '--from', dump, '--json'], {env: clusterEnv})
      assert.equal(fail.code, 1, fail.stdout + fail.stderr)
      assert.equal(fail.json.ok, false)
      const failed = fail.json.checks.filter((c: {status: string}) => c.status === 'fail').map((c: {id: string}) => c.id)
      assert.deepEqual(failed, ['services.cores'])
      const check = fail.json.checks.find((c: {id: string}) => c.id === 'services.cores')
      assert.match(check.observed, /Plateau/)
      assert.ok(check.hint)
      assert.equal(status(fail, 'cpu.total'), 'warn')
    })
    it('cluster verify --bundle: a snapshot of a 16-core EKS cluster passes; a dump of the same cluster on 2-core nodes fails', () => stepCluster())
  })
})
