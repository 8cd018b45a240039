import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {readFile} from 'node:fs/promises'
import {promisify} from 'node:util'

import {REPO_ROOT} from '../support/paths.js'

describe('README command reference', () => {
  it('is what `oclif readme` generates from the commands today (run `npm run readme` when this fails)', async () => {
    const {stdout} = await promisify(execFile)(`${REPO_ROOT}/node_modules/.bin/oclif`, ['readme', '--dry-run', '--no-aliases', '--no-source-links'], {cwd: REPO_ROOT, env: {...process.env, OCLIF_SKIP_NEW_VERSION_CHECK: 'true'}, maxBuffer: 16 << 20})
    const section = (text: string) => {
      // the dry run also logs "replacing <!-- commands --> in README.md": take the marker on its own line
      const start = text.indexOf('<!-- commands -->\n')
      const end = text.indexOf('<!-- commandsstop -->')
      assert.ok(start >= 0 && end > start, 'the README lost its <!-- commands --> markers')
      return text.slice(start, end).trim()
    }
    assert.equal(section(await readFile(`${REPO_ROOT}/README.md`, 'utf8')), section(stdout))
  })
})
