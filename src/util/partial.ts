import {rmSync} from 'node:fs'
import {rename, rm} from 'node:fs/promises'

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

/**
 * Runs `write(partialPath)` and renames the result to `finalPath` only on success. On an error, or on
 * SIGINT/SIGTERM/SIGHUP, the partial file is removed, so nothing ever carries the final name that is
 * not complete and nothing stale is left behind. The signal is re-raised after cleanup so the exit
 * status still says the process was interrupted.
 */
export async function withPartialFile<T>(finalPath: string, write: (partialPath: string) => Promise<T>, options: {partialPath?: string; isDirectory?: boolean} = {}): Promise<T> {
  const partial = options.partialPath ?? `${finalPath}.partial`
  const cleanupSync = () => rmSync(partial, {force: true, recursive: Boolean(options.isDirectory)})
  const onSignal = (signal: NodeJS.Signals) => {
    cleanupSync()
    for (const s of SIGNALS) process.removeListener(s, onSignal)
    process.kill(process.pid, signal)
  }
  for (const s of SIGNALS) process.once(s, onSignal)
  try {
    const result = await write(partial)
    await rename(partial, finalPath)
    return result
  } catch (error) {
    await rm(partial, {force: true, recursive: Boolean(options.isDirectory)})
    throw error
  } finally {
    for (const s of SIGNALS) process.removeListener(s, onSignal)
  }
}
