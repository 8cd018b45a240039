import {readFile, rename, writeFile} from 'node:fs/promises'

import {siblingTempPath} from '../util/fs.js'

/**
 * The small JSON progress records that make transfers resumable. Written whole under a temp name and
 * renamed, so a kill leaves the old or the new record, never half of one. Not fsynced: after a power
 * loss the final SHA-256 check catches a record that ran ahead of the data, and a transfer writes
 * one of these per part.
 */
export async function writeRecordFile(path: string, record: object): Promise<void> {
  const temp = siblingTempPath(path)
  await writeFile(temp, `${JSON.stringify(record)}\n`)
  await rename(temp, path)
}

/** undefined for a missing or unreadable record: the transfer then starts over. */
export async function readRecordFile<T extends {version: number}>(path: string, valid: (r: T) => boolean): Promise<T | undefined> {
  try {
    const r = JSON.parse(await readFile(path, 'utf8')) as T
    return r && r.version === 1 && valid(r) ? r : undefined
  } catch {
    return undefined
  }
}
