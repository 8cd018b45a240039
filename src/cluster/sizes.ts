import {formatMemory} from './quantity.js'

/**
 * Two sizes side by side, each precise enough that the reader sees which is larger: `15.99 GB` against
 * `>= 16 GB` rather than two identical `16 GB`. The message must agree with the verdict.
 */
export function formatSizeAgainst(bytes: number, other: number): string {
  if (bytes === other) return formatMemory(bytes)
  for (let digits = 2; digits <= 9; digits++) {
    const f = 10 ** digits
    if (Math.round((bytes / 1e9) * f) !== Math.round((other / 1e9) * f)) {
      if (digits === 2) return formatMemory(bytes)
      return `${Math.round((bytes / 1e9) * f) / f} GB (${Math.round((bytes / 2 ** 30) * 100) / 100} GiB)`
    }
  }
  return `${bytes} bytes (${Math.round((bytes / 2 ** 30) * 100) / 100} GiB)`
}
