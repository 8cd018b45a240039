import {isAbsolute, relative, resolve, sep} from 'node:path'

import {AirlockError} from '../ui/errors.js'

/*
 * Entry names come from an untrusted tar. Each rule is its own function so that each can be read
 * and tested alone; `checkEntryPath` composes them and ends with a resolved-prefix test, which holds
 * even if a rule above is ever loosened. Modelled on node-tar's strip-absolute-path and unpack checks.
 */

export const MAX_PATH_DEPTH = 32
export const MAX_PATH_LENGTH = 4096

function reject(entry: string, why: string): never {
  throw new AirlockError('UNSAFE_PATH', `unsafe entry path ${JSON.stringify(entry)}: ${why}`, {
    subject: entry,
    hint: 'the bundle was not made by airlock or was tampered with; do not use it',
  })
}

/** NUL and control characters truncate or disguise names in C tools and terminals. */
export function rejectControlCharacters(entry: string): void {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(entry)) reject(entry, 'control character in the name')
}

/** `/x`, `C:\x`, `\\host\x`: anything that would anchor outside the target. */
export function rejectAbsolute(entry: string): void {
  if (entry.startsWith('/') || entry.startsWith('\\') || /^[a-zA-Z]:/.test(entry) || isAbsolute(entry)) reject(entry, 'absolute path')
}

/** Backslashes are separators on Windows; refusing them keeps the meaning the same everywhere. */
export function rejectBackslash(entry: string): void {
  if (entry.includes('\\')) reject(entry, 'backslash in the name')
}

/** `..` anywhere climbs out; `.` and empty segments make two names for one file (a duplicate in disguise). */
export function rejectDotSegments(entry: string): string[] {
  const parts = entry.replace(/\/$/, '').split('/')
  for (const part of parts) {
    if (part === '..') reject(entry, '".." segment')
    if (part === '.' || part === '') reject(entry, 'empty or "." segment')
  }
  return parts
}

export function capDepth(entry: string, parts: string[]): void {
  if (parts.length > MAX_PATH_DEPTH) reject(entry, `deeper than ${MAX_PATH_DEPTH} levels`)
  if (entry.length > MAX_PATH_LENGTH) reject(entry, `longer than ${MAX_PATH_LENGTH} characters`)
}

/** All rules; returns the normalized segments of a relative path. */
export function checkRelativePath(entry: string): string[] {
  rejectControlCharacters(entry)
  rejectAbsolute(entry)
  rejectBackslash(entry)
  const parts = rejectDotSegments(entry)
  capDepth(entry, parts)
  return parts
}

/** The final guard before any write: the resolved path must still be inside `target`. */
export function resolveInside(target: string, entry: string): string {
  checkRelativePath(entry)
  const root = resolve(target)
  const full = resolve(root, entry)
  const rel = relative(root, full)
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || !full.startsWith(root + sep)) reject(entry, 'resolves outside the target folder')
  return full
}

export type TarEntryType = string

/** Default-deny: only regular files and folders may appear in a bundle. */
export function checkEntryType(entry: string, type: TarEntryType): 'file' | 'directory' {
  switch (type) {
    case 'File':
    case 'OldFile':
    case 'ContiguousFile':
      return 'file'
    case 'Directory':
      return 'directory'
    case 'SymbolicLink':
    case 'Link':
      throw new AirlockError('UNSAFE_ENTRY_TYPE', `entry ${entry} is a ${type === 'Link' ? 'hard link' : 'symbolic link'}; bundles hold regular files only`, {subject: entry, hint: 'the bundle was not made by airlock or was tampered with'})
    case 'CharacterDevice':
    case 'BlockDevice':
    case 'FIFO':
      throw new AirlockError('UNSAFE_ENTRY_TYPE', `entry ${entry} is a ${type}; bundles hold regular files only`, {subject: entry, hint: 'the bundle was not made by airlock or was tampered with'})
    default:
      throw new AirlockError('UNSAFE_ENTRY_TYPE', `entry ${entry} has an unsupported tar type ${type}`, {subject: entry, hint: 'the bundle was not made by airlock or was tampered with'})
  }
}
