import {createHash, type Hash} from 'node:crypto'
import {availableParallelism} from 'node:os'
import {Worker} from 'node:worker_threads'

/*
 * SHA-256 is the limit of verifying a bundle (about 1 GB/s on one core). Entries carry their own
 * digests, so they can be hashed side by side: the main thread walks the tar and copies each large
 * entry's chunks into slots of one SharedArrayBuffer, and a worker hashes them in place. Nothing is
 * allocated per chunk and the slots bound the bytes in flight, so memory stays flat whatever the
 * bundle's size; the reader may reuse its own buffer as soon as the copy is made.
 */

const WORKER_SOURCE = `
const {parentPort, workerData} = require('node:worker_threads')
const {createHash} = require('node:crypto')
const ring = new Uint8Array(workerData.ring)
const jobs = new Map()
parentPort.on('message', (m) => {
  if (m.t === 'u') {
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
const SLOTS = 16

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
  private readonly pending = new Map<number, {resolve: (d: string) => void; reject: (e: Error) => void}>()
  private nextId = 0
  private failed: Error | undefined

  constructor(private readonly size = Math.max(1, Math.min(availableParallelism(), 4))) {}

  /** A job for one entry: on a worker when the entry is large, on this thread otherwise. */
  begin(expectedBytes: number): HashJob {
    if (expectedBytes < PARALLEL_MIN_BYTES || this.size < 2) return localJob(createHash('sha256'))
    const slot = this.pick()
    const id = this.nextId++
    const digest = new Promise<string>((resolve, reject) => this.pending.set(id, {resolve, reject}))
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

  private pick(): Slot {
    if (this.slots.length < this.size) {
      if (!this.ring) {
        const shared = new SharedArrayBuffer(SLOTS * SLOT_BYTES)
        this.ring = new Uint8Array(shared)
        this.free = Array.from({length: SLOTS}, (_, i) => i)
      }
      const worker = new Worker(WORKER_SOURCE, {eval: true, workerData: {ring: this.ring.buffer}})
      worker.unref()
      worker.on('message', (m: {t: string; slot?: number; id?: number; d?: string}) => {
        if (m.t === 'a') {
          this.free.push(m.slot as number)
          const waiters = this.waiters
          this.waiters = []
          for (const w of waiters) w()
        } else if (m.t === 'd' && m.id !== undefined) {
          this.pending.get(m.id)?.resolve(m.d ?? '')
          this.pending.delete(m.id)
        }
      })
      worker.on('error', (error) => {
        this.failed = error
        for (const p of this.pending.values()) p.reject(error)
        this.pending.clear()
      })
      const slot = {worker, queued: 0}
      this.slots.push(slot)
      return slot
    }
    return this.slots.reduce((a, b) => (b.queued < a.queued ? b : a))
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()))
    this.slots.length = 0
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
