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

/** One name longer than most file systems hold (255 bytes) would fail extraction halfway with ENAMETOOLONG. */
export const MAX_SEGMENT_BYTES = 255

export function capDepth(entry: string, parts: string[]): void {
  if (parts.length > MAX_PATH_DEPTH) reject(entry, `deeper than ${MAX_PATH_DEPTH} levels`)
  if (entry.length > MAX_PATH_LENGTH) reject(entry, `longer than ${MAX_PATH_LENGTH} characters`)
  if (parts.some((p) => Buffer.byteLength(p) > MAX_SEGMENT_BYTES)) reject(entry, `a name in it is longer than ${MAX_SEGMENT_BYTES} bytes`)
}

/*
 * The characters a bundle entry name may hold: those airlock itself writes (spec `as:` names, image
 * blobs, chart archives), plus a few harmless ones. VERIFY.txt refuses exactly the same set (it is
 * rendered from this string), so a name outside it is refused by every reader alike. Anything else
 * (non-ASCII, which has NFC/NFD twins and bytes that are not UTF-8; quotes; shell and glob
 * characters) could name one file for one tool and another file, or none, for the next.
 */
export const ENTRY_NAME_CHARS = 'A-Za-z0-9._/+@:=,~ -'
const ENTRY_NAME = new RegExp(`^[${ENTRY_NAME_CHARS}]+$`)

/** A bundle entry name: every rule of checkRelativePath, and only the portable characters above. */
export function checkEntryName(entry: string): string[] {
  const parts = checkRelativePath(entry)
  if (!ENTRY_NAME.test(entry.replace(/\/$/, ''))) reject(entry, `a character outside ${ENTRY_NAME_CHARS.replace(' ', 'space ')}`)
  return parts
}

/**
 * The names of one bundle, as a case-insensitive file system would see them. Two entries that fold
 * to one name (README and readme), a file that is also a folder of another entry (x and x/y), or a
 * folder entry listed twice would overwrite or fail halfway on extraction somewhere; every reader
 * refuses them up front instead.
 */
export class EntryNames {
  private readonly files = new Map<string, string>()
  private readonly folders = new Map<string, string>()
  private readonly folderEntries = new Set<string>()

  constructor(private readonly duplicate: (entry: string, other: string) => Error) {}

  addFile(rel: string): void {
    const key = rel.toLowerCase()
    const other = this.files.get(key) ?? this.folders.get(key)
    if (other !== undefined) throw this.duplicate(rel, other)
    this.addParents(rel)
    this.files.set(key, rel)
  }

  addFolder(rel: string): void {
    const key = rel.toLowerCase()
    const other = this.files.get(key)
    if (other !== undefined) throw this.duplicate(`${rel}/`, other)
    if (this.folderEntries.has(key)) throw this.duplicate(`${rel}/`, `${rel}/`)
    this.folderEntries.add(key)
    this.addParents(`${rel}/`)
  }

  /*
   * Each folder is keyed by a slice of the one lower-cased name (V8 keeps a long slice as a view, not
   * a copy) and remembered by the entry that brought it: 32 levels of 4096-character names would
   * otherwise cost every entry 32 fresh copies of its prefixes, many times the size of SHA256SUMS.
   */
  private addParents(rel: string): void {
    const lower = rel.toLowerCase()
    for (let i = lower.indexOf('/'); i > 0; i = lower.indexOf('/', i + 1)) {
      const key = lower.slice(0, i)
      const file = this.files.get(key)
      if (file !== undefined) throw this.duplicate(rel, file)
      if (!this.folders.has(key)) this.folders.set(key, rel)
    }
  }
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
export function checkEntryType(entry: string, type: TarEntryType, mode = 0): 'file' | 'directory' {
  // set-user-ID, set-group-ID and sticky bits are not signed, and tar(1) run as root restores them
  if ((mode & 0o7000) !== 0) throw new AirlockError('UNSAFE_ENTRY_TYPE', `entry ${entry} has mode ${(mode & 0o7777).toString(8)} (set-user-ID, set-group-ID or sticky); bundles hold plain files`, {subject: entry, hint: 'the bundle was not made by airlock or was tampered with'})
  switch (type) {
    case 'File':
    case 'OldFile':
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
