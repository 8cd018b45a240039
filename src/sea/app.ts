/*
 * The CLI inside the packaged single executable (`npm run package`), bundled into one CommonJS
 * script by esbuild that the executable's small main (src/sea/main.ts) compiles from an SEA asset,
 * with a V8 code cache made at package time for the command that runs. A SEA has no package.json, no node_modules and no dist/ beside it, so the three
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
import {helpAlias, reportUnknownCommand, unknownCommand} from '../commands/not-found.js'
import {commandManifestKey, MANIFEST_ASSET, PJSON_ASSET, readAsset, TEMPLATE_INDEX_ASSET, templateAssetKey} from './runtime.js'

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

/** Run airlock with this argument vector (what src/sea/main.ts calls once `--version` is ruled out). */
export async function run(argv: string[]): Promise<void> {
  const pjson = embeddedJson<Interfaces.PJSON>(PJSON_ASSET)
  setToolVersion(pjson.version)
  setTemplateReader(readEmbeddedTemplate)
  setTemplateLister(listEmbeddedTemplates)
  const root = dirname(process.execPath)
  // Every import() here is esbuild's: oclif, and each command's modules, are evaluated on first use.
  const [{execute}, {loadEmbeddedPlugin}] = await Promise.all([import('@oclif/core'), import('./plugin.js')])
  // The script made for one command (scripts/package.ts) has one loader, and gives oclif that
  // command's manifest entry alone: all that running it or its --help needs, and oclif sorts the
  // commands of a manifest with localeCompare, whose first call starts ICU's collator (~9 ms). It
  // reads that entry alone too (main.ts chose the script because argv names that very command).
  const loaders = Object.keys(COMMAND_LOADERS)
  const manifest = embeddedJson<Interfaces.Manifest>(loaders.length === 1 && loaders[0] ? commandManifestKey(loaders[0]) : MANIFEST_ASSET)
  const args = helpAlias(argv)
  const unknown = unknownCommand(args, Object.keys(manifest.commands))
  if (unknown) {
    process.exitCode = reportUnknownCommand(unknown, args)
    return
  }
  manifest.commands = Object.fromEntries(Object.entries(manifest.commands).filter(([id]) => Object.hasOwn(COMMAND_LOADERS, id)))
  const plugin = await loadEmbeddedPlugin(pjson, root, COMMAND_LOADERS, manifest)
  await execute({args, loadOptions: {root, pjson, plugins: new Map([[plugin.name, plugin]])}})
}

/**
 * At package time only: evaluate the modules that running command `id` evaluates (oclif, the plugin,
 * that command's modules; oclif alone without an id), so that the code cache made afterwards holds
 * their compiled functions and the executable does not compile them again on every start.
 */
export async function warm(id?: string): Promise<void> {
  await Promise.all([import('@oclif/core'), import('./plugin.js')])
  const load = id && Object.hasOwn(COMMAND_LOADERS, id) ? COMMAND_LOADERS[id] : undefined
  if (load) await load()
}
