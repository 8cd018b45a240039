/**
 * Kubernetes resource quantities (k8s.io/apimachinery resource.Quantity), as the API writes them:
 * `16302084Ki`, `15.5Gi`, `3920m`, `16G`, `1e3`, `110`. Binary suffixes are powers of 1024, decimal
 * ones powers of 1000, `m`/`u`/`n` are fractions (CPU millicores). The value is returned in base units
 * (bytes, cores, pods) as a JavaScript number: exact for every integer below 2^53, which covers
 * 8 PiB, far past any node. The grammar is checked strictly so that a typo is an error, not a zero.
 */
const BINARY: Record<string, number> = {Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60}
const DECIMAL: Record<string, number> = {n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18}

const GRAMMAR = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/

export class QuantityError extends Error {}

/**
 * Resource amounts are never negative, and a number past 2^53 (or Infinity, from `1e400`) cannot be
 * counted exactly: such a value is refused, never summed as Infinity or negative cores.
 */
export function parseQuantity(text: string): number {
  const m = GRAMMAR.exec(text.trim())
  if (!m) throw new QuantityError(`not a Kubernetes quantity: ${JSON.stringify(text)}`)
  const [, number = '', suffix = ''] = m
  if (number.startsWith('-')) throw new QuantityError(`a resource quantity cannot be negative: ${JSON.stringify(text)}`)
  const value = Number(number)
  const result = suffix in BINARY ? value * (BINARY[suffix] as number) : suffix in DECIMAL ? scaleDecimal(number, DECIMAL[suffix] as number) : scaleDecimal(number, 10 ** Number(suffix.slice(1)))
  if (!Number.isFinite(result) || result > Number.MAX_SAFE_INTEGER) throw new QuantityError(`quantity ${JSON.stringify(text.slice(0, 40))} is larger than any resource can be (above 2^53)`)
  return result
}

/** `3920m` must be 3.92 exactly enough that 4 nodes sum to 15.68, not 15.679999: divide, never multiply by 0.001. */
function scaleDecimal(number: string, factor: number): number {
  const value = Number(number)
  return factor < 1 ? value / Math.round(1 / factor) : value * factor
}

export function isQuantity(text: unknown): text is string {
  return typeof text === 'string' && GRAMMAR.test(text.trim())
}

/** 16.75 GB (15.6 GiB): decimal first, as the profile is written, binary after, as `kubectl` shows it. */
export function formatMemory(bytes: number): string {
  return `${round(bytes / 1e9)} GB (${round(bytes / 2 ** 30)} GiB)`
}

export function formatCores(cores: number): string {
  return Number.isInteger(cores) ? String(cores) : String(round(cores, 3))
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits
  return Math.round(n * f) / f
}
