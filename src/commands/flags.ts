import {AirlockError} from '../ui/errors.js'

/**
 * Passphrases come from an environment variable named on the command line, never from the command
 * line itself, where `ps` and shell history would show them.
 */
export function passphraseFromEnv(name: string | undefined): string | undefined {
  if (!name) return undefined
  const value = process.env[name]
  if (value === undefined || value === '') {
    throw new AirlockError('PASSPHRASE_REQUIRED', `the environment variable ${name} named by --passphrase-env is not set or empty`, {subject: '--passphrase-env', hint: `export ${name}=... first`})
  }
  return value
}

/** `--set KEY=VALUE`, repeated; the first `=` splits, so values may contain `=`. */
export function parseSetFlags(values: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const item of values ?? []) {
    const at = item.indexOf('=')
    if (at <= 0) throw new AirlockError('USAGE', `--set ${item}: expected KEY=VALUE`, {subject: `--set ${item}`, hint: 'e.g. --set files.app=./app.airgap or --set kots.cores=16'})
    out[item.slice(0, at)] = item.slice(at + 1)
  }
  return out
}
