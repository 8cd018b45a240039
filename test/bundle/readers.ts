/* Every in-process reader of a bundle, for the hostile-input tests: each must agree with bundle verify. */
import assert from 'node:assert/strict'
import {join} from 'node:path'

import {extractBundle} from '../../src/bundle/extract.js'
import {inspectBundle} from '../../src/bundle/inspect.js'
import {verifyBundle, walkBundleUnverified, type EntrySink} from '../../src/bundle/verify.js'
import {listBundleImages} from '../../src/images/list.js'
import {readBundleSbom} from '../../src/sbom/read.js'
import type {Trust} from '../../src/signing/trust.js'
import {openRandomAccess} from '../../src/transport/random-access.js'
import {AirlockError, ERROR_CODES} from '../../src/ui/errors.js'

/** Every in-process reader of a bundle; each must succeed or fail with a documented code, never a stray exception. */
export async function allReaders(file: string, trust: Trust, scratch: string): Promise<Record<string, string>> {
  const readers: Record<string, () => Promise<unknown>> = {
    verify: () => verifyBundle(file, trust),
    inspect: () => inspectBundle(file),
    list: () => listBundleImages(file),
    extract: () => extractBundle(file, trust, join(scratch, `x-${Math.random().toString(36).slice(2)}`)),
    sbom: async () => {
      try {
        await readBundleSbom(file)
      } catch (error) {
        // a bundle without an SBOM is a fine bundle for this purpose: every other check passed
        if (!(error instanceof AirlockError && error.code === 'ENTRY_MISSING' && /has no sbom/.test(error.message))) throw error
      }
    },
    noVerify: async () => {
      const ra = await openRandomAccess(file)
      try {
        await walkBundleUnverified(ra, file)
      } finally {
        await ra.close()
      }
    },
  }
  const out: Record<string, string> = {}
  for (const [name, run] of Object.entries(readers)) {
    try {
      await run()
      out[name] = 'ok'
    } catch (error) {
      assert.ok(error instanceof AirlockError, `${name}: ${(error as Error).stack}`)
      assert.ok(error.code in ERROR_CODES, `${name}: undocumented code ${error.code}`)
      out[name] = error.code
    }
  }
  return out
}

/** What a walk saw: each entry's path, body offset and size. Verify and the --no-verify walk must agree. */
function recorder(): {sink: EntrySink; seen: string[]} {
  const seen: string[] = []
  return {
    seen,
    sink: {
      async open(rel, entry) {
        seen.push(`${rel}@${entry.dataOffset}+${entry.size}`)
        return undefined
      },
    },
  }
}

export type Outcome = {ok: true; seen: string[]} | {ok: false; code: string; exitCode: number; message: string}

async function outcome(run: (sink: EntrySink) => Promise<unknown>): Promise<Outcome> {
  const {sink, seen} = recorder()
  try {
    await run(sink)
    return {ok: true, seen}
  } catch (error) {
    if (!(error instanceof AirlockError)) throw error
    return {ok: false, code: error.code, exitCode: error.exitCode, message: error.message}
  }
}

/** verify, and the unverified walk push/serve use, over the same file. */
export async function bothWalks(file: string, trust: Trust): Promise<{verify: Outcome; noVerify: Outcome}> {
  const verify = await outcome((sink) => verifyBundle(file, trust, sink))
  const noVerify = await outcome(async (sink) => {
    const ra = await openRandomAccess(file)
    try {
      await walkBundleUnverified(ra, file, sink)
    } finally {
      await ra.close()
    }
  })
  return {verify, noVerify}
}

