import type {Ora} from 'ora'

export interface Progress {
  /** replace the line shown */
  update(text: string): void
  succeed(text?: string): void
  fail(text?: string): void
  stop(): void
}

const SILENT: Progress = {update() {}, succeed() {}, fail() {}, stop() {}}

export interface ProgressOptions {
  /** false when --json or --quiet asked for silence */
  enabled: boolean
  stream?: NodeJS.WriteStream
}

/**
 * An ora spinner on a terminal; nothing at all when stderr is piped, so logs stay clean. ora (and its
 * dependencies) load only on a terminal, after the command has started: what is asked meanwhile is
 * replayed once the spinner exists.
 */
export function startProgress(text: string, options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr
  if (!options.enabled || !stream.isTTY || process.env.CI === 'true') return SILENT
  let spinner: Ora | undefined
  let current = text
  let ended: ((s: Ora) => void) | undefined
  void import('ora')
    .then(({default: ora}) => {
      spinner = ora({text: current, stream, isEnabled: true, color: process.env.NO_COLOR ? (false as never) : 'cyan'})
      if (ended) ended(spinner)
      else spinner.start()
    })
    .catch(() => {})
  const end = (how: (s: Ora) => void) => {
    if (ended) return
    ended = how
    if (spinner) how(spinner)
  }
  return {
    update(t) {
      current = t
      if (spinner) spinner.text = t
    },
    succeed(t) {
      end((s) => s.succeed(t))
    },
    fail(t) {
      end((s) => s.fail(t))
    },
    stop() {
      end((s) => s.stop())
    },
  }
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB']

/**
 * Binary IEC units, the same system as the size flags (`--part-size 64M` is 64 MiB and prints as
 * "64.0 MiB", not "67.1 MB"). Cluster node memory and storage are the exception: they are judged
 * in decimal GB by the profile's own rules (src/cluster).
 */
export function formatBytes(n: number): string {
  let v = n
  let i = 0
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024
    i++
  }
  if (i === 0) return `${Math.round(n)} B`
  // 1023.96 KiB would round to "1024 KiB": show it as the next unit instead
  if (Number(v.toFixed(v >= 100 ? 0 : 1)) >= 1024 && i < UNITS.length - 1) {
    v /= 1024
    i++
  }
  return `${v.toFixed(v >= 100 ? 0 : 1)} ${UNITS[i]}`
}

/** "1.2 GiB / 4.0 GiB, 310 MiB/s, ETA 9s" for a byte-counting step. */
export function formatTransfer(done: number, total: number, startedMs: number, now = Date.now()): string {
  const secs = Math.max((now - startedMs) / 1000, 0.001)
  const rate = done / secs
  const eta = rate > 0 && total > done ? Math.ceil((total - done) / rate) : 0
  return `${formatBytes(done)} / ${formatBytes(total)}, ${formatBytes(rate)}/s${eta ? `, ETA ${eta}s` : ''}`
}
