import {AirlockError} from '../ui/errors.js'

export interface Platform {
  os: string
  architecture: string
  variant?: string
}

/** The variant a platform means when it names none (containerd's normalisation). */
const DEFAULT_VARIANT: Record<string, string> = {arm64: 'v8', arm: 'v7'}

export function parsePlatform(text: string, subject: string): Platform {
  const m = /^([a-z0-9]+)\/([a-z0-9_]+)(?:\/([a-z0-9]+))?$/.exec(text)
  if (!m) {
    throw new AirlockError('SPEC_INVALID', `${subject}: "${text}" is not a platform`, {subject, hint: 'write os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8, or "all"'})
  }
  return {os: m[1] as string, architecture: m[2] as string, ...(m[3] ? {variant: m[3]} : {})}
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`
}

/**
 * Whether an available platform satisfies a wanted one. A wanted platform without a variant takes any
 * variant; `linux/arm64/v8` also matches an index entry that omits the variant, because v8 is what
 * arm64 means when nothing is said.
 */
export function platformMatches(wanted: Platform, available: Platform): boolean {
  if (wanted.os !== available.os || wanted.architecture !== available.architecture) return false
  if (!wanted.variant) return true
  const have = available.variant ?? DEFAULT_VARIANT[available.architecture]
  return have === wanted.variant
}

/** `unknown/unknown` entries of an index are attestations and signatures, not runnable images. */
export function isRunnablePlatform(p: Platform | undefined): p is Platform {
  return p !== undefined && p.os !== 'unknown' && p.architecture !== 'unknown'
}
