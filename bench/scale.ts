/*
 * The scale benchmark (issue 19): many images with many layers in a local docker-registry, and every
 * airlock image path measured side by side with the reference tools in one run, whole processes
 * under /usr/bin/time (wall seconds, peak RSS, CPU):
 *   bundle build   vs  skopeo copy --all per image into one OCI layout + tar cf + sha256sum
 *                      (and skopeo sync --src yaml --dest dir + tar cf + sha256sum)
 *   bundle verify  vs  openssl dgst -sha256 of the same bundle (both including start-up)
 *   bundle extract vs  tar xf (no target; the growth report watches it)
 *   images push    vs  skopeo copy --all per image from the bundle's layout, unpacked
 *                      (and skopeo sync --src dir --dest docker from the sync folder)
 *   images serve   vs  docker-registry holding the same images, both pulled by skopeo copy --all
 * then prints each ratio against the issue's targets with a met / not met line.
 *
 *   npm run bench:scale -- --gb 4 --images 60      (or: node --import tsx bench/scale.ts --gb 4)
 *   npm run bench:scale -- --sweep --gb 4          time and peak RSS from gb/4 to gb, and 10 to 600 blobs
 * Options: --runs N (best of N, default 1), --no-sync (skip the skopeo sync references),
 * --concurrency N (passed to build and push). Everything it makes is under one temp folder, removed
 * at the end (also on failure or Ctrl-C).
 */
import {execFile, spawn} from 'node:child_process'
import {mkdir, readdir, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {cpus, loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {makeKeys} from '../test/support/bundles.js'
import {BIN} from '../test/support/paths.js'
import {cleanupAll, onCleanup, startRegistry, tempDir, type Registry} from '../test/support/registry.js'
import {airlockCommand, measure, type Sample} from './measure.js'
import {checkSeeded, seedRegistry, writeScaleLayout, type Seeded} from './scale-seed.js'

const run = promisify(execFile)
const GB = 1024 ** 3
const MB = 1024 ** 2
// skopeo must not pick up the host's credentials
const SKOPEO_ENV = {REGISTRY_AUTH_FILE: join(tmpdir(), 'airlock-no-such-auth.json')}

interface Args {
  gb: number
  images: number
  runs: number
  sync: boolean
  sweep: boolean
  concurrency?: number
}

function parseArgs(argv: string[]): Args {
  const a: Args = {gb: 4, images: 60, runs: 1, sync: true, sweep: false}
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]
    const v = () => {
      const n = Number(argv[++i])
      if (!Number.isFinite(n) || n <= 0) throw new Error(`${k} needs a positive number`)
      return n
    }
    if (k === '--gb') a.gb = v()
    else if (k === '--images') a.images = Math.round(v())
    else if (k === '--runs') a.runs = Math.round(v())
    else if (k === '--concurrency') a.concurrency = Math.round(v())
    else if (k === '--no-sync') a.sync = false
    else if (k === '--sweep') a.sweep = true
    else throw new Error(`unknown option ${k} (see the comment at the top of bench/scale.ts)`)
  }
  return a
}

// ---- measuring ----

const ZERO: Sample = {seconds: 0, rssMb: 0, cpuSeconds: 0}

/** Sums a sequence of processes (per-image loops): seconds and CPU add up, peak RSS is the largest. */
function add(a: Sample, b: Sample): Sample {
  return {seconds: a.seconds + b.seconds, rssMb: Math.max(a.rssMb, b.rssMb), cpuSeconds: a.cpuSeconds + b.cpuSeconds}
}

const once = measure

/** Best of `runs` (the machine is shared: the least disturbed run), `between` undoing each run. */
async function best(runs: number, fn: () => Promise<Sample>, between?: () => Promise<void>): Promise<Sample> {
  let result: Sample | undefined
  for (let i = 0; i < runs; i++) {
    const s = await fn()
    if (!result || s.seconds < result.seconds) result = {...s, rssMb: Math.max(s.rssMb, result?.rssMb ?? 0)}
    else result.rssMb = Math.max(result.rssMb, s.rssMb)
    if (between) await between()
  }
  return result as Sample
}

const [airlockBin, airlockPre] = airlockCommand(BIN)
const airlock = (args: string[]) => once(airlockBin, [...airlockPre, ...args])
const skopeo = (args: string[]) => once('skopeo', args, SKOPEO_ENV)

// ---- the steps ----

interface Env {
  args: Args
  work: string
  seeded: Seeded
  registry: Registry
  keys: {key: string; pub: string}
  spec: string
  bundle: string
}

function refOf(e: Env, i: number): string {
  const img = e.seeded.images[i]
  if (!img) throw new Error(`no image ${i}`)
  return `${img.repo}:${img.tag}`
}

async function prepare(args: Args, gb: number, images: number): Promise<Env> {
  const work = await tempDir('bench-scale')
  const seeded = await writeScaleLayout({dir: join(work, 'layout'), images, totalBytes: Math.round(gb * GB)})
  const registry = await seedRegistry(seeded)
  await checkSeeded(registry, seeded)
  const keys = await makeKeys(work)
  const spec = join(work, 'spec.yaml')
  const lines = seeded.images.map((img) => (img.multiArch ? `    - {ref: ${registry.host}/${img.repo}:${img.tag}, platforms: [all]}` : `    - ${registry.host}/${img.repo}:${img.tag}`))
  await writeFile(spec, `apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: scale, version: 1.0.0}\nspec:\n  images:\n${lines.join('\n')}\n`)
  return {args, work, seeded, registry, keys, spec, bundle: join(work, 'bundle.tar')}
}

const concurrency = (e: Env) => (e.args.concurrency ? ['--concurrency', String(e.args.concurrency)] : [])

async function build(e: Env): Promise<Sample> {
  // the last bundle stays: the later steps read it (build replaces an existing --out)
  return best(e.args.runs, () => airlock(['bundle', 'build', e.spec, '--key', e.keys.key, '--out', e.bundle, '--insecure-registry', e.registry.host, '--quiet', ...concurrency(e)]))
}

/** skopeo copy --all of every image into one OCI layout (shared blobs stored once), tar cf, sha256sum. */
async function buildReference(e: Env): Promise<Sample> {
  const layout = join(e.work, 'ref-layout')
  const tarFile = join(e.work, 'ref.tar')
  return best(e.args.runs, async () => {
    let s = ZERO
    for (const [i] of e.seeded.images.entries()) {
      s = add(s, await skopeo(['copy', '--all', '--quiet', '--src-tls-verify=false', `docker://${e.registry.host}/${refOf(e, i)}`, `oci:${layout}:app-${i}`]))
    }
    s = add(s, await once('tar', ['cf', tarFile, '-C', e.work, 'ref-layout']))
    return add(s, await once('sha256sum', [tarFile]))
  }, () => rmAll(layout, tarFile))
}

/** skopeo sync of every image (a yaml source list) into a dir: folder, tar cf, sha256sum; the folder stays for the push reference. */
async function buildSyncReference(e: Env): Promise<Sample> {
  const dir = join(e.work, 'sync-dir')
  const list = join(e.work, 'sync.yaml')
  const tarFile = join(e.work, 'sync.tar')
  await writeFile(list, `${e.registry.host}:\n  tls-verify: false\n  images:\n${e.seeded.images.map((img) => `    ${img.repo}: ["${img.tag}"]`).join('\n')}\n`)
  return best(e.args.runs, async () => {
    await rmAll(dir)
    let s = await skopeo(['sync', '--all', '--src', 'yaml', '--dest', 'dir', list, dir])
    s = add(s, await once('tar', ['cf', tarFile, '-C', e.work, 'sync-dir']))
    return add(s, await once('sha256sum', [tarFile]))
  }, () => rmAll(tarFile))
}

async function verify(e: Env): Promise<{air: Sample; ossl: Sample}> {
  await once('cat', [e.bundle]) // the page cache holds the bundle for both alike
  const ossl = await best(e.args.runs, () => once('openssl', ['dgst', '-sha256', e.bundle]))
  const air = await best(e.args.runs, () => airlock(['bundle', 'verify', e.bundle, '--trust', e.keys.pub, '--quiet']))
  return {air, ossl}
}

async function extract(e: Env): Promise<{air: Sample; tar: Sample}> {
  const to = join(e.work, 'extract')
  const air = await best(e.args.runs, () => airlock(['bundle', 'extract', e.bundle, '--to', to, '--trust', e.keys.pub, '--quiet']), () => rmAll(to))
  const tar = await best(e.args.runs, async () => {
    await mkdir(to, {recursive: true})
    return once('tar', ['xf', e.bundle, '-C', to])
  }, () => rmAll(to))
  return {air, tar}
}

/** A fresh registry per run, so nothing is already there. */
async function freshRegistry(): Promise<Registry> {
  return startRegistry()
}

async function pushAirlock(e: Env, verifyToo: boolean): Promise<Sample> {
  return best(e.args.runs, async () => {
    const dest = await freshRegistry()
    try {
      return await airlock(['images', 'push', e.bundle, '--registry', dest.host, '--insecure-registry', dest.host, '--quiet', ...(verifyToo ? ['--trust', e.keys.pub] : ['--no-verify']), ...concurrency(e)])
    } finally {
      await stopAndRemove(dest)
    }
  })
}

/** skopeo copy --all per image from the bundle's OCI layout (unpacked first, untimed: skopeo cannot read a tar). */
async function pushReference(e: Env): Promise<Sample> {
  const x = join(e.work, 'push-src')
  await mkdir(x, {recursive: true})
  await run('tar', ['xf', e.bundle, '-C', x])
  const layout = await findLayout(x)
  const names = (JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {manifests: {annotations?: Record<string, string>}[]}).manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name'] ?? '')
  try {
    return await best(e.args.runs, async () => {
      const dest = await freshRegistry()
      try {
        let s = ZERO
        for (const name of names) {
          const path = name.slice(name.indexOf('/') + 1) // bench/app-NNN:1.0 under the new host
          s = add(s, await skopeo(['copy', '--all', '--quiet', '--dest-tls-verify=false', `oci:${layout}:${name}`, `docker://${dest.host}/${path}`]))
        }
        return s
      } finally {
        await stopAndRemove(dest)
      }
    })
  } finally {
    await rmAll(x)
  }
}

async function findLayout(root: string): Promise<string> {
  for (const top of await readdir(root)) {
    const candidate = join(root, top, 'images')
    if (await stat(join(candidate, 'index.json')).then(() => true, () => false)) return candidate
  }
  throw new Error(`no images/index.json under ${root}`)
}

async function pushSyncReference(e: Env): Promise<Sample> {
  const dir = join(e.work, 'sync-dir')
  return best(e.args.runs, async () => {
    const dest = await freshRegistry()
    try {
      return await skopeo(['sync', '--all', '--src', 'dir', '--dest', 'docker', '--dest-tls-verify=false', dir, `${dest.host}/synced`])
    } finally {
      await stopAndRemove(dest)
    }
  })
}

/**
 * Pulls every image with skopeo copy --all from both servers into two fresh OCI layouts, image by
 * image and alternating which server goes first, so that load on a shared machine hits both alike.
 */
async function pullBoth(e: Env, air: string, reg: string): Promise<{air: Sample; reg: Sample}> {
  const airLayout = join(e.work, 'pulled-air')
  const regLayout = join(e.work, 'pulled-reg')
  let a = ZERO
  let r = ZERO
  const pull = (host: string, layout: string, i: number) => skopeo(['copy', '--all', '--quiet', '--src-tls-verify=false', `docker://${host}/${refOf(e, i)}`, `oci:${layout}:app-${i}`])
  for (let run = 0; run < e.args.runs; run++) {
    let sa = ZERO
    let sr = ZERO
    for (const [i] of e.seeded.images.entries()) {
      if ((i + run) % 2 === 0) {
        sa = add(sa, await pull(air, airLayout, i))
        sr = add(sr, await pull(reg, regLayout, i))
      } else {
        sr = add(sr, await pull(reg, regLayout, i))
        sa = add(sa, await pull(air, airLayout, i))
      }
    }
    if (run === 0 || sa.seconds < a.seconds) a = sa
    if (run === 0 || sr.seconds < r.seconds) r = sr
    await rmAll(airLayout, regLayout)
  }
  return {air: a, reg: r}
}

/** user + system CPU seconds a running process has used so far (/proc/PID/stat fields 14 and 15). */
async function cpuOf(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).replace(/^.*\) /, '').split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

async function serve(e: Env): Promise<{air: Sample; reg: Sample; serverRssMb: number; serverCpu: number}> {
  const server = spawn(airlockBin, [...airlockPre, 'images', 'serve', e.bundle, '--trust', e.keys.pub, '--listen', '127.0.0.1:0', '--json'], {stdio: ['ignore', 'pipe', 'pipe']})
  const gone = new Promise((r) => server.once('exit', r))
  onCleanup(async () => {
    if (server.exitCode === null && server.signalCode === null) {
      server.kill('SIGTERM')
      await gone
    }
  })
  let err = ''
  server.stderr.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-2000)))
  const address = await new Promise<string>((resolve, reject) => {
    let out = ''
    server.stdout.on('data', (c: Buffer) => {
      out += c.toString()
      const m = /"address": "([^"]+)"/.exec(out)
      if (m) resolve(m[1] as string)
    })
    server.once('exit', (code) => reject(new Error(`images serve exited (${code}): ${err}`)))
  })
  const cpuBefore = await cpuOf(server.pid as number)
  const {air, reg} = await pullBoth(e, address, e.registry.host)
  const serverCpu = (await cpuOf(server.pid as number)) - cpuBefore
  const status = await readFile(`/proc/${server.pid}/status`, 'utf8')
  const serverRssMb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
  server.kill('SIGTERM')
  await gone
  return {air, reg, serverRssMb, serverCpu}
}

async function stopAndRemove(r: Registry): Promise<void> {
  await r.stop()
  await rmAll(r.dir)
}

async function rmAll(...paths: string[]): Promise<void> {
  for (const p of paths) await rm(p, {recursive: true, force: true})
}

// ---- output ----

const fmt = (s: Sample) => `${s.seconds.toFixed(2).padStart(8)} s ${s.rssMb.toFixed(0).padStart(5)} MB RSS ${s.cpuSeconds.toFixed(2).padStart(7)} s CPU`
const row = (label: string, s: Sample) => console.log(`  ${label.padEnd(52)} ${fmt(s)}`)

interface Target {
  what: string
  ratio: number
  limit: number
  unit?: string
}

function verdicts(targets: Target[]): void {
  console.log('targets (issue 19)')
  for (const t of targets) {
    const value = t.unit ? `${t.ratio.toFixed(0)} ${t.unit}` : `${t.ratio.toFixed(2)}x`
    const limit = t.unit ? `${t.limit} ${t.unit}` : `${t.limit.toFixed(1)}x`
    console.log(`  ${t.what.padEnd(52)} ${value.padStart(8)}  (target <= ${limit})  ${t.ratio <= t.limit ? 'met' : 'NOT MET'}`)
  }
}

async function versions(): Promise<string> {
  const v = async (cmd: string, args: string[]) => (await run(cmd, args).then((r) => `${r.stdout}${r.stderr}`, () => 'missing')).split('\n')[0]?.trim()
  return [
    `node ${process.version}`,
    await v('skopeo', ['--version']),
    await v('docker-registry', ['--version']),
    await v('openssl', ['version']),
    `tar ${(await v('tar', ['--version']))?.split(' ').at(-1)}`,
    `sha256sum ${(await v('sha256sum', ['--version']))?.split(' ').at(-1)}`,
  ].join(', ')
}

async function header(): Promise<void> {
  const cpu = cpus()
  console.log(`date ${new Date().toISOString()}, ${cpu.length} cores (${cpu[0]?.model.trim()}), load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
  console.log(await versions())
}

function describe(e: Env): string {
  const s = e.seeded
  const layers = s.images.flatMap((img) => img.layerCounts)
  return `${s.images.length} images (one a linux/amd64 + linux/arm64 index), ${Math.min(...layers)}-${Math.max(...layers)} layers each, ${s.distinctLayers} distinct layers + ${s.distinctBlobs - s.distinctLayers} configs, ${(s.totalBytes / GB).toFixed(2)} GiB of layers`
}

async function scale(args: Args): Promise<void> {
  await header()
  const e = await prepare(args, args.gb, args.images)
  console.log(`${describe(e)}, best of ${args.runs}`)
  const b = await build(e)
  const bundleBytes = (await stat(e.bundle)).size
  console.log(`build (bundle ${(bundleBytes / GB).toFixed(2)} GiB)`)
  row('airlock bundle build', b)
  const ref = await buildReference(e)
  row('skopeo copy per image + tar cf + sha256sum', ref)
  const sync = args.sync ? await buildSyncReference(e) : undefined
  if (sync) row('skopeo sync --src yaml --dest dir + tar cf + sha256sum', sync)

  console.log('verify')
  const v = await verify(e)
  row('airlock bundle verify --trust', v.air)
  row('openssl dgst -sha256', v.ossl)

  console.log('extract (no target)')
  const x = await extract(e)
  row('airlock bundle extract --trust', x.air)
  row('tar xf', x.tar)

  console.log('push into a fresh docker-registry')
  const p = await pushAirlock(e, false)
  row('airlock images push --no-verify', p)
  const pv = await pushAirlock(e, true)
  row('airlock images push --trust (verifies first)', pv)
  const pr = await pushReference(e)
  row('skopeo copy --all per image (oci: layout)', pr)
  const ps = sync ? await pushSyncReference(e) : undefined
  if (ps) row('skopeo sync --src dir --dest docker', ps)
  await rmAll(join(e.work, 'sync-dir'))

  console.log('serve, pulled by skopeo copy --all per image')
  const s = await serve(e)
  row('from airlock images serve', s.air)
  row('from docker-registry (same images)', s.reg)
  console.log(`  airlock images serve peak RSS ${s.serverRssMb.toFixed(0)} MB, ${s.serverCpu.toFixed(2)} s CPU while pulled (pulls interleaved image by image)`)

  const targets: Target[] = [
    {what: 'build / (skopeo copy + tar + sha256sum)', ratio: b.seconds / ref.seconds, limit: 0.5},
    ...(sync ? [{what: 'build / (skopeo sync + tar + sha256sum)', ratio: b.seconds / sync.seconds, limit: 0.5}] : []),
    {what: 'push / skopeo copy per image', ratio: p.seconds / pr.seconds, limit: 0.8},
    {what: 'push --trust / skopeo copy per image', ratio: pv.seconds / pr.seconds, limit: 0.8},
    ...(ps ? [{what: 'push / skopeo sync', ratio: p.seconds / ps.seconds, limit: 0.8}] : []),
    {what: 'verify / openssl dgst -sha256', ratio: v.air.seconds / v.ossl.seconds, limit: 1.0},
    {what: 'serve pulls / docker-registry pulls', ratio: s.air.seconds / s.reg.seconds, limit: 1.0},
    {what: 'peak RSS, largest of build, verify, push, serve', ratio: Math.max(b.rssMb, v.air.rssMb, p.rssMb, pv.rssMb, s.serverRssMb), limit: 200, unit: 'MB'},
  ]
  verdicts(targets)
  console.log(`  (extract / tar xf ${(x.air.seconds / x.tar.seconds).toFixed(2)}x, no target; verify used ${(v.air.cpuSeconds / Math.max(v.ossl.cpuSeconds, 0.001)).toFixed(2)}x openssl's CPU time)`)

  // The same figures as rows of the README's table, to paste.
  const md = (what: string, a: Sample, refName: string, r: Sample) => `| ${what} | ${a.seconds.toFixed(2)} s, ${a.rssMb.toFixed(0)} MB RSS | ${refName} ${r.seconds.toFixed(2)} s | ${(a.seconds / r.seconds).toFixed(2)} |`
  const size = `${(e.seeded.totalBytes / GB).toFixed(2)} GiB, ${e.seeded.images.length} images, ${e.seeded.distinctBlobs} blobs`
  console.log('markdown (README figures table)')
  console.log('| what | airlock | reference | ratio |\n| --- | --- | --- | --- |')
  console.log(md(`build ${size}`, b, '`skopeo copy` per image + `tar cf` + `sha256sum`', ref))
  console.log(md(`verify ${size}`, v.air, '`openssl dgst -sha256`', v.ossl))
  console.log(md(`push ${size}`, p, '`skopeo copy` per image', pr))
  console.log(md(`serve ${size} (pulled by skopeo)`, {...s.air, rssMb: s.serverRssMb}, 'docker-registry', s.reg))
  console.log(`targets met: ${targets.filter((t) => t.ratio <= t.limit).map((t) => t.what).join('; ') || 'none'}; not met: ${targets.filter((t) => t.ratio > t.limit).map((t) => t.what).join('; ') || 'none'}`)
}

// ---- the growth report ----

interface Point {
  label: string
  bytes: number
  blobs: number
  build: Sample
  verify: Sample
  openssl: Sample
  extract: Sample
  push: Sample
}

async function point(args: Args, gb: number, images: number): Promise<Point> {
  const e = await prepare(args, gb, images)
  try {
    const build_ = await build(e)
    const v = await verify(e)
    const x = await extract(e)
    const push = await pushAirlock(e, false)
    return {label: describe(e), bytes: e.seeded.totalBytes, blobs: e.seeded.distinctBlobs, build: build_, verify: v.air, openssl: v.ossl, extract: x.air, push}
  } finally {
    await e.registry.stop()
    await rmAll(e.work, e.registry.dir)
  }
}

function growthTable(title: string, points: Point[]): void {
  console.log(title)
  console.log(`  ${'GiB'.padStart(6)} ${'blobs'.padStart(6)}  ${'build s/MB'.padStart(14)}  ${'verify s/MB'.padStart(14)}  ${'openssl s'.padStart(9)}  ${'extract s/MB'.padStart(14)}  ${'push s/MB'.padStart(14)}`)
  const c = (s: Sample) => `${s.seconds.toFixed(2).padStart(7)}/${s.rssMb.toFixed(0).padStart(4)}`.padStart(14)
  for (const p of points) console.log(`  ${(p.bytes / GB).toFixed(2).padStart(6)} ${String(p.blobs).padStart(6)}  ${c(p.build)}  ${c(p.verify)}  ${p.openssl.seconds.toFixed(2).padStart(9)}  ${c(p.extract)}  ${c(p.push)}`)
}

/** Seconds per GiB at the last point against the first, and RSS growth: linear time gives ~1.0x. */
function growthVerdict(points: Point[], by: 'bytes' | 'blobs'): void {
  const first = points[0] as Point
  const last = points.at(-1) as Point
  for (const k of ['build', 'verify', 'extract', 'push'] as const) {
    const perUnit = (p: Point) => p[k].seconds / (p.bytes / GB)
    const rss = `${first[k].rssMb.toFixed(0)} -> ${last[k].rssMb.toFixed(0)} MB`
    if (by === 'bytes') {
      console.log(`  ${k.padEnd(8)} s per GiB ${perUnit(first).toFixed(2)} -> ${perUnit(last).toFixed(2)} (${(perUnit(last) / perUnit(first)).toFixed(2)}x; 1.0x is linear in bytes), peak RSS ${rss}`)
    } else {
      const perBlobMs = ((last[k].seconds - first[k].seconds) / Math.max(1, last.blobs - first.blobs)) * 1000
      console.log(`  ${k.padEnd(8)} ${first[k].seconds.toFixed(2)} s at ${first.blobs} blobs -> ${last[k].seconds.toFixed(2)} s at ${last.blobs} (${perBlobMs.toFixed(1)} ms per extra blob at the same bytes), peak RSS ${rss}`)
    }
  }
}

async function sweep(args: Args): Promise<void> {
  await header()
  console.log(`growth: bytes from ${(args.gb / 4).toFixed(2)} to ${args.gb} GiB at ${args.images} images; blobs from ~10 to ~600 at ${(args.gb / 4).toFixed(2)} GiB; best of ${args.runs}`)
  const bytes: Point[] = []
  for (const gb of [args.gb / 4, args.gb / 2, args.gb]) bytes.push(await point(args, gb, args.images))
  growthTable('time / peak RSS by bytes', bytes)
  growthVerdict(bytes, 'bytes')
  const blobs: Point[] = []
  for (const images of [1, 6, 20, 60]) blobs.push(await point(args, args.gb / 4, images))
  growthTable('time / peak RSS by blobs (same bytes)', blobs)
  growthVerdict(blobs, 'blobs')
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2))
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      void cleanupAll().finally(() => process.exit(130))
    })
  }
  await (args.sweep ? sweep(args) : scale(args))
}

main()
  .catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error)
    process.exitCode = 1
  })
  .finally(() => cleanupAll())
