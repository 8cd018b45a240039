/*
 * Pulling from `airlock images serve` (straight from the bundle tar) vs from docker-registry (its
 * own filesystem storage) with skopeo copy, side by side; the servers' CPU seconds while pulled and
 * airlock's peak RSS; and a differential rebuild (--since) vs a full one.
 * Run: npx tsx bench/images-serve.ts [MB] [ROUNDS]
 *
 * Two airlock servers run over the same bundle: verified at start (the default: blobs are checked
 * against the pinned bundle file, not hashed again) and --no-verify (every blob hashed as it is
 * sent). Image by image, the three servers are pulled in a rotating order, so that load on a shared
 * machine hits each alike. On two cores a server's CPU is taken from skopeo: that is what decides.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {readdir, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {makeKeys} from '../test/support/bundles.js'
import {BIN} from '../test/support/paths.js'
import {cleanupAll, onCleanup, tempDir} from '../test/support/registry.js'
import {seedImages, timed} from './images-common.js'

const totalMb = Number(process.argv[2] ?? 512)
const rounds = Number(process.argv[3] ?? 1)

/** user + system CPU seconds of a process so far */
async function cpuOf(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).replace(/^.*\) /, '').split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

async function pidOfRegistry(dir: string): Promise<number> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const cmd = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')
    if (cmd.startsWith('docker-registry') && cmd.includes(dir)) return Number(entry)
  }
  throw new Error(`no docker-registry process serves ${dir}`)
}

async function startServe(bundle: string, args: string[]): Promise<{child: ChildProcess; address: string}> {
  const child = spawn(process.execPath, [BIN, 'images', 'serve', bundle, ...args, '--listen', '127.0.0.1:0', '--json'], {stdio: ['ignore', 'pipe', 'inherit']})
  const gone = new Promise((r) => child.once('exit', r))
  onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      await gone
    }
  })
  const address = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString()
      const m = /"address": "([^"]+)"/.exec(out)
      if (m) resolve(m[1] as string)
    })
    child.once('exit', (code) => reject(new Error(`images serve ${args.join(' ')} exited (${code})`)))
  })
  return {child, address}
}

interface Server {
  name: string
  host: string
  pid: number
  seconds: number
  cpu: number
}

async function main(): Promise<void> {
  const s = await seedImages(totalMb)
  const dir = await tempDir('bench-serve')
  const keys = await makeKeys(dir)
  const spec = join(dir, 'spec.yaml')
  await writeFile(spec, `apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: bench, version: 1.0.0}\nspec:\n  images:\n${s.refs.map((r) => `    - ${r}`).join('\n')}\n`)
  const bundle = join(dir, 'bundle.tar')
  const full = await timed(process.execPath, [BIN, 'bundle', 'build', spec, '--key', keys.key, '--out', bundle, '--insecure-registry', s.registry.host, '--quiet'])
  const diff = join(dir, 'diff.tar')
  const since = await timed(process.execPath, [BIN, 'bundle', 'build', spec, '--key', keys.key, '--out', diff, '--insecure-registry', s.registry.host, '--since', bundle, '--quiet'])
  // a bundle changed in the last two seconds is hashed as it is served, not pinned: serve what users serve
  await new Promise((r) => setTimeout(r, 2100))

  const verified = await startServe(bundle, ['--trust', keys.pub])
  const unverified = await startServe(bundle, ['--no-verify'])
  const servers: Server[] = [
    {name: 'airlock images serve (verified, pinned)', host: verified.address, pid: verified.child.pid as number, seconds: 0, cpu: 0},
    {name: 'airlock images serve --no-verify (hashed)', host: unverified.address, pid: unverified.child.pid as number, seconds: 0, cpu: 0},
    {name: 'docker-registry', host: s.registry.host, pid: await pidOfRegistry(s.registry.dir), seconds: 0, cpu: 0},
  ]
  const repoPaths = s.refs.map((r) => r.slice(s.registry.host.length + 1))
  let turn = 0
  for (let round = 0; round < rounds; round++) {
    for (const [i, ref] of repoPaths.entries()) {
      for (let k = 0; k < servers.length; k++) {
        const server = servers[(turn + k) % servers.length] as Server
        const to = join(dir, `pulled-${(turn + k) % servers.length}`)
        const before = await cpuOf(server.pid)
        const t = await timed('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${server.host}/${ref}`, `oci:${to}:img${i}`])
        server.cpu += (await cpuOf(server.pid)) - before
        server.seconds += t.seconds
      }
      turn++
    }
    for (let k = 0; k < servers.length; k++) await rm(join(dir, `pulled-${k}`), {recursive: true, force: true})
  }
  const rss = async (pid: number) => Number(/VmHWM:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024
  const rssOf = [await rss(verified.child.pid as number), await rss(unverified.child.pid as number)]

  const reference = servers[2] as Server
  const line = (name: string, secs: number, extra = '') => `${name.padEnd(60)} ${secs.toFixed(2).padStart(8)} s  ${extra}`
  console.log(`images-serve: ${s.refs.length} images, ${totalMb} MB of layers (40% shared base layers), ${rounds} round(s), load ${(await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ')}`)
  for (const [k, server] of servers.entries()) {
    console.log(line(`skopeo copy from ${server.name}`, server.seconds, `server CPU ${server.cpu.toFixed(2)} s${k < 2 ? `, peak RSS ${(rssOf[k] as number).toFixed(0)} MB` : ''}`))
  }
  for (const server of servers.slice(0, 2)) console.log(`ratio ${server.name} / docker-registry: ${(server.seconds / reference.seconds).toFixed(2)} (target <= 1.0)`)
  console.log(line('bundle build (full)', full.seconds, `${((await stat(bundle)).size / 1e6).toFixed(0)} MB`))
  console.log(line('bundle build --since (same images)', since.seconds, `${((await stat(diff)).size / 1e6).toFixed(2)} MB`))
}

main()
  .catch((error: unknown) => {
    console.error(error)
    process.exitCode = 1
  })
  .finally(() => cleanupAll())
