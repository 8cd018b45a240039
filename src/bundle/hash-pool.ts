import {createHash, type Hash} from 'node:crypto'
import {availableParallelism} from 'node:os'
import type {Worker} from 'node:worker_threads'

import {HASH_READ_SOURCE} from './hash-read.js'
import {startWorker} from './range-hasher.js'

/*
 * SHA-256 is the limit of verifying a bundle (about 1 GB/s on one core). Entries carry their own
 * digests, so they can be hashed side by side: the main thread walks the tar and copies each large
 * entry's chunks into slots of one SharedArrayBuffer, and a worker hashes them in place. Nothing is
 * allocated per chunk and the slots bound the bytes in flight, so memory stays flat whatever the
 * bundle's size; the reader may reuse its own buffer as soon as the copy is made. A plain file needs
 * no copy at all: see RangeHasher (range-hasher.ts), which `bundle verify` uses for one.
 */

const WORKER_SOURCE = `
const {parentPort, workerData} = require('node:worker_threads')
const {createHash} = require('node:crypto')
const fs = require('node:fs')
const ring = new Uint8Array(workerData.ring)
const jobs = new Map()
let fileBuffer
${HASH_READ_SOURCE}
function readJob(m, h) {
  fileBuffer = fileBuffer || Buffer.allocUnsafe(4 << 20)
  let fd
  try {
    fd = fs.openSync(m.path, 'r')
    return hashRead(fs.readSync, fd, fileBuffer, h, m.from || 0, m.to === undefined ? Infinity : m.to)
  } finally {
    if (fd !== undefined) fs.closeSync(fd)
  }
}
function hashFile(m) {
  try {
    const h = createHash('sha256')
    const size = readJob(m, h)
    parentPort.postMessage({t: 'd', id: m.id, d: h.digest('hex'), size})
  } catch (error) {
    parentPort.postMessage({t: 'x', id: m.id, code: error.code, message: error.message})
  }
}
function hashRange(m) {
  let h = jobs.get(m.id)
  if (!h) jobs.set(m.id, (h = createHash('sha256')))
  try {
    readJob(m, h)
  } catch (error) {
    jobs.delete(m.id)
    parentPort.postMessage({t: 'x', id: m.id, code: error.code, message: error.message})
  }
}
parentPort.on('message', (m) => {
  if (m.t === 'f') {
    hashFile(m)
  } else if (m.t === 'r') {
    hashRange(m)
  } else if (m.t === 'u') {
    let h = jobs.get(m.id)
    if (!h) jobs.set(m.id, (h = createHash('sha256')))
    h.update(ring.subarray(m.off, m.off + m.n))
    parentPort.postMessage({t: 'a', slot: m.slot})
  } else {
    const h = jobs.get(m.id) || createHash('sha256')
    jobs.delete(m.id)
    parentPort.postMessage({t: 'd', id: m.id, d: h.digest('hex')})
  }
})
`

/** Entries smaller than this are hashed on the main thread: a message costs more than the hash. */
export const PARALLEL_MIN_BYTES = 4 << 20
const SLOT_BYTES = 1 << 20
// 8 MiB in flight keeps two workers fed; 16 cost a 2 GiB registry build 15 MB more peak RSS for no speed
const SLOTS = 8

export interface HashJob {
  update(chunk: Buffer): Promise<void> | void
  digest(): Promise<string>
}

interface Slot {
  worker: Worker
  queued: number
}

export class HashPool {
  private readonly slots: Slot[] = []
  private ring: Uint8Array | undefined
  private free: number[] = []
  private waiters: (() => void)[] = []
  private readonly pending = new Map<number, {resolve: (d: string, size: number) => void; reject: (e: Error) => void}>()
  private nextId = 0
  private failed: Error | undefined
  private active = 0
  private closing = false

  /** Keeps the workers referenced while any job is out, so awaiting a reply keeps the process alive. */
  private hold<T>(work: Promise<T>): Promise<T> {
    if (this.active++ === 0) for (const s of this.slots) s.worker.ref()
    return work.finally(() => {
      // a reply still in flight when close() began must not unref the workers it is terminating
      if (--this.active === 0 && !this.closing) for (const s of this.slots) s.worker.unref()
    })
  }

  constructor(readonly size = Math.max(1, Math.min(availableParallelism(), 4))) {}

  /** A job for one entry: on a worker when the entry is large, on this thread otherwise. */
  begin(expectedBytes: number): HashJob {
    if (expectedBytes < PARALLEL_MIN_BYTES || this.size < 2) return localJob(createHash('sha256'))
    const slot = this.pick()
    const id = this.nextId++
    const digest = this.hold(new Promise<string>((resolve, reject) => this.pending.set(id, {resolve: (d) => resolve(d), reject})))
    digest.catch(() => {})
    slot.queued += expectedBytes
    return {
      update: async (chunk) => {
        for (let at = 0; at < chunk.length; at += SLOT_BYTES) {
          if (this.failed) throw this.failed
          while (this.free.length === 0) await new Promise<void>((r) => this.waiters.push(r))
          const ringSlot = this.free.pop() as number
          const piece = chunk.subarray(at, at + SLOT_BYTES)
          const off = ringSlot * SLOT_BYTES
          ;(this.ring as Uint8Array).set(piece, off)
          slot.worker.postMessage({t: 'u', id, slot: ringSlot, off, n: piece.length})
        }
      },
      digest: () => {
        slot.worker.postMessage({t: 'e', id})
        return digest.finally(() => {
          slot.queued -= expectedBytes
        })
      },
    }
  }

  /**
   * SHA-256 and size of a whole local file, read and hashed on a worker: a build hashes every file
   * before writing (the digests are signed first), and this lets those reads run side by side.
   */
  hashFile(path: string, expectedBytes: number): Promise<{sha256: string; size: number}> {
    if (this.failed) return Promise.reject(this.failed)
    const slot = this.pick()
    const id = this.nextId++
    slot.queued += expectedBytes
    return this.hold(new Promise<{sha256: string; size: number}>((resolve, reject) => {
      this.pending.set(id, {resolve: (sha256, size) => resolve({sha256, size}), reject})
      slot.worker.postMessage({t: 'f', id, path})
    })).finally(() => {
      slot.queued -= expectedBytes
    })
  }

  /**
   * A digest over ranges of a file, added in order as they become final (a download landing out of
   * order): the worker reads each range back (from the page cache) and hashes it, off this thread.
   */
  fileRangeJob(path: string, expectedBytes: number): {addRange(from: number, to: number): void; digest(): Promise<string>} {
    const slot = this.pick()
    const id = this.nextId++
    slot.queued += expectedBytes
    const digest = this.hold(new Promise<string>((resolve, reject) => this.pending.set(id, {resolve: (d) => resolve(d), reject})))
    digest.catch(() => {})
    return {
      addRange: (from, to) => {
        if (to > from) slot.worker.postMessage({t: 'r', id, path, from, to})
      },
      digest: () => {
        slot.worker.postMessage({t: 'e', id})
        return digest.finally(() => {
          slot.queued -= expectedBytes
        })
      },
    }
  }

  private pick(): Slot {
    if (this.slots.length < this.size) {
      if (!this.ring) {
        const shared = new SharedArrayBuffer(SLOTS * SLOT_BYTES)
        this.ring = new Uint8Array(shared)
        this.free = Array.from({length: SLOTS}, (_, i) => i)
      }
      const worker = startWorker(WORKER_SOURCE, {workerData: {ring: this.ring.buffer}})
      worker.on('message', (m: {t: string; slot?: number; id?: number; d?: string; size?: number; code?: string; message?: string}) => {
        if (m.t === 'a') {
          this.free.push(m.slot as number)
          const waiters = this.waiters
          this.waiters = []
          for (const w of waiters) w()
        } else if (m.t === 'd' && m.id !== undefined) {
          this.pending.get(m.id)?.resolve(m.d ?? '', m.size ?? 0)
          this.pending.delete(m.id)
        } else if (m.t === 'x' && m.id !== undefined) {
          this.pending.get(m.id)?.reject(Object.assign(new Error(m.message), {code: m.code}))
          this.pending.delete(m.id)
        }
      })
      worker.on('error', (error) => {
        this.failed = error
        for (const p of this.pending.values()) p.reject(error)
        this.pending.clear()
      })
      // idle workers never keep the process alive; `hold` refs them while a job is out
      worker.unref()
      const slot = {worker, queued: 0}
      this.slots.push(slot)
      return slot
    }
    return this.slots.reduce((a, b) => (b.queued < a.queued ? b : a))
  }

  async close(): Promise<void> {
    // an unref'd worker's exit does not keep the process alive: without this, awaiting terminate()
    // could leave the event loop empty and node would quit with exit code 13 (unsettled await)
    this.closing = true
    for (const s of this.slots) s.worker.ref()
    await Promise.all(this.slots.map((s) => s.worker.terminate()))
    this.slots.length = 0
    this.closing = false
  }
}

function localJob(hash: Hash): HashJob {
  return {
    update: (chunk) => {
      hash.update(chunk)
    },
    digest: async () => hash.digest('hex'),
  }
}

let shared: HashPool | undefined

/** One pool for a whole build; the build closes it when done (`closeSharedHashPool`). */
export function sharedHashPool(): HashPool {
  shared ??= new HashPool()
  return shared
}

export async function closeSharedHashPool(): Promise<void> {
  const pool = shared
  shared = undefined
  await pool?.close()
}
