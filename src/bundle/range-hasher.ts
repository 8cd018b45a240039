import {createHash} from 'node:crypto'
import {readSync} from 'node:fs'
import {createRequire} from 'node:module'
import type {Worker, WorkerOptions} from 'node:worker_threads'

import {HASH_READ_SOURCE, hashRead} from './hash-read.js'

/*
 * SHA-256 of many byte ranges of one open file, shared out between this thread and worker threads
 * through one SharedArrayBuffer: `bundle verify` of a plain file. A real bundle has hundreds of
 * entries (layers of a few hundred KB to a few MB, configs and manifests of a few hundred bytes);
 * a message per entry each way, and a worker idle while this thread waits for a reply, cost more
 * than hashing the small ones. So no message is sent per range: this thread appends ranges to a
 * queue in shared memory as it walks the tar, every thread (workers and this one) takes the oldest
 * range nobody has taken with one compare-and-swap, reads it through the same descriptor and writes
 * its digest into the range's slot. Both cores hash until the queue is empty, whatever the sizes.
 *
 * Layout: ctrl (Int32 x 4: ranges added, ranges taken, stop), state (Int32 per slot: pending, done,
 * failed), ranges (Float64 pairs: from, to), out (32 bytes per slot: the digest, or an error code).
 */

const PENDING = 0
const DONE = 1
const FAILED = 2
/** A range this thread hashes is read in pieces this large, yielding to the event loop between them (a spinner keeps turning). */
const HERE_PIECE = 32 << 20
/** Each thread reads through one buffer this large: fresh memory costs page faults, and 1 MiB reads cost no more CPU than 4 MiB ones. */
const READ_BYTES = 1 << 20

const WORKER_SOURCE = `
const {workerData} = require('node:worker_threads')
const {createHash} = require('node:crypto')
const {readSync} = require('node:fs')
const {fd, sab, capacity, layout} = workerData
const ctrl = new Int32Array(sab, 0, 4)
const state = new Int32Array(sab, layout.state, capacity)
const ranges = new Float64Array(sab, layout.ranges, 2 * capacity)
const out = Buffer.from(sab, layout.out, 32 * capacity)
const buf = Buffer.allocUnsafe(${READ_BYTES})
${HASH_READ_SOURCE}
function hashSlot(s) {
  const from = ranges[2 * s]
  const to = ranges[2 * s + 1]
  try {
    const h = createHash('sha256')
    hashRead(readSync, fd, buf, h, from, to)
    h.digest().copy(out, 32 * s)
    Atomics.store(state, s, ${DONE})
  } catch (error) {
    out.fill(0, 32 * s, 32 * s + 32)
    out.write(String(error.code || 'EIO').slice(0, 32), 32 * s, 'latin1')
    Atomics.store(state, s, ${FAILED})
  }
  Atomics.notify(state, s)
}
for (;;) {
  if (Atomics.load(ctrl, 2) !== 0) break
  const added = Atomics.load(ctrl, 0)
  const taken = Atomics.load(ctrl, 1)
  if (taken >= added) {
    Atomics.wait(ctrl, 0, added)
    continue
  }
  if (Atomics.compareExchange(ctrl, 1, taken, taken + 1) === taken) hashSlot(taken % capacity)
}
`

/** Node 20 has it (V8 8.7+); TypeScript's ES2022 library does not declare it yet. Looked up when called, not at load. */
const waitAsync = (a: Int32Array, i: number, v: number) => (Atomics as unknown as {waitAsync(a: Int32Array, i: number, v: number): {async: boolean; value: Promise<string> | string}}).waitAsync(a, i, v)

/**
 * A worker thread running `source`. node:worker_threads is loaded on the first one: a verify of a
 * small bundle starts none, and loading the module costs several ms of every start.
 */
export function startWorker(source: string, options: WorkerOptions): Worker {
  const {Worker: WorkerClass} = createRequire(import.meta.url)('node:worker_threads') as typeof import('node:worker_threads')
  return new WorkerClass(source, {...options, eval: true})
}

export class RangeHasher {
  private readonly ctrl: Int32Array
  private readonly state: Int32Array
  private readonly ranges: Float64Array
  private readonly out: Buffer
  private readonly workers: Worker[] = []
  private added = 0
  private failed: Error | undefined
  private closing = false
  private buffer: Buffer | undefined

  /**
   * `workers` threads start now (their start-up overlaps whatever this thread does next); with none,
   * this thread hashes every range. At most `capacity` ranges may be added and not yet collected.
   */
  constructor(
    private readonly fd: number,
    workers: number,
    readonly capacity = 1024,
  ) {
    const layout = {state: 16, ranges: 16 + 4 * capacity + ((4 * capacity) % 8 === 0 ? 0 : 4), out: 0}
    layout.out = layout.ranges + 16 * capacity
    const sab = new SharedArrayBuffer(layout.out + 32 * capacity)
    this.ctrl = new Int32Array(sab, 0, 4)
    this.state = new Int32Array(sab, layout.state, capacity)
    this.ranges = new Float64Array(sab, layout.ranges, 2 * capacity)
    this.out = Buffer.from(sab, layout.out, 32 * capacity)
    for (let i = 0; i < workers; i++) {
      const worker = startWorker(WORKER_SOURCE, {workerData: {fd, sab, capacity, layout}})
      const fail = (error: Error) => {
        if (this.closing) return
        this.failed ??= error
        // wake whoever waits for a slot: it sees `failed`
        for (let s = 0; s < capacity; s++) Atomics.notify(this.state, s)
      }
      worker.on('error', fail)
      worker.on('exit', (code) => fail(new Error(`a hash worker stopped (exit code ${code})`)))
      this.workers.push(worker)
    }
  }

  /** Ranges added and not yet taken by any thread. */
  get waiting(): number {
    return this.added - Atomics.load(this.ctrl, 1)
  }

  /** Queues the bytes [from, to) of the file; returns the ticket to collect its digest with. */
  add(from: number, to: number): number {
    const ticket = this.added
    const s = ticket % this.capacity
    this.state[s] = PENDING
    this.ranges[2 * s] = from
    this.ranges[2 * s + 1] = to
    // the slot is written before the count that publishes it (Atomics are sequentially consistent)
    Atomics.store(this.ctrl, 0, ++this.added)
    if (this.workers.length > 0) Atomics.notify(this.ctrl, 0, 1)
    return ticket
  }

  /** Hashes the oldest range nobody has taken, here; false when there is none. */
  async helpOne(): Promise<boolean> {
    for (;;) {
      const taken = Atomics.load(this.ctrl, 1)
      if (taken >= this.added) return false
      if (Atomics.compareExchange(this.ctrl, 1, taken, taken + 1) === taken) {
        await this.hashHere(taken % this.capacity)
        return true
      }
    }
  }

  /**
   * The digest (hex) of the range behind `ticket`, once every thread is past it: meanwhile this
   * thread hashes ranges nobody has taken yet, and only waits when all are taken. Rejects with the
   * read's error code (TRUNCATED when the file ended first). Collect each ticket once, in order.
   */
  async digest(ticket: number): Promise<string> {
    const s = ticket % this.capacity
    for (;;) {
      const state = Atomics.load(this.state, s)
      if (state === DONE) return this.out.toString('hex', 32 * s, 32 * s + 32)
      if (state === FAILED) {
        const code = this.out.toString('latin1', 32 * s, 32 * s + 32).replace(/\0+$/, '')
        throw Object.assign(new Error(code === 'TRUNCATED' ? 'the file ended inside the range' : `reading the file failed: ${code}`), {code})
      }
      if (this.failed) throw this.failed
      if (await this.helpOne()) continue
      // taken by a worker and not finished: wait for its notify (or a failure's)
      const wait = waitAsync(this.state, s, PENDING)
      if (wait.async) await wait.value
    }
  }

  private async hashHere(s: number): Promise<void> {
    const from = this.ranges[2 * s] as number
    const to = this.ranges[2 * s + 1] as number
    this.buffer ??= Buffer.allocUnsafe(READ_BYTES)
    const buf = this.buffer
    try {
      const h = createHash('sha256')
      for (let pos = from; pos < to; pos += HERE_PIECE) {
        if (pos > from) await new Promise<void>((resolve) => setImmediate(resolve))
        hashRead(readSync, this.fd, buf, h, pos, Math.min(to, pos + HERE_PIECE))
      }
      h.digest().copy(this.out, 32 * s)
      Atomics.store(this.state, s, DONE)
    } catch (error) {
      this.out.fill(0, 32 * s, 32 * s + 32)
      this.out.write(String((error as {code?: string}).code ?? 'EIO').slice(0, 32), 32 * s, 'latin1')
      Atomics.store(this.state, s, FAILED)
    }
  }

  async close(): Promise<void> {
    this.closing = true
    Atomics.store(this.ctrl, 2, 1)
    Atomics.notify(this.ctrl, 0)
    await Promise.all(this.workers.map((w) => w.terminate()))
    this.workers.length = 0
  }
}
