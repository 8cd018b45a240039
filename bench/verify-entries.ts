/*
 * `bundle verify` of a many-entry bundle against `openssl dgst -sha256` of the same file, both whole
 * processes with start-up, interleaved (so load on a shared machine hits both alike): wall and CPU
 * seconds, medians and best. The bundle has the shape of the scale benchmark's (issue 19): the OCI
 * layout bench/scale-seed.ts writes (60 images, ~565 layers from 1 KB to a few MB, a config and a
 * manifest per image, ~680 entries at 0.5 GiB) put in by `spec.files`, so no registry and no skopeo
 * are needed, and a change to the per-entry cost of verify can be judged in seconds.
 *   node --import tsx bench/verify-entries.ts [--gb 0.5] [--images 60] [--runs 7] [--dir DIR]
 * AIRLOCK=dist/airlock-linux-x64 measures the single executable (default: node bin/run.js).
 * --dir keeps the layout and bundle there and reuses them on the next run (default: a temp folder,
 * removed at the end).
 */
import {execFile} from 'node:child_process'
import {existsSync} from 'node:fs'
import {mkdir, readdir, stat, writeFile} from 'node:fs/promises'
import {loadavg} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {makeKeys} from '../test/support/bundles.js'
import {BIN} from '../test/support/paths.js'
import {cleanupAll, tempDir} from '../test/support/registry.js'
import {airlockCommand, measure, type Sample} from './measure.js'
import {writeScaleLayout} from './scale-seed.js'

const run = promisify(execFile)

function args(): {gb: number; images: number; runs: number; dir?: string} {
  const a: {gb: number; images: number; runs: number; dir?: string} = {gb: 0.5, images: 60, runs: 7}
  const argv = process.argv.slice(2)
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]
    if (k === '--dir') a.dir = argv[++i]
    else if (k === '--gb') a.gb = Number(argv[++i])
    else if (k === '--images') a.images = Number(argv[++i])
    else if (k === '--runs') a.runs = Number(argv[++i])
    else throw new Error(`unknown option ${k}`)
  }
  return a
}

const airlockCmd = (): string[] => {
  const [cmd, pre] = airlockCommand(BIN)
  return [cmd, ...pre]
}
const once = ([cmd, ...args]: string[]): Promise<Sample> => measure(cmd as string, args)

async function filesUnder(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(join(dir, prefix), {withFileTypes: true})) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name
    if (e.isDirectory()) out.push(...(await filesUnder(dir, rel)))
    else out.push(rel)
  }
  return out.sort()
}

async function prepare(dir: string, gb: number, images: number): Promise<{bundle: string; pub: string}> {
  const bundle = join(dir, 'bundle.tar')
  const keysDir = join(dir, 'keys')
  if (existsSync(bundle) && existsSync(join(keysDir, 'signer.pub'))) return {bundle, pub: join(keysDir, 'signer.pub')}
  await mkdir(keysDir, {recursive: true})
  const keys = await makeKeys(keysDir)
  const layout = join(dir, 'layout')
  await writeScaleLayout({dir: layout, images, totalBytes: Math.round(gb * 1024 ** 3)})
  const files = await filesUnder(layout)
  const spec = ['apiVersion: airlock.dev/v1', 'kind: Bundle', `metadata: {name: entries, version: ${gb}g}`, 'spec:', '  files:']
  for (const f of files) spec.push(`    - {source: ./layout/${f}, as: layout/${f}}`)
  await writeFile(join(dir, 'spec.yaml'), `${spec.join('\n')}\n`)
  const [cmd, ...rest] = airlockCmd()
  await run(cmd as string, [...rest, 'bundle', 'build', join(dir, 'spec.yaml'), '--key', keys.key, '--out', bundle, '--no-include-self', '--quiet'], {maxBuffer: 1 << 24})
  return {bundle, pub: keys.pub}
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number

async function main(): Promise<void> {
  const a = args()
  const dir = a.dir ?? (await tempDir('bench-verify-entries'))
  await mkdir(dir, {recursive: true})
  const {bundle, pub} = await prepare(dir, a.gb, a.images)
  const {stdout} = await run('tar', ['tf', bundle], {maxBuffer: 1 << 26})
  const entries = stdout.split('\n').filter((l) => l && !l.endsWith('/')).length
  await run('cat', [bundle], {maxBuffer: 1 << 30, encoding: 'buffer'}).catch(() => undefined) // warm the page cache
  const ossl: Sample[] = []
  const air: Sample[] = []
  const verify = [...airlockCmd(), 'bundle', 'verify', bundle, '--trust', pub, '--quiet']
  await once(verify)
  for (let i = 0; i < a.runs; i++) {
    ossl.push(await once(['openssl', 'dgst', '-sha256', bundle]))
    air.push(await once(verify))
  }
  const size = (await stat(bundle)).size
  const load = loadavg().map((l) => l.toFixed(1)).join(' ')
  const line = (label: string, xs: Sample[]) =>
    `  ${label.padEnd(22)} wall median ${median(xs.map((x) => x.seconds)).toFixed(3)} s (best ${Math.min(...xs.map((x) => x.seconds)).toFixed(3)})   CPU median ${median(xs.map((x) => x.cpuSeconds)).toFixed(2)} s (best ${Math.min(...xs.map((x) => x.cpuSeconds)).toFixed(2)})`
  console.log(`bundle ${(size / 1024 ** 2).toFixed(0)} MiB, ${entries} files, ${a.runs} runs interleaved, load ${load}, airlock = ${airlockCmd().join(' ')}`)
  console.log(line('openssl dgst -sha256', ossl))
  console.log(line('airlock bundle verify', air))
  const ratio = (f: (xs: number[]) => number, pick: (s: Sample) => number) => (f(air.map(pick)) / f(ossl.map(pick))).toFixed(2)
  console.log(`  verify / openssl: wall ${ratio(median, (s) => s.seconds)} (best/best ${ratio((xs) => Math.min(...xs), (s) => s.seconds)}), CPU ${ratio(median, (s) => s.cpuSeconds)}   (target wall <= 1.0)`)
}

main()
  .catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error)
    process.exitCode = 1
  })
  .finally(() => cleanupAll())
