/*
 * The entry point of the packaged single executable (`npm run package`), bundled into one CommonJS
 * script by esbuild. A SEA has no package.json, no node_modules and no dist/ beside it, so the three
 * things oclif and airlock usually read from disk come from inside the executable instead:
 *   - package.json (name, version, oclif section): an SEA asset written at package time;
 *   - the commands: the explicit map in src/commands/index.ts, bundled, handed to oclif's root plugin;
 *   - templates/: SEA assets (and an index of them), served through setTemplateReader/Lister().
 */
import {execute, Plugin, type Interfaces} from '@oclif/core'
import {dirname} from 'node:path'

import {COMMANDS} from '../commands/index.js'
import {AirlockError} from '../ui/errors.js'
import {setTemplateLister, setTemplateReader} from '../util/templates.js'
import {setToolVersion} from '../util/version.js'
import {PJSON_ASSET, readAsset, TEMPLATE_INDEX_ASSET, templateAssetKey} from './runtime.js'

function embeddedPjson(): Interfaces.PJSON {
  const data = readAsset(PJSON_ASSET)
  if (!data) throw new Error(`this executable carries no ${PJSON_ASSET} asset; rebuild it with npm run package`)
  return JSON.parse(data.toString('utf8')) as Interfaces.PJSON
}

async function readEmbeddedTemplate(rel: string): Promise<Buffer> {
  const data = readAsset(templateAssetKey(rel))
  if (data) return data
  // Never fall back to the disk: a templates/ folder next to the executable is not what was signed off.
  throw new AirlockError('FILE_NOT_FOUND', `template not found: templates/${rel}`, {subject: `templates/${rel}`, hint: 'this executable carries the templates it was packaged with; list them with the docs of this version'})
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

/**
 * oclif's root plugin, with its explicit command map filled in before load(). oclif would otherwise
 * import the map's file from `<root>/dist/commands/index.js`, which does not exist here.
 * `commandCache` is private in oclif's typings but is exactly where loadCommandsFromTarget() looks
 * first; ignoreManifest makes oclif build its manifest from these classes rather than from a file.
 */
async function loadRootPlugin(pjson: Interfaces.PJSON, root: string): Promise<Plugin> {
  const plugin = new Plugin({root, pjson, isRoot: true, ignoreManifest: true, errorOnManifestCreate: true})
  ;(plugin as unknown as {commandCache: unknown}).commandCache = COMMANDS
  await plugin.load()
  return plugin
}

async function main(): Promise<void> {
  const pjson = embeddedPjson()
  setToolVersion(pjson.version)
  setTemplateReader(readEmbeddedTemplate)
  setTemplateLister(listEmbeddedTemplates)
  const root = dirname(process.execPath)
  const plugin = await loadRootPlugin(pjson, root)
  await execute({args: process.argv.slice(2), loadOptions: {root, pjson, plugins: new Map([[plugin.name, plugin]])}})
}

main().catch((error: unknown) => {
  // Only a broken package gets here; once oclif runs, execute() owns errors and exit codes.
  process.stderr.write(`airlock: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
})
