/*
 * Explicit command discovery: oclif loads this map instead of scanning the disk. It is made from the
 * loaders in ./lazy.ts, so the list of commands lives in one place; `oclif manifest` and
 * `npm run package` read it, while running a command loads that command alone (src/cli.ts).
 */
import type {Command} from '@oclif/core'

import {COMMAND_LOADERS} from './lazy.js'

export const COMMANDS: Record<string, Command.Class> = Object.fromEntries(await Promise.all(Object.entries(COMMAND_LOADERS).map(async ([id, load]) => [id, await load()] as const)))
