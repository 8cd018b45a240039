import type {BigIntStats} from 'node:fs'
import {statfs, type FileHandle} from 'node:fs/promises'

/**
 * What a file is and when its data or metadata last changed. Two equal identities of the same open
 * file, taken at two moments, mean nothing wrote to it in between: every write, truncate, rename or
 * link count change moves ctime to the present, and an unprivileged writer cannot set ctime back
 * (utimes sets mtime and atime only, and moves ctime forward itself).
 */
export interface FileIdentity {
  dev: bigint
  ino: bigint
  size: bigint
  mtimeNs: bigint
  ctimeNs: bigint
}

export function identityOf(s: BigIntStats): FileIdentity {
  return {dev: s.dev, ino: s.ino, size: s.size, mtimeNs: s.mtimeNs, ctimeNs: s.ctimeNs}
}

/** The identity of an open file, whatever its path names now. */
export async function handleIdentity(handle: FileHandle): Promise<FileIdentity> {
  return identityOf(await handle.stat({bigint: true}))
}

export function sameFile(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino
}

export function unchanged(a: FileIdentity, b: FileIdentity): boolean {
  return sameFile(a, b) && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs
}

/**
 * Local file systems whose ctime the kernel itself moves on every change. Network and FUSE file
 * systems are left out: their attributes may be cached (another client's write is seen late or
 * not at all) or come from another machine's clock.
 */
const LOCAL_FILE_SYSTEMS = new Set([
  0xef53, // ext2, ext3, ext4
  0x58465342, // xfs
  0x9123683e, // btrfs
  0x01021994, // tmpfs
  0x794c7630, // overlayfs (containers)
  0x2fc12fc1, // zfs
  0xf2f52010, // f2fs
  0xca451a4e, // bcachefs
])

/**
 * A file that changed this recently may change again within the same timestamp tick (coarse
 * timestamps: a jiffy; some file systems keep whole seconds), and two changes in one tick leave
 * ctime where it was. Two seconds covers every granularity of the file systems above.
 */
const SETTLED_NS = 2_000_000_000n

/** Whether a change to this file is sure to move its identity: local, and not changed just now. */
export async function pinnable(path: string, id: FileIdentity, nowNs = BigInt(Date.now()) * 1_000_000n): Promise<boolean> {
  if (nowNs - id.ctimeNs < SETTLED_NS) return false
  const fs = await statfs(path).catch(() => undefined)
  return fs !== undefined && LOCAL_FILE_SYSTEMS.has(fs.type)
}
