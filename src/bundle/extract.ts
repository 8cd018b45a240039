import {randomBytes} from 'node:crypto'
import {mkdir, open, readdir, rmdir, stat, type FileHandle} from 'node:fs/promises'
import {basename, dirname, join, resolve} from 'node:path'

import type {Trust} from '../signing/trust.js'
import {AirlockError, fromFsError} from '../ui/errors.js'
import {withPartialFile} from '../util/partial.js'
import type {BundleManifest} from './format.js'
import {resolveInside} from './path-safety.js'
import type {BundleInput} from './source.js'
import {verifyBundle, type EntrySink, type EntryWriter, type VerifyResult} from './verify.js'

export interface ExtractResult extends VerifyResult {
  to: string
  files: number
}

async function checkTarget(dir: string): Promise<boolean> {
  try {
    const info = await stat(dir)
    if (!info.isDirectory()) throw new AirlockError('FILE_EXISTS', `${dir} exists and is not a folder`, {subject: dir, hint: 'choose another --to'})
    if ((await readdir(dir)).length > 0) throw new AirlockError('FILE_EXISTS', `${dir} is not empty`, {subject: dir, hint: 'extract into a new or empty folder'})
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw error
  }
}

/** Writes each entry under `base` as it streams; only regular files, only inside `base`, never replacing. */
function diskSink(base: string): EntrySink & {count: number} {
  const sink = {
    count: 0,
    writesEveryBody: true,
    async head(name: string, data: Buffer) {
      const handle = await createFile(base, name, 0o644)
      try {
        await handle.writeFile(data)
      } finally {
        await handle.close()
      }
      sink.count++
    },
    async open(rel: string, _entry: unknown, manifest: BundleManifest | undefined): Promise<EntryWriter> {
      // Only the signed manifest may grant the execute bit, and only to entries it marks executable.
      const executable = manifest?.files.some((f) => f.path === rel && (f.role === 'executable' || f.executable === true)) ?? false
      const handle = await createFile(base, rel, executable ? 0o755 : 0o644)
      sink.count++
      return {
        async write(chunk: Buffer) {
          await handle.write(chunk).catch((error: unknown) => {
            throw extractError(error, resolveInside(base, rel), rel)
          })
        },
        async close() {
          await handle.sync() // durable before the folder is renamed into place
          await handle.close()
        },
        async abort() {
          await handle.close().catch(() => {})
        },
      }
    },
  }
  return sink
}

async function createFile(base: string, rel: string, mode: number): Promise<FileHandle> {
  const full = resolveInside(base, rel)
  try {
    await mkdir(dirname(full), {recursive: true, mode: 0o755})
    // 'wx': a second entry can never overwrite a first, whatever the checks above let through
    return await open(full, 'wx', mode)
  } catch (error) {
    throw extractError(error, full, rel)
  }
}

/**
 * The walk already refused names that collide (case, x and x/y), so a collision here means this disk
 * folds names in a way it did not foresee (Unicode normalisation, 8.3 names): an integrity refusal
 * naming the entry, not FILE_EXISTS with a --force extract does not have.
 */
function extractError(error: unknown, full: string, rel: string): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  if (code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR') {
    return new AirlockError('ENTRY_DUPLICATE', `entry ${rel} collides with another entry of the bundle on this disk (${code} at ${full})`, {subject: rel, hint: 'extract on a case-sensitive file system, or do not use this bundle', cause: error})
  }
  if (code === 'ENAMETOOLONG') {
    return new AirlockError('INPUT_INVALID', `entry ${rel} gives a path too long for this file system: ${full}`, {subject: rel, hint: 'extract into a folder with a shorter path (--to)', cause: error})
  }
  return fromFsError(error, full)
}

/**
 * Verifies and extracts in the same pass into a temporary folder beside `to`, renamed into place only
 * when every check passed; on any failure the temporary folder is removed and `to` is untouched.
 * The bundle's root folder is stripped: `to` receives SHA256SUMS, manifest.json, images/, ...
 */
export async function extractBundle(input: BundleInput, trust: Trust, to: string, onProgress?: (bytesRead: number) => void): Promise<ExtractResult> {
  const target = resolve(to)
  const existedEmpty = await checkTarget(target)
  await mkdir(dirname(target), {recursive: true})
  const partial = join(dirname(target), `.${basename(target)}.partial-${randomBytes(4).toString('hex')}`)
  return withPartialFile(
    target,
    async (tmp) => {
      await mkdir(tmp, {mode: 0o755})
      const sink = diskSink(tmp)
      const result = await verifyBundle(input, trust, sink, new Date(), onProgress)
      if (existedEmpty) await rmdir(target)
      return {...result, to: target, files: sink.count}
    },
    {partialPath: partial, isDirectory: true},
  )
}
