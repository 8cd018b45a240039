/*
 * Pulling from `airlock images serve` (straight from the bundle tar) vs from docker-registry (its
 * own filesystem storage) with skopeo copy, side by side; the server's peak RSS; and a differential
 * rebuild (--since) vs a full one. Run: npx tsx bench/images-serve.ts [MB]
 */
import {execFile, spawn} from 'node:child_process'
import {readFile, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {makeKeys} from '../test/support/bundles.js'
import {BIN} from '../test/support/paths.js'
import {cleanupAll, tempDir} from '../test/support/registry.js'
import {seedImages, timed} from './images-common.js'

const run = promisify(execFile)
const totalMb = Number(process.argv[2] ?? 512)

async function pullAll(host: string, refs: string[], dir: string): Promise<number> {
  let seconds = 0
  for (const [i, ref] of refs.entries()) {
    const t = await timed('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${host}/${ref}`, `oci:${dir}:img${i}`])
    seconds += t.seconds
  }
  return seconds
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

  const server = spawn(process.execPath, [BIN, 'images', 'serve', bundle, '--no-verify', '--listen', '127.0.0.1:0', '--json'], {stdio: ['ignore', 'pipe', 'inherit']})
  const address = await new Promise<string>((resolve) => {
    let out = ''
    server.stdout.on('data', (c: Buffer) => {
      out += c.toString()
      const m = /"address": "([^"]+)"/.exec(out)
      if (m) resolve(m[1] as string)
    })
  })
  const repoPaths = s.refs.map((r) => r.slice(s.registry.host.length + 1))
  const served = await pullAll(address, repoPaths, join(dir, 'from-serve'))
  const hwm = Number(/VmHWM:\s+(\d+)/.exec(await readFile(`/proc/${server.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024
  server.kill('SIGTERM')
  const reference = await pullAll(s.registry.host, repoPaths, join(dir, 'from-registry'))

  const line = (name: string, secs: number, extra = '') => `${name.padEnd(44)} ${secs.toFixed(2).padStart(8)} s  ${extra}`
  console.log(`images-serve: ${s.refs.length} images, ${totalMb} MB of layers (40% shared base layers)`)
  console.log(line('skopeo copy from airlock images serve', served, `server peak RSS ${hwm.toFixed(0)} MB`))
  console.log(line('skopeo copy from docker-registry', reference))
  console.log(`ratio serve / docker-registry: ${(served / reference).toFixed(2)} (target <= 1.0)`)
  console.log(line('bundle build (full)', full.seconds, `${((await stat(bundle)).size / 1e6).toFixed(0)} MB`))
  console.log(line('bundle build --since (same images)', since.seconds, `${((await stat(diff)).size / 1e6).toFixed(2)} MB`))
}

main()
  .catch((error: unknown) => {
    console.error(error)
    process.exitCode = 1
  })
  .finally(() => cleanupAll())
