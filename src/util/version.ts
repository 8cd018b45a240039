import {readFileSync} from 'node:fs'

let cached: string | undefined

/** A packaged single executable has no package.json on disk: it sets the version embedded at build time. */
export function setToolVersion(version: string): void {
  cached = version
}

/** airlock's own version, from package.json beside dist/ or src/. */
export function toolVersion(): string {
  if (cached) return cached
  try {
    cached = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {version: string}).version
  } catch {
    cached = process.env.AIRLOCK_VERSION ?? '0.0.0'
  }
  return cached
}
