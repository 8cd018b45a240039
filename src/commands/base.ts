import {statSync} from 'node:fs'
import {Command, Errors, Flags, type Interfaces} from '@oclif/core'

import {AirlockError, EXIT, fromParseError, type ErrorEnvelope} from '../ui/errors.js'
import {formatBytes, formatTransfer, startProgress, type Progress} from '../ui/progress.js'

class ChecksFailed extends Error {
  constructor(
    readonly report: object,
    readonly exitCode: number = EXIT.CHECKS_FAILED,
  ) {
    super('checks failed')
  }
}

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>

/**
 * Owns what every command shares: `--json`, `--quiet`/`--verbose`, the error envelope and exit codes,
 * and progress that shows on a terminal only. Subclasses parse, call one domain function, render.
 */
export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    quiet: Flags.boolean({char: 'q', description: 'print results only: no progress, no notes', helpGroup: 'GLOBAL'}),
    verbose: Flags.boolean({char: 'v', description: 'print each step as it happens', helpGroup: 'GLOBAL'}),
  }

  private quiet = false
  private verbose = false

  override async init(): Promise<void> {
    await super.init()
    this.quiet = this.argv.includes('--quiet') || this.argv.includes('-q')
    this.verbose = this.argv.includes('--verbose') || this.argv.includes('-v')
  }

  /** An ora spinner on a TTY; silent when piped, with --json or --quiet. */
  protected progress(text: string): Progress {
    return startProgress(text, {enabled: !this.jsonEnabled() && !this.quiet})
  }

  /** A human note on stderr; never mixed into results on stdout. */
  protected note(message: string): void {
    if (!this.jsonEnabled() && !this.quiet) this.logToStderr(message)
  }

  protected detail(message: string): void {
    if (this.verbose && !this.jsonEnabled()) this.logToStderr(message)
  }

  /** Results on stdout for people; with --json the returned object is printed instead. */
  protected out(text: string): void {
    if (!this.jsonEnabled()) this.log(text)
  }

  /**
   * The command worked and what it checked did not pass (cluster checks, a certificate review): the
   * report is still the result, printed with --json as on success, and the exit code is 1.
   */
  protected checksFailed(report: object, exitCode: typeof EXIT.CHECKS_FAILED | typeof EXIT.INCOMPLETE = EXIT.CHECKS_FAILED): never {
    throw new ChecksFailed(report, exitCode)
  }

  protected override async catch(error: Error & {exitCode?: number}): Promise<unknown> {
    // without --json oclif's own rendering of a parse error (message, usage, exit 2) is kept, except
    // for a mistyped flag, which gets a "did you mean"
    const mistyped = /^Nonexistent flags?: /.test(error.message)
    const command = [this.config.bin, ...(this.id ?? '').split(':')].join(' ').trim()
    const err = this.jsonEnabled() || mistyped ? (fromParseError(error, command, Object.keys(this.ctor.flags ?? {})) as Error & {exitCode?: number}) : error
    if (err instanceof ChecksFailed) {
      if (this.jsonEnabled()) this.logJson(err.report)
      throw new Errors.ExitError(err.exitCode)
    }
    if (err instanceof AirlockError) {
      const envelope: ErrorEnvelope = {error: err.toJSON()}
      if (this.jsonEnabled()) {
        this.logJson(envelope)
      } else {
        const lines = [`Error [${err.code}]: ${err.message}`]
        if (err.subject && !err.message.includes(err.subject)) lines.push(`  at: ${err.subject}`)
        if (err.hint) lines.push(`  hint: ${err.hint}`)
        this.logToStderr(lines.join('\n'))
      }
      // Already printed: hand oclif only the exit code.
      throw new Errors.ExitError(err.exitCode)
    }
    if (this.jsonEnabled() && !(err instanceof Errors.ExitError) && !(err as {oclif?: unknown}).oclif) {
      const envelope: ErrorEnvelope = {error: {code: 'INTERNAL', message: err.message, exitCode: 1}}
      this.logJson(envelope)
      throw new Errors.ExitError(1)
    }
    return super.catch(err)
  }
}

/**
 * Bytes, rate and ETA on the spinner for a step that reads a bundle file; the total is the file's
 * size (unknown for stdin and parts, where only bytes and rate show). Updates at most 10 times a second.
 */
export function byteProgress(progress: Progress, input: string, verb: string): (bytes: number) => void {
  let total = 0
  try {
    total = input === '-' ? 0 : statSync(input).size
  } catch {
    total = 0
  }
  const started = Date.now()
  let last = 0
  return (bytes) => {
    const now = Date.now()
    if (now - last < 100) return
    last = now
    progress.update(`${verb} ${total > 0 ? formatTransfer(bytes, total, started, now) : `${formatBytes(bytes)}, ${formatBytes(bytes / Math.max((now - started) / 1000, 0.001))}/s`}`)
  }
}
