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
