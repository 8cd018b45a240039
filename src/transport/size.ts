import {AirlockError} from '../ui/errors.js'

const UNITS: Record<string, number> = {
  '': 1,
  K: 1024,
  M: 1024 ** 2,
  G: 1024 ** 3,
  T: 1024 ** 4,
  KB: 1000,
  MB: 1000 ** 2,
  GB: 1000 ** 3,
  TB: 1000 ** 4,
  KIB: 1024,
  MIB: 1024 ** 2,
  GIB: 1024 ** 3,
  TIB: 1024 ** 4,
}

/**
 * `4G`, `64M`, `500MB`, `1048576`: the suffixes mean what they mean to coreutils `split` (K/M/G are
 * powers of 1024, KB/MB/GB powers of 1000), so a size that works with `split -b` works here.
 */
export function parseSize(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim())
  const unit = m ? UNITS[(m[2] ?? '').toUpperCase()] : undefined
  if (!m || unit === undefined) {
    throw new AirlockError('USAGE', `${flag} ${text} is not a size`, {subject: flag, hint: 'write it as 4G, 64M (or 64MiB), 500MB or a number of bytes'})
  }
  const bytes = Math.floor(Number(m[1]) * unit)
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw new AirlockError('USAGE', `${flag} ${text} is out of range`, {subject: flag})
  return bytes
}
