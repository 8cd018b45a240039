import {rmSync} from 'node:fs'
import {rm} from 'node:fs/promises'

import {renameDurably} from './fs.js'

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
const cleanups = new Set<() => void | Promise<void>>()

function onSignal(signal: NodeJS.Signals): void {
  const pending: Promise<void>[] = []
  for (const fn of [...cleanups].reverse()) {
    try {
      const r = fn()
      if (r) pending.push(r.catch(() => {}))
    } catch {
      // cleanup is best effort; the signal must still end the process
    }
  }
  cleanups.clear()
  for (const s of SIGNALS) process.removeListener(s, onSignal)
  // re-raise with the default action, so the exit status still says "interrupted"
  const reraise = () => {
    process.kill(process.pid, signal)
  }
  if (pending.length === 0) return reraise()
  // an asynchronous cleanup (aborting an S3 upload) bounds its own time; a second signal now ends the process at once
  void Promise.all(pending).then(reraise)
}

/**
 * Registers a cleanup to run if the process is interrupted; returns the unregister function. One
 * handler serves every registration, so nested temp files all go. A cleanup that returns a promise
 * (a remote upload to abort) is awaited before the signal is re-raised; it must bound its own time.
 */
export function cleanupOnInterrupt(fn: () => void | Promise<void>): () => void {
  if (cleanups.size === 0) for (const s of SIGNALS) process.on(s, onSignal)
  cleanups.add(fn)
  return () => {
    cleanups.delete(fn)
    if (cleanups.size === 0) for (const s of SIGNALS) process.removeListener(s, onSignal)
  }
}

export function removeOnInterrupt(path: string): () => void {
  return cleanupOnInterrupt(() => rmSync(path, {force: true, recursive: true}))
}

/**
 * Runs `write(partialPath)` and renames the result to `finalPath` only on success. On an error, or on
 * SIGINT/SIGTERM/SIGHUP, the partial file is removed, so nothing ever carries the final name that is
 * not complete and nothing stale is left behind. The rename is durable (renameDurably): what carries
 * the final name after a crash is the whole file.
 */
export async function withPartialFile<T>(finalPath: string, write: (partialPath: string) => Promise<T>, options: {partialPath?: string; isDirectory?: boolean} = {}): Promise<T> {
  const partial = options.partialPath ?? `${finalPath}.partial`
  const unregister = removeOnInterrupt(partial)
  try {
    const result = await write(partial)
    await renameDurably(partial, finalPath, {isDirectory: options.isDirectory})
    return result
  } catch (error) {
    await rm(partial, {force: true, recursive: Boolean(options.isDirectory)})
    throw error
  } finally {
    unregister()
  }
}
