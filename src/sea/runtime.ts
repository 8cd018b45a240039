import {getAsset, isSea} from 'node:sea'

/**
 * What the packaged single executable knows about itself. Node's `node:sea` answers outside a
 * package too (isSea() is false there), so the rest of airlock can ask without caring how it runs.
 */
export function isPackaged(): boolean {
  return isSea()
}

/** The name `npm run package` gives the executable for this machine, under dist/. */
export const EXECUTABLE_NAME = 'airlock-linux-x64'

/** SEA asset keys. Templates keep their path under templates/ so one name works on disk and inside. */
export const PJSON_ASSET = 'package.json'
export const MANIFEST_ASSET = 'oclif.manifest.json'

/** oclif's manifest with one command's entry alone: what the script made for that command reads. */
export function commandManifestKey(id: string): string {
  return `oclif.manifest/${id}.json`
}
/** Every template path (relative to templates/), since Node 20's node:sea cannot list its assets. */
export const TEMPLATE_INDEX_ASSET = 'templates.index.json'

export function templateAssetKey(rel: string): string {
  return `templates/${rel}`
}

/** An embedded asset, or undefined when the executable carries no such key (or is not packaged). */
export function readAsset(key: string): Buffer | undefined {
  if (!isSea()) return undefined
  try {
    return Buffer.from(getAsset(key))
  } catch {
    return undefined
  }
}

/**
 * The CLI (src/sea/app.ts bundled, wrapped as a CommonJS function) once with every command and once
 * per command with that command alone, each with a V8 code cache made after evaluating its modules.
 * The executable's main (src/sea/main.ts) compiles the script of the command it is asked to run, or
 * the one with every command (`--help`, unknown commands).
 */
export const APP_FILENAME = '/airlock-sea/airlock.cjs'
export const DEFAULT_APP = 'all'

export function appAssetKey(id: string): string {
  return `app/${id}`
}

export function cacheAssetKey(id: string): string {
  return `code-cache/${id}`
}

/**
 * A side library (scripts/package.ts): a large package that only some paths of a command reach (the
 * S3 client, the X.509 and Kubernetes libraries, ...), bundled once as a script of its own that
 * main.ts compiles, with its own code cache, on its first require() instead of with every start.
 */
export function libraryAssetKey(id: string): string {
  return `lib/${id}`
}

/** The name a side library's code shows in stack traces. */
export function libraryFilename(id: string): string {
  return `/airlock-sea/lib/${id}.cjs`
}

/** The command id an argument vector names (`bundle verify ...` or `bundle:verify ...`), as oclif would read it. */
export function commandIdOf(argv: string[]): string | undefined {
  const [first, second] = argv
  if (!first || first.startsWith('-')) return undefined
  if (first.includes(':')) return first
  return second && !second.startsWith('-') ? `${first}:${second}` : first
}
