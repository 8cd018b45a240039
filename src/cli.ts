import {readFile} from 'node:fs/promises'
import {fileURLToPath} from 'node:url'

import {execute, type Interfaces} from '@oclif/core'

import {COMMAND_LOADERS} from './commands/lazy.js'
import {loadEmbeddedPlugin} from './sea/plugin.js'

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
 * and zod's schemas first. `--version` and `--help` load no command at all. Without a manifest (a
 * checkout that was compiled with tsc alone) oclif starts as usual, from the explicit map.
 */
export async function run(binUrl: string): Promise<void> {
  const root = fileURLToPath(new URL('..', binUrl)).replace(/\/$/, '')
  const [pjson, manifest] = await Promise.all([readJson<Interfaces.PJSON>(`${root}/package.json`), readJson<Interfaces.Manifest>(`${root}/oclif.manifest.json`)])
  if (!pjson || !manifest) {
    await execute({dir: binUrl})
    return
  }
  const plugin = await loadEmbeddedPlugin(pjson, root, COMMAND_LOADERS, manifest)
  await execute({args: process.argv.slice(2), loadOptions: {root, pjson, plugins: new Map([[plugin.name, plugin]])}})
}
