import {AirlockError, EXIT, type ErrorEnvelope} from '../ui/errors.js'
import {closestNames} from '../util/suggest.js'

/**
 * A mistyped command (`airlock bundle verfy`) is a usage error that names the commands it most likely
 * meant, decided from the manifest's ids before oclif starts: oclif alone would say "command
 * bundle:verfy:x not found", in its own separator and with the arguments glued on.
 */
export function unknownCommand(argv: string[], ids: string[]): AirlockError | undefined {
  const words: string[] = []
  for (const a of argv) {
    if (a.startsWith('-')) break
    words.push(a)
  }
  if (words.length === 0) return undefined
  const topics = new Set(ids.map((id) => id.split(':')[0] ?? id))
  // the longest run of words that names a command wins, as in oclif; the rest are its arguments
  for (let n = words.length; n > 0; n--) if (ids.includes(words.slice(0, n).join(':'))) return undefined
  // `airlock bundle` alone: oclif lists the topic's commands
  if (words.length === 1 && topics.has(words[0] as string)) return undefined
  const spaced = ids.map((id) => id.replaceAll(':', ' '))
  const isTopic = topics.has(words[0] as string)
  const tried = (isTopic ? words.slice(0, 2) : words.slice(0, 1)).join(' ')
  // a mistyped topic (`bundel verify`): the two words against every command, else the topic alone
  let meant = closestNames(isTopic ? tried : words.slice(0, 2).join(' '), spaced, 3)
  if (meant.length === 0 && !isTopic) meant = closestNames(tried, [...topics], 3)
  return new AirlockError('USAGE', `there is no command "airlock ${tried}"`, {
    subject: tried,
    hint: `${meant.length > 0 ? `did you mean ${meant.map((m) => `airlock ${m}`).join(' or ')}? ` : ''}airlock --help lists every command`,
  })
}

/** Prints the error as every command does (the --json envelope on stdout, or text on stderr); returns the exit code. */
export function reportUnknownCommand(error: AirlockError, argv: string[]): number {
  if (argv.includes('--json')) {
    const envelope: ErrorEnvelope = {error: error.toJSON()}
    process.stdout.write(`${JSON.stringify(envelope, null, 2)}\n`)
  } else {
    process.stderr.write(`Error [${error.code}]: ${error.message}\n  hint: ${error.hint}\n`)
  }
  return EXIT.INPUT
}

/** `airlock help bundle verify` is `airlock bundle verify --help`, as in git and kubectl. */
export function helpAlias(argv: string[]): string[] {
  return argv[0] === 'help' ? [...argv.slice(1), '--help'] : argv
}
