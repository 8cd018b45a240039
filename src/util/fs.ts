import {randomBytes} from 'node:crypto'
import {constants} from 'node:fs'
import {chmod, open, readdir, readFile, rename, rm, stat} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

import {AirlockError, fromFsError} from '../ui/errors.js'

/** A temp name in the same folder as `path`, so the final rename is atomic (same filesystem). */
export function siblingTempPath(path: string, tag = 'tmp'): string {
  return join(dirname(path), `.${basename(path)}.${tag}-${randomBytes(4).toString('hex')}`)
}

export async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch {
    return false
  }
}

export async function readSmallFile(path: string, options: {what?: string; maxBytes?: number} = {}): Promise<Buffer> {
  const max = options.maxBytes ?? 64 << 20
  try {
    const info = await stat(path)
    if (info.isDirectory()) throw Object.assign(new Error('is a directory'), {code: 'EISDIR'})
    if (info.size > max) {
      throw new AirlockError('INPUT_INVALID', `${path} is ${info.size} bytes, more than the ${max} a ${options.what ?? 'file'} may have`, {subject: path})
    }
    return await readFile(path)
  } catch (error) {
    throw fromFsError(error, path, options.what)
  }
}

/**
 * Writes `data` under a temp name with `mode`, fsyncs, then renames. Without `force` an existing
 * file is never replaced: the check happens before anything is written and again at the rename.
 */
export async function writeFileAtomic(path: string, data: string | Buffer, options: {force?: boolean; mode?: number} = {}): Promise<void> {
  const mode = options.mode ?? 0o644
  if (!options.force && (await pathExists(path))) {
    throw new AirlockError('FILE_EXISTS', `${path} already exists`, {subject: path, hint: 'remove it, choose another --out, or pass --force'})
  }
  const temp = siblingTempPath(path)
  try {
    // O_EXCL with the final mode from the first byte: a secret is never readable by others, not even briefly.
    const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode)
    try {
      await handle.writeFile(data)
      await handle.chmod(mode) // the umask may have narrowed it; set exactly what was asked
      await handle.sync()
    } finally {
      await handle.close()
    }
    if (!options.force && (await pathExists(path))) {
      throw new AirlockError('FILE_EXISTS', `${path} already exists`, {subject: path, hint: 'remove it or pass --force'})
    }
    await rename(temp, path)
    await fsyncPath(dirname(path))
  } catch (error) {
    await rm(temp, {force: true})
    throw fromFsError(error, path)
  }
}

/** Flushes a file's bytes (or a folder's entries) to the disk. */
export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r')
  try {
    await handle.sync()
  } catch (error) {
    // some filesystems cannot fsync a folder (EINVAL); there is nothing more to do for them
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EISDIR') throw error
  } finally {
    await handle.close()
  }
}

/** Every folder under `dir`, `dir` included: their entries are what a crash loses after files were synced. */
async function fsyncFolders(dir: string): Promise<void> {
  for (const e of await readdir(dir, {withFileTypes: true})) {
    if (e.isDirectory()) await fsyncFolders(join(dir, e.name))
  }
  await fsyncPath(dir)
}

/**
 * Gives a finished file (or folder) its final name so that a crash or power loss leaves either
 * nothing or all of it under that name: its bytes are synced before the rename, and the folder
 * holding the name after. For a folder, the files in it are synced by whoever wrote them (`sync` on
 * the handle before closing); the folders' own entries are synced here.
 */
export async function renameDurably(from: string, to: string, options: {isDirectory?: boolean} = {}): Promise<void> {
  if (options.isDirectory) await fsyncFolders(from)
  else await fsyncPath(from)
  await rename(from, to)
  await fsyncPath(dirname(to))
}

/** A private key or other secret: mode 0600, atomic, never replaced without `force`. */
export async function writeSecretFile(path: string, data: string | Buffer, options: {force?: boolean} = {}): Promise<void> {
  await writeFileAtomic(path, data, {force: options.force, mode: 0o600})
  await chmod(path, 0o600)
}

/** The first `n` bytes of a file (fewer if it is shorter): enough to tell a format by its magic. */
export async function readFileHead(path: string, n: number, what = 'file'): Promise<Buffer> {
  let handle
  try {
    handle = await open(path, 'r')
  } catch (error) {
    throw fromFsError(error, path, what)
  }
  try {
    const {bytesRead, buffer} = await handle.read(Buffer.alloc(n), 0, n, 0)
    return buffer.subarray(0, bytesRead)
  } catch (error) {
    throw fromFsError(error, path, what)
  } finally {
    await handle.close()
  }
}

export function isGzipMagic(head: Buffer): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b
}
