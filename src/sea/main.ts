/*
 * The main script of the packaged single executable (`npm run package`): small on purpose, because
 * the executable compiles and evaluates all of it on every start. It answers `--version` from the
 * embedded package.json and otherwise compiles the CLI (src/sea/app.ts, one bundled script carried
 * as an SEA asset) with vm.Script and the V8 code cache made at package time for the command in argv:
 * the script made for that command alone, so that a start reads, compiles and evaluates the code
 * that command runs and not the rest of airlock.
 */
import {getRawAsset} from 'node:sea'
import {Script} from 'node:vm'

import {versionLine} from '../commands/version-line.js'
import {APP_FILENAME, appAssetKey, cacheAssetKey, commandIdOf, DEFAULT_APP, PJSON_ASSET} from './runtime.js'

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

type App = {run(argv: string[]): Promise<void>}

function loadApp(argv: string[]): App {
  const id = commandIdOf(argv)
  const own = id === undefined ? undefined : asset(appAssetKey(id))
  const name = own && id !== undefined ? id : DEFAULT_APP
  const source = own ?? asset(appAssetKey(DEFAULT_APP))
  if (!source) throw new Error(`this executable carries no ${appAssetKey(DEFAULT_APP)} asset; rebuild it with npm run package`)
  const cachedData = asset(cacheAssetKey(name))
  // package.ts wrote the script in Latin-1: decoding it is a plain copy into a string.
  const script = new Script(source.toString('latin1'), {filename: APP_FILENAME, cachedData})
  // A cache V8 refuses (another node, other flags) only costs time: the script compiles from source.
  if (process.env.AIRLOCK_SEA_DEBUG) process.stderr.write(`airlock-sea: code cache ${cachedData ? (script.cachedDataRejected ? 'rejected' : 'used') : 'absent'} (${name})\n`)
  const wrapper = script.runInThisContext() as (exports: object, req: NodeJS.Require, module: {exports: object}, filename: string, dirname: string) => void
  const module = {exports: {}}
  wrapper(module.exports, require, module, APP_FILENAME, '/airlock-sea')
  return module.exports as App
}

async function main(): Promise<void> {
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
