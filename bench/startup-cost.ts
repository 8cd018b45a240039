/*
 * Start-up of `node bin/run.js` (issue 19 item 3: under 150 ms from the single executable) and where
 * it goes: `--version` and `bundle verify` of a small bundle against `node -e 0`, then the load time of
 * the command map, of each command alone, and of the heavy dependencies, each in a fresh process
 * (medians, so one disturbed run on a shared machine does not decide). The packaged executable is
 * compared with the script by bench/startup.sh (it needs `npm run package`, which is slow).
 *   node --import tsx bench/startup-cost.ts [RUNS]   (default 9)
 */
import {execFile, execFileSync} from 'node:child_process'
import {mkdir, readdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {promisify} from 'node:util'

import {makeKeys} from '../test/support/bundles.js'
import {BIN, REPO_ROOT as ROOT} from '../test/support/paths.js'
import {cleanupAll, tempDir} from '../test/support/registry.js'

const run = promisify(execFile)
const runs = Number(process.argv[2] ?? 9)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number

async function wall(args: string[]): Promise<number> {
  const t = performance.now()
  await run(process.execPath, args)
  return performance.now() - t
}

/** Milliseconds to import `spec` in a fresh process, measured inside it (process start-up excluded). */
async function importMs(spec: string): Promise<number> {
  const code = `const t = performance.now(); await import(${JSON.stringify(spec)}); process.stdout.write(String(performance.now() - t))`
  const {stdout} = await run(process.execPath, ['--input-type=module', '-e', code], {cwd: ROOT})
  return Number(stdout)
}

async function medianOf(fn: () => Promise<number>): Promise<{median: number; min: number}> {
  const xs: number[] = []
  for (let i = 0; i < runs; i++) xs.push(await fn())
  return {median: median(xs), min: Math.min(...xs)}
}

async function main(): Promise<void> {
  const dir = await tempDir('bench-startup')
  const keys = await makeKeys(dir)
  await mkdir(join(dir, 'src'))
  await writeFile(join(dir, 'src', 'a.txt'), 'small file\n')
  await writeFile(join(dir, 'spec.yaml'), 'apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: startup, version: 1.0.0}\nspec:\n  files:\n    - {source: ./src/a.txt, as: a.txt}\n')
  const small = join(dir, 'small.tar')
  await run(process.execPath, [BIN, 'bundle', 'build', join(dir, 'spec.yaml'), '--key', keys.key, '--out', small, '--no-include-self', '--quiet'])

  const load = execFileSync('cat', ['/proc/loadavg']).toString().split(' ').slice(0, 3).join(' ')
  console.log(`start-up, median (min) of ${runs} runs, node ${process.version}, load ${load} (target: 150 ms from the single executable)`)
  const line = (label: string, r: {median: number; min: number}) => console.log(`  ${label.padEnd(44)} ${r.median.toFixed(0).padStart(5)} ms (min ${r.min.toFixed(0)})`)
  const bare = await medianOf(() => wall(['-e', '0']))
  line('node -e 0 (the runtime alone)', bare)
  const version = await medianOf(() => wall([BIN, '--version']))
  line('node bin/run.js --version', version)
  line('node bin/run.js bundle verify (small bundle)', await medianOf(() => wall([BIN, 'bundle', 'verify', small, '--trust', keys.pub, '--quiet'])))

  console.log('module loading, in a fresh process each (start-up of node excluded)')
  line('@oclif/core', await medianOf(() => importMs('@oclif/core')))
  const map = pathToFileURL(join(ROOT, 'dist', 'commands', 'index.js')).href
  line('dist/commands/index.js (every command)', await medianOf(() => importMs(map)))
  const costs: {name: string; ms: number}[] = []
  for (const topic of await readdir(join(ROOT, 'dist', 'commands'), {withFileTypes: true})) {
    if (!topic.isDirectory()) continue
    for (const f of await readdir(join(ROOT, 'dist', 'commands', topic.name))) {
      if (!f.endsWith('.js')) continue
      const url = pathToFileURL(join(ROOT, 'dist', 'commands', topic.name, f)).href
      costs.push({name: `${topic.name} ${f.slice(0, -3)}`, ms: (await medianOf(() => importMs(url))).median})
    }
  }
  for (const c of costs.sort((a, b) => b.ms - a.ms)) console.log(`  command ${c.name.padEnd(36)} ${c.ms.toFixed(0).padStart(5)} ms`)
  for (const dep of ['@aws-sdk/client-s3', '@kubernetes/client-node', 'node-forge', 'zod', 'yaml', 'ora', 'tar', '@noble/curves/nist.js']) {
    const r = await medianOf(() => importMs(dep).catch(() => Number.NaN))
    line(`dependency ${dep}`, r)
  }
}

main()
  .catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error)
    process.exitCode = 1
  })
  .finally(() => cleanupAll())
