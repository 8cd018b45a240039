import {fileURLToPath} from 'node:url'

import type {BuildContext, Contribution} from '../bundle/build-context.js'
import {fileEntry} from '../bundle/entry.js'
import {AirlockError} from '../ui/errors.js'
import {pathExists} from '../util/fs.js'
import {toolVersion} from '../util/version.js'
import {EXECUTABLE_NAME, isPackaged} from './runtime.js'

/** Where the executable lands in every bundle that carries it. */
export const SELF_ENTRY = 'files/airlock'

/** dist/airlock-linux-x64 of the checkout this code runs from (dist/sea/ or src/sea/ -> ../../dist). */
export function checkoutExecutable(): string {
  return fileURLToPath(new URL(`../../dist/${EXECUTABLE_NAME}`, import.meta.url))
}

/**
 * The file to carry: the running executable itself when airlock runs packaged (what the user runs
 * is what the other side gets), else the one `npm run package` left in the checkout. It does not
 * build the executable: a bundle build that quietly ran esbuild and postject would be slow and
 * surprising.
 */
export async function locateSelf(packaged = isPackaged(), checkout = checkoutExecutable()): Promise<string> {
  if (packaged) return process.execPath
  if (await pathExists(checkout)) return checkout
  throw new AirlockError('FILE_NOT_FOUND', `--include-self: ${checkout} does not exist`, {
    subject: checkout,
    hint: 'run `npm run package` first (it writes dist/airlock-linux-x64), or build without --include-self',
  })
}

/** --include-self: the airlock executable at files/airlock, mode 0755, in SHA256SUMS like any entry. */
export async function contributeSelf(ctx: BuildContext): Promise<Contribution | undefined> {
  if (!ctx.options.includeSelf) return undefined
  const clash = ctx.loaded.spec.spec.files.findIndex((f) => `files/${f.as}` === SELF_ENTRY)
  if (clash >= 0) {
    const subject = `${ctx.loaded.path}#spec.files[${clash}].as`
    throw new AirlockError('SPEC_INVALID', `${subject}: ${SELF_ENTRY} is where --include-self puts the airlock executable`, {subject, hint: 'rename that file, or build with --no-include-self'})
  }
  const source = await locateSelf()
  ctx.progress(`adding the airlock executable (${source})`)
  const entry = await fileEntry(SELF_ENTRY, source, 'executable', 0o755)
  return {
    entries: [entry],
    extensions: {airlock: {path: SELF_ENTRY, version: toolVersion(), platform: 'linux-x64', sha256: entry.sha256}},
  }
}
