import {readFile} from 'node:fs/promises'
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
