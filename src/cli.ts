import {readFile} from 'node:fs/promises'
import {fileURLToPath} from 'node:url'

import type {Interfaces} from '@oclif/core'

import {COMMAND_LOADERS} from './commands/lazy.js'
import {helpAlias, reportUnknownCommand, unknownCommand} from './commands/not-found.js'
import {versionLine} from './commands/version-line.js'

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T
  } catch {
    return undefined
  }
}

/**
 * `node bin/run.js`: oclif with the command manifest `npm run build` wrote, loading the one command
 * that runs (src/commands/lazy.ts) instead of importing every command module, their dependencies
 * and zod's schemas first. `--help` loads no command, `--version` not even oclif. Without a manifest (a
 * checkout that was compiled with tsc alone) oclif starts as usual, from the explicit map.
 */
export async function run(binUrl: string): Promise<void> {
  const root = fileURLToPath(new URL('..', binUrl)).replace(/\/$/, '')
  const pjson = await readJson<Interfaces.PJSON>(`${root}/package.json`)
  const version = pjson && versionLine(process.argv.slice(2), pjson)
  if (version) {
    process.stdout.write(`${version}\n`)
    return
  }
  const [{execute}, {loadEmbeddedPlugin}, manifest] = await Promise.all([import('@oclif/core'), import('./sea/plugin.js'), readJson<Interfaces.Manifest>(`${root}/oclif.manifest.json`)])
  if (!pjson || !manifest) {
    await execute({dir: binUrl})
    return
  }
  const args = helpAlias(process.argv.slice(2))
  const unknown = unknownCommand(args, Object.keys(manifest.commands))
  if (unknown) {
    process.exitCode = reportUnknownCommand(unknown, args)
    return
  }
  const plugin = await loadEmbeddedPlugin(pjson, root, COMMAND_LOADERS, manifest)
  await execute({args, loadOptions: {root, pjson, plugins: new Map([[plugin.name, plugin]])}})
}
