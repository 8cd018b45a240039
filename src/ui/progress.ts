import ora, {type Ora} from 'ora'

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

/** An ora spinner on a terminal; nothing at all when stderr is piped, so logs stay clean. */
export function startProgress(text: string, options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr
  if (!options.enabled || !stream.isTTY || process.env.CI === 'true') return SILENT
  const spinner: Ora = ora({text, stream, isEnabled: true, color: process.env.NO_COLOR ? false as never : 'cyan'}).start()
  return {
    update(t) {
      spinner.text = t
    },
    succeed(t) {
      spinner.succeed(t)
    },
    fail(t) {
      spinner.fail(t)
    },
    stop() {
      spinner.stop()
    },
  }
}

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB']

/** Decimal units, as disks and network rates are sold. */
export function formatBytes(n: number): string {
  let v = n
  let i = 0
  while (v >= 1000 && i < UNITS.length - 1) {
    v /= 1000
    i++
  }
  return i === 0 ? `${n} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${UNITS[i]}`
}

/** "1.2 GB / 4.0 GB, 310 MB/s, ETA 9s" for a byte-counting step. */
export function formatTransfer(done: number, total: number, startedMs: number, now = Date.now()): string {
  const secs = Math.max((now - startedMs) / 1000, 0.001)
  const rate = done / secs
  const eta = rate > 0 && total > done ? Math.ceil((total - done) / rate) : 0
  return `${formatBytes(done)} / ${formatBytes(total)}, ${formatBytes(rate)}/s${eta ? `, ETA ${eta}s` : ''}`
}
