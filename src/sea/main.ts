/*
 * The entry point of the packaged single executable (`npm run package`), bundled into one CommonJS
 * script by esbuild. A SEA has no package.json, no node_modules and no dist/ beside it, so the three
 * things oclif and airlock usually read from disk come from inside the executable instead:
 *   - package.json (name, version, oclif section): an SEA asset written at package time;
 *   - the commands: oclif's manifest of them as an asset, and the loaders of src/commands/lazy.ts,
 *     bundled, each command's modules evaluated only when that command runs;
 *   - templates/: SEA assets (and an index of them), served through setTemplateReader/Lister().
 */
import type {Interfaces} from '@oclif/core'
import {dirname} from 'node:path'

import {AirlockError} from '../ui/errors.js'
import {setTemplateLister, setTemplateReader} from '../util/templates.js'
import {setToolVersion} from '../util/version.js'
import {COMMAND_LOADERS} from '../commands/lazy.js'
import {versionLine} from '../commands/version-line.js'
import {MANIFEST_ASSET, PJSON_ASSET, readAsset, TEMPLATE_INDEX_ASSET, templateAssetKey} from './runtime.js'

function embeddedJson<T>(key: string): T {
  const data = readAsset(key)
  if (!data) throw new Error(`this executable carries no ${key} asset; rebuild it with npm run package`)
  return JSON.parse(data.toString('utf8')) as T
}

async function readEmbeddedTemplate(rel: string): Promise<Buffer> {
  const data = readAsset(templateAssetKey(rel))
  if (data) return data
  // Never fall back to the disk: a templates/ folder next to the executable is not what was signed off.
  throw new AirlockError('FILE_NOT_FOUND', `template not found: templates/${rel}`, {subject: `templates/${rel}`, hint: 'this executable carries only the templates it was packaged with; pass a file path where the command takes one'})
}

function embeddedTemplateIndex(): string[] {
  const data = readAsset(TEMPLATE_INDEX_ASSET)
  return data ? (JSON.parse(data.toString('utf8')) as string[]) : []
}

async function listEmbeddedTemplates(dir: string): Promise<string[]> {
  const prefix = `${dir.replace(/\/+$/, '')}/`
  return embeddedTemplateIndex()
    .filter((rel) => rel.startsWith(prefix) && !rel.slice(prefix.length).includes('/'))
    .map((rel) => rel.slice(prefix.length))
    .sort()
}

async function main(): Promise<void> {
  const pjson = embeddedJson<Interfaces.PJSON>(PJSON_ASSET)
  setToolVersion(pjson.version)
  setTemplateReader(readEmbeddedTemplate)
  setTemplateLister(listEmbeddedTemplates)
  const version = versionLine(process.argv.slice(2), pjson)
  if (version) {
    process.stdout.write(`${version}\n`)
    return
  }
  const root = dirname(process.execPath)
  // Every import() here is esbuild's: oclif, and each command's modules, are evaluated on first use.
  const [{execute}, {loadEmbeddedPlugin}] = await Promise.all([import('@oclif/core'), import('./plugin.js')])
  const plugin = await loadEmbeddedPlugin(pjson, root, COMMAND_LOADERS, embeddedJson<Interfaces.Manifest>(MANIFEST_ASSET))
  await execute({args: process.argv.slice(2), loadOptions: {root, pjson, plugins: new Map([[plugin.name, plugin]])}})
}

main().catch((error: unknown) => {
  // Only a broken package gets here; once oclif runs, execute() owns errors and exit codes.
  process.stderr.write(`airlock: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
})
