import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {chmod, readFile, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {renderManifests} from '../../src/manifests/index.js'
import {loadProfile} from '../../src/profile/index.js'
import {withTempDir} from '../support/cli.js'

const run = promisify(execFile)

/** A kubectl on PATH that records each call's arguments, one line per call, and succeeds. */
async function stubKubectl(dir: string): Promise<{env: NodeJS.ProcessEnv; calls: () => Promise<string[]>}> {
  const log = join(dir, 'kubectl.log')
  const bin = join(dir, 'bin')
  await run('mkdir', ['-p', bin])
  await writeFile(join(bin, 'kubectl'), `#!/bin/sh\nprintf '%s\\n' "$*" >> ${JSON.stringify(log)}\n`)
  await chmod(join(bin, 'kubectl'), 0o755)
  const env = {PATH: `${bin}:${process.env.PATH ?? ''}`}
  return {
    env,
    calls: async () => {
      const text = await readFile(log, 'utf8').catch(() => '')
      await rm(log, {force: true})
      return text.split('\n').filter(Boolean)
    },
  }
}

const EXPECTED = [
  'label node n1 wallaroo.ai/node-purpose=general --overwrite',
  'label node n2 wallaroo.ai/node-purpose=general --overwrite',
  'label node n3 wallaroo.ai/node-purpose=persistent --overwrite',
  'taint node n3 wallaroo.ai/persistent=true:NoSchedule --overwrite',
  'label node gpu-1.example wallaroo.ai/node-purpose=pipelines --overwrite',
  'taint node gpu-1.example wallaroo.ai/pipelines=true:NoSchedule --overwrite',
]

describe('manifests: nodepools.sh', () => {
  it('passes bash -n and sh -n', () =>
    withTempDir(async (dir) => {
      const r = await renderManifests({profile: await loadProfile('wallaroo-2025.1'), platform: 'eks', pools: {general: ['n1']}})
      const script = join(dir, 'nodepools.sh')
      await writeFile(script, r.files.find((f) => f.path === 'nodepools.sh')?.content ?? '')
      await run('bash', ['-n', script])
      await run('sh', ['-n', script])
    }))

  it('run twice against a stub kubectl: exactly the expected label and taint commands, both times', () =>
    withTempDir(async (dir) => {
      const r = await renderManifests({profile: await loadProfile('wallaroo-2025.1'), platform: 'eks', pools: {general: ['n1', 'n2'], persistent: ['n3'], pipelines: ['gpu-1.example']}})
      const file = r.files.find((f) => f.path === 'nodepools.sh')
      assert.equal(file?.mode, 0o755)
      const script = join(dir, 'nodepools.sh')
      await writeFile(script, file?.content ?? '', {mode: 0o755})
      const kubectl = await stubKubectl(dir)
      for (const round of [1, 2]) {
        const out = await run(script, [], {env: kubectl.env})
        assert.equal(out.stderr, '', `round ${round}`)
        assert.deepEqual(await kubectl.calls(), EXPECTED, `round ${round}`)
      }
    }))

  it('pools without nodes are skipped with a note; the environment can name the nodes', () =>
    withTempDir(async (dir) => {
      const r = await renderManifests({profile: await loadProfile('wallaroo-2025.1'), platform: 'generic', provisioner: 'rancher.io/local-path'})
      const script = join(dir, 'nodepools.sh')
      await writeFile(script, r.files.find((f) => f.path === 'nodepools.sh')?.content ?? '', {mode: 0o755})
      const kubectl = await stubKubectl(dir)
      const empty = await run(script, [], {env: kubectl.env})
      assert.deepEqual(await kubectl.calls(), [])
      assert.match(empty.stderr, /POOL_GENERAL/)
      await run(script, [], {env: {...kubectl.env, POOL_PERSISTENT: 'db-1 db-2'}})
      assert.deepEqual(await kubectl.calls(), [
        'label node db-1 wallaroo.ai/node-purpose=persistent --overwrite',
        'taint node db-1 wallaroo.ai/persistent=true:NoSchedule --overwrite',
        'label node db-2 wallaroo.ai/node-purpose=persistent --overwrite',
        'taint node db-2 wallaroo.ai/persistent=true:NoSchedule --overwrite',
      ])
    }))

  it('a hostile node name from the environment stops the script before any kubectl call', () =>
    withTempDir(async (dir) => {
      const r = await renderManifests({profile: await loadProfile('wallaroo-2025.1'), platform: 'eks'})
      const script = join(dir, 'nodepools.sh')
      await writeFile(script, r.files.find((f) => f.path === 'nodepools.sh')?.content ?? '', {mode: 0o755})
      const kubectl = await stubKubectl(dir)
      await assert.rejects(run(script, [], {env: {...kubectl.env, POOL_GENERAL: 'ok-1 $(touch pwned) *'}}), (error: {code?: number}) => error.code === 2)
      assert.deepEqual(await kubectl.calls(), [])
    }))

  it('a bad node name in the last pool stops the script before the first pool is labelled', () =>
    withTempDir(async (dir) => {
      const r = await renderManifests({profile: await loadProfile('wallaroo-2025.1'), platform: 'eks'})
      const script = join(dir, 'nodepools.sh')
      await writeFile(script, r.files.find((f) => f.path === 'nodepools.sh')?.content ?? '', {mode: 0o755})
      const kubectl = await stubKubectl(dir)
      await assert.rejects(run(script, [], {env: {...kubectl.env, POOL_GENERAL: 'node-1', POOL_PERSISTENT: 'node-2', POOL_PIPELINES: 'Bad_Name'}}), (error: {code?: number}) => error.code === 2)
      assert.deepEqual(await kubectl.calls(), [])
    }))
})
