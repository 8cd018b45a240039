import {readdir, readFile} from 'node:fs/promises'
import {fileURLToPath} from 'node:url'
import {join} from 'node:path'

import {fromFsError} from '../ui/errors.js'

/**
 * The one place that knows where `templates/` lives: beside dist/ and src/ in a checkout or an npm
 * install. A packaged single executable replaces this lookup with embedded assets.
 */
let override: ((rel: string) => Promise<Buffer | undefined>) | undefined

export function setTemplateReader(reader: (rel: string) => Promise<Buffer | undefined>): void {
  override = reader
}

let listOverride: ((dir: string) => Promise<string[] | undefined>) | undefined

/** The packaged executable lists its embedded templates; a folder listing would find nothing there. */
export function setTemplateLister(lister: (dir: string) => Promise<string[] | undefined>): void {
  listOverride = lister
}

/** Names of the files directly in templates/<dir> (e.g. 'profiles'), sorted; [] when there is none. */
export async function listTemplates(dir: string): Promise<string[]> {
  if (listOverride) {
    const names = await listOverride(dir)
    if (names) return names
  }
  try {
    const entries = await readdir(join(templatesDir(), dir), {withFileTypes: true})
    return entries.filter((e) => e.isFile()).map((e) => e.name).sort()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw fromFsError(error, `templates/${dir}`, 'template folder')
  }
}

export function templatesDir(): string {
  return fileURLToPath(new URL('../../templates/', import.meta.url))
}

export async function readTemplate(rel: string): Promise<Buffer> {
  if (override) {
    const data = await override(rel)
    if (data) return data
  }
  const path = join(templatesDir(), rel)
  try {
    return await readFile(path)
  } catch (error) {
    throw fromFsError(error, `templates/${rel}`, 'template')
  }
}
