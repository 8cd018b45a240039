import {closestNames} from '../util/suggest.js'

/**
 * One error type for every failure airlock understands. The code is a closed set so that tests,
 * scripts (`--json`) and the exit-code table all key off the same names; the wording may change,
 * the code and the subject may not.
 */
export const EXIT = {
  OK: 0,
  CHECKS_FAILED: 1,
  INPUT: 2,
  INTEGRITY: 3,
  REMOTE: 4,
  /** nothing failed, but a check that would block the install could not be decided from the facts */
  INCOMPLETE: 5,
} as const

export type ExitCode = (typeof EXIT)[keyof typeof EXIT]

/** code -> exit code. Adding a code means deciding, here, which of the five outcomes it is. */
const CODES = {
  // 1: the tool worked, the thing it checked did not pass
  CHECKS_FAILED: EXIT.CHECKS_FAILED,
  // 2: usage or input the user can fix
  USAGE: EXIT.INPUT,
  SPEC_INVALID: EXIT.INPUT,
  PROFILE_INVALID: EXIT.INPUT,
  INPUT_INVALID: EXIT.INPUT,
  FILE_NOT_FOUND: EXIT.INPUT,
  FILE_EXISTS: EXIT.INPUT,
  KEY_INVALID: EXIT.INPUT,
  PASSPHRASE_REQUIRED: EXIT.INPUT,
  PASSPHRASE_WRONG: EXIT.INPUT,
  REFERENCE_INVALID: EXIT.INPUT,
  PLATFORM_MISSING: EXIT.INPUT,
  SNAPSHOT_INVALID: EXIT.INPUT,
  NO_SPACE: EXIT.INPUT,
  INTERRUPTED: EXIT.INPUT,
  // 3: integrity or signature
  NOT_A_BUNDLE: EXIT.INTEGRITY,
  DIGEST_MISMATCH: EXIT.INTEGRITY,
  SIZE_MISMATCH: EXIT.INTEGRITY,
  TRUNCATED: EXIT.INTEGRITY,
  SIGNATURE_INVALID: EXIT.INTEGRITY,
  /** the spec requires an upstream (cosign) signature the registry does not have */
  SIGNATURE_MISSING: EXIT.INTEGRITY,
  SIGNER_UNTRUSTED: EXIT.INTEGRITY,
  CERT_INVALID: EXIT.INTEGRITY,
  CSR_INVALID: EXIT.INTEGRITY,
  ENTRY_MISSING: EXIT.INTEGRITY,
  ENTRY_UNLISTED: EXIT.INTEGRITY,
  ENTRY_DUPLICATE: EXIT.INTEGRITY,
  ENTRY_OUT_OF_ORDER: EXIT.INTEGRITY,
  UNSAFE_PATH: EXIT.INTEGRITY,
  UNSAFE_ENTRY_TYPE: EXIT.INTEGRITY,
  MANIFEST_INVALID: EXIT.INTEGRITY,
  // 4: something remote failed: registry, HTTP source, S3, cluster
  REMOTE_UNREACHABLE: EXIT.REMOTE,
  REMOTE_ERROR: EXIT.REMOTE,
  REGISTRY_AUTH: EXIT.REMOTE,
  REGISTRY_ERROR: EXIT.REMOTE,
  REGISTRY_NOT_FOUND: EXIT.REMOTE,
  S3_ERROR: EXIT.REMOTE,
  CLUSTER_UNREACHABLE: EXIT.REMOTE,
  CLUSTER_AUTH: EXIT.REMOTE,
} as const satisfies Record<string, ExitCode>

export type ErrorCode = keyof typeof CODES

export function exitCodeFor(code: ErrorCode): ExitCode {
  return CODES[code]
}

export const ERROR_CODES = CODES

export interface AirlockErrorOptions {
  /** the file, entry, YAML path, image reference ... at fault */
  subject?: string
  /** what the user should do next */
  hint?: string
  cause?: unknown
}

export class AirlockError extends Error {
  readonly code: ErrorCode
  readonly subject?: string
  readonly hint?: string
  readonly exitCode: ExitCode

  constructor(code: ErrorCode, message: string, options: AirlockErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = 'AirlockError'
    this.code = code
    this.subject = options.subject
    this.hint = options.hint
    this.exitCode = exitCodeFor(code)
  }

  toJSON(): ErrorEnvelope['error'] {
    return {
      code: this.code,
      message: this.message,
      exitCode: this.exitCode,
      ...(this.subject === undefined ? {} : {subject: this.subject}),
      ...(this.hint === undefined ? {} : {hint: this.hint}),
    }
  }
}

export interface ErrorEnvelope {
  error: {code: ErrorCode | 'INTERNAL'; message: string; exitCode: number; subject?: string; hint?: string}
}

export function isAirlockError(err: unknown): err is AirlockError {
  return err instanceof AirlockError
}

/**
 * oclif's parse errors (unknown flag, missing flag or argument, a value outside a flag's options)
 * as the USAGE error every other input mistake is, so `--json` prints the documented envelope and the
 * exit is 2. oclif does not export its parse error classes: they are CLIErrors that carry `parse`.
 * `command` is the command line the hint points at ("airlock bundle verify"). Anything else is
 * returned as it came.
 */
export function fromParseError(err: unknown, command: string, knownFlags: string[] = []): unknown {
  if (!(err instanceof Error) || !('parse' in err) || !('oclif' in err)) return err
  const e = err as Error & {flags?: unknown; args?: unknown}
  const message = e.message
    .replace(/^The following errors? occurred:\s*/, '')
    .replace(/\s*See more help with --help\s*$/, '')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .join('; ')
    .replaceAll(':; ', ': ')
    .replaceAll(/\s+/g, ' ')
  let subject: string | undefined
  if (Array.isArray(e.flags) && e.flags.length > 0) {
    subject = e.flags.map(String).join(', ')
  } else if (Array.isArray(e.args) && e.args.length > 0) {
    subject = e.args.map((a) => (typeof a === 'object' && a !== null && 'name' in a ? String(a.name).toUpperCase() : String(a))).join(', ')
  } else {
    const flag = /Missing required flag ([\w-]+)/.exec(message)?.[1]
    subject = flag === undefined ? /--[\w-]+/.exec(message)?.[0] : `--${flag}`
  }
  // a mistyped flag: name the flags it most likely meant
  const unknown = /^Nonexistent flags?: /.test(message) && Array.isArray(e.flags) ? e.flags.map(String) : []
  const meant = unknown.flatMap((f) => closestNames(f.replace(/^-+/, '').replace(/=.*$/, ''), knownFlags, 2).map((n) => `--${n}`))
  const hint = `${meant.length > 0 ? `did you mean ${[...new Set(meant)].join(' or ')}? ` : ''}see ${command} --help`
  return new AirlockError('USAGE', message, {subject, hint, cause: err})
}

/** Node's fs errors for a path the user named, mapped to what they mean for the user. */
export function fromFsError(err: unknown, path: string, what = 'file'): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  switch (code) {
    case 'ENOENT':
      return new AirlockError('FILE_NOT_FOUND', `${what} not found: ${path}`, {subject: path, hint: 'check the path', cause: err})
    case 'EACCES':
    case 'EPERM':
      return new AirlockError('INPUT_INVALID', `permission denied: ${path}`, {subject: path, hint: 'check the file permissions', cause: err})
    case 'EISDIR':
      return new AirlockError('INPUT_INVALID', `${path} is a directory, expected a ${what}`, {subject: path, cause: err})
    case 'ENOSPC':
      return new AirlockError('NO_SPACE', `no space left on the device while writing ${path}`, {subject: path, hint: 'free some space or write to another disk (--out)', cause: err})
    case 'EEXIST':
      return new AirlockError('FILE_EXISTS', `${path} already exists`, {subject: path, hint: 'remove it or pass --force', cause: err})
    case 'ENOTDIR':
      return new AirlockError('INPUT_INVALID', `${path}: a folder on the way to it is a file`, {subject: path, hint: 'check the path', cause: err})
    case 'ENAMETOOLONG':
      return new AirlockError('INPUT_INVALID', `${path}: the name is too long for the file system`, {subject: path, hint: 'use a shorter path', cause: err})
    case 'ELOOP':
      return new AirlockError('INPUT_INVALID', `${path}: too many symbolic links on the way to it`, {subject: path, hint: 'check the path', cause: err})
    case 'EROFS':
      return new AirlockError('INPUT_INVALID', `${path} is on a read-only file system`, {subject: path, hint: 'write somewhere else', cause: err})
    default:
      return err
  }
}
