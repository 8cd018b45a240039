import {randomBytes} from 'node:crypto'
import {constants} from 'node:fs'
import {chmod, open, readFile, rename, rm, stat} from 'node:fs/promises'
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
  } catch (error) {
    await rm(temp, {force: true})
    throw fromFsError(error, path)
  }
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
