import {release} from 'node:os'

/**
 * `airlock --version` without loading the CLI framework: the very line oclif prints for it (its user
 * agent, NAME/VERSION PLATFORM-ARCH node-VERSION), for oclif's own rule (`--version` first, the rest
 * ignored). Undefined when oclif should answer: another argument vector, or WSL (which oclif names
 * `wsl` after probing for it).
 */
export function versionLine(argv: string[], pjson: {name: string; version: string}): string | undefined {
  if (argv[0] !== '--version' || release().toLowerCase().includes('microsoft')) return undefined
  return `${pjson.name}/${pjson.version} ${process.platform}-${process.arch} node-${process.version}`
}
