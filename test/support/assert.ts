import assert from 'node:assert/strict'

import {AirlockError} from '../../src/ui/errors.js'

/** The promise fails with an AirlockError of this code, naming this subject (or matching it). */
export async function rejectsWithCode(p: Promise<unknown>, code: string, subject: string | RegExp): Promise<void> {
  await assert.rejects(p, (error: unknown) => {
    assert.ok(error instanceof AirlockError, String(error))
    assert.equal(error.code, code, error.message)
    if (typeof subject === 'string') assert.equal(error.subject, subject, error.message)
    else assert.match(error.subject ?? '', subject, error.message)
    return true
  })
}
