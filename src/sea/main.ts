/*
 * The main script of the packaged single executable (`npm run package`): small on purpose, because
 * the executable compiles and evaluates all of it on every start. It answers `--version` from the
 * embedded package.json and otherwise compiles the CLI (src/sea/app.ts, one bundled script carried
 * as an SEA asset) with vm.Script and the V8 code cache made at package time for the command in argv:
 * the script made for that command alone, so that a start reads, compiles and evaluates the code
 * that command runs and not the rest of airlock. The side libraries (runtime.ts) are scripts of
 * their own, compiled the same way on their first require().
 */
import {isBuiltin} from 'node:module'
import {getRawAsset} from 'node:sea'
import {Script} from 'node:vm'

import {versionLine} from '../commands/version-line.js'
import {lazyModule} from './lazy-module.js'
import {APP_FILENAME, appAssetKey, cacheAssetKey, commandIdOf, DEFAULT_APP, libraryAssetKey, libraryFilename, PJSON_ASSET} from './runtime.js'

/**
 * An asset as a Buffer over the executable's own memory: getRawAsset(), unlike getAsset(), does not
 * copy it (a copy of each script and code cache on every start), and nothing here writes to it.
 */
function asset(key: string): Buffer | undefined {
  try {
    return Buffer.from(getRawAsset(key) as ArrayBuffer)
  } catch {
    return undefined
  }
}

/** AIRLOCK_SEA_DEBUG: where the start goes, as wall ms / CPU ms / minor page faults since the mark before. */
const marks: Array<[string, number, number, number]> = []
function mark(name: string): void {
  if (!process.env.AIRLOCK_SEA_DEBUG) return
  const r = process.resourceUsage()
  marks.push([name, performance.now(), (r.userCPUTime + r.systemCPUTime) / 1000, r.minorPageFault])
}

type Module = {exports: unknown}
type Wrapper = (exports: unknown, req: (id: string) => unknown, module: Module, filename: string, dirname: string) => void

/**
 * Compiles a script asset (a CommonJS module wrapped as a function, see scripts/package.ts) with its
 * code cache, and evaluates it into `module`.
 */
function evaluate(source: Buffer, cacheKey: string, filename: string, module: Module): void {
  const cachedData = asset(cacheKey)
  // package.ts wrote the script in Latin-1: decoding it is a plain copy into a string.
  const script = new Script(source.toString('latin1'), {filename, cachedData})
  mark(`compile ${filename}`)
  // A cache V8 refuses (another node, other flags) only costs time: the script compiles from source.
  if (process.env.AIRLOCK_SEA_DEBUG) process.stderr.write(`airlock-sea: code cache ${cachedData ? (script.cachedDataRejected ? 'rejected' : 'used') : 'absent'} (${cacheKey})\n`)
  ;(script.runInThisContext() as Wrapper)(module.exports, requireInside, module, filename, filename.slice(0, filename.lastIndexOf('/')))
  mark(`evaluate ${filename}`)
}

const libraries = new Map<string, Module>()

/**
 * require() for the scripts: a built-in, or a side library from its asset, compiled and evaluated
 * once, on first use of one of its exports (yaml is imported by modules of bundle inspect that it
 * never calls, for one).
 */
function requireInside(id: string): unknown {
  if (isBuiltin(id)) return require(id)
  let library = libraries.get(id)
  if (!library) {
    const source = asset(libraryAssetKey(id))
    if (!source) throw Object.assign(new Error(`Cannot find module '${id}': the airlock executable loads no module from disk`), {code: 'MODULE_NOT_FOUND'})
    const module: Module = {exports: {}}
    let evaluated = false
    library = {
      exports: lazyModule(() => {
        // in a cycle (a library that uses one that uses it), the exports made so far, as require() gives
        if (!evaluated) {
          evaluated = true
          evaluate(source, cacheAssetKey(libraryAssetKey(id)), libraryFilename(id), module)
        }
        return module.exports as object
      }),
    }
    libraries.set(id, library)
  }
  return library.exports
}

type App = {run(argv: string[]): Promise<void>}

function loadApp(argv: string[]): App {
  const id = commandIdOf(argv)
  const own = id === undefined ? undefined : asset(appAssetKey(id))
  const name = own && id !== undefined ? id : DEFAULT_APP
  const source = own ?? asset(appAssetKey(DEFAULT_APP))
  if (!source) throw new Error(`this executable carries no ${appAssetKey(DEFAULT_APP)} asset; rebuild it with npm run package`)
  const module: Module = {exports: {}}
  evaluate(source, cacheAssetKey(name), APP_FILENAME, module)
  return module.exports as App
}

async function main(): Promise<void> {
  if (process.env.AIRLOCK_SEA_DEBUG) {
    mark('node')
    process.on('exit', () => {
      mark('exit')
      process.stderr.write(`airlock-sea: ms / CPU ms / page faults: ${marks.map(([n, w, c, f], i) => `${n} ${(w - (marks[i - 1]?.[1] ?? 0)).toFixed(1)}/${(c - (marks[i - 1]?.[2] ?? 0)).toFixed(1)}/${f - (marks[i - 1]?.[3] ?? 0)}`).join(', ')}\n`)
    })
  }
  const argv = process.argv.slice(2)
  const pjson = asset(PJSON_ASSET)
  const version = pjson && versionLine(argv, JSON.parse(pjson.toString('utf8')) as {name: string; version: string})
  if (version) {
    process.stdout.write(`${version}\n`)
    return
  }
  await loadApp(argv).run(argv)
}

main().catch((error: unknown) => {
  // Only a broken package gets here; once oclif runs, execute() owns errors and exit codes.
  process.stderr.write(`airlock: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
})
