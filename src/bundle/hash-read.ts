import type {Hash} from 'node:crypto'
import type {readSync as ReadSync} from 'node:fs'

/**
 * Hashes bytes [from, to) of an open file into `hash`, reading through `buf`; `to` = Infinity reads to
 * the end of the file. Returns the bytes read. A file that ends before `to` throws TRUNCATED.
 *
 * The one read-and-hash loop of every hashing thread: worker threads run it from its source text
 * (HASH_READ_SOURCE, so it uses nothing but its arguments and globals), this thread calls it directly.
 */
export function hashRead(readSync: typeof ReadSync, fd: number, buf: Buffer, hash: Hash, from: number, to: number): number {
  let pos = from
  while (pos < to) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, to - pos), pos)
    if (n === 0) {
      if (to === Infinity) break
      throw Object.assign(new Error(`the file ended at byte ${pos}, before byte ${to}`), {code: 'TRUNCATED'})
    }
    hash.update(buf.subarray(0, n))
    pos += n
  }
  return pos - from
}

/** `const hashRead = ...`: a line of JavaScript to put into a worker thread's source. */
export const HASH_READ_SOURCE = `const hashRead = ${hashRead.toString()}`
