import assert from 'node:assert/strict'

import {makeTempDir, removeTempDir, runCli} from '../support/cli.js'

/**
 * Flag and argument mistakes caught by oclif's parser are usage errors like any other: with --json the
 * documented envelope on stdout and exit 2, never oclif's internal error object.
 */
describe('usage errors with --json', () => {
  // run in an empty folder, so a parse that wrongly went through could write nothing anywhere else
  let dir: string
  beforeEach(async () => {
    dir = await makeTempDir()
  })
  afterEach(async () => {
    await removeTempDir(dir)
  })

  const cases: {name: string; args: string[]; subject: string; message: RegExp}[] = [
    {name: 'an unknown flag', args: ['bundle', 'verify', '--json', '--nope', 'x.tar'], subject: '--nope', message: /--nope/},
    {name: 'a missing required flag', args: ['bundle', 'extract', '--json', 'x.tar'], subject: '--to', message: /required flag to/},
    {name: 'a missing argument', args: ['bundle', 'verify', '--json'], subject: 'BUNDLE', message: /required arg/},
    {name: 'a value outside the options', args: ['manifests', 'render', '--json', '--platform', 'mainframe', '--out', 'never-written'], subject: '--platform', message: /mainframe.*one of/},
    {name: 'two exclusive flags', args: ['bundle', 'verify', '--json', '--trust', 'a.pem', '--trust-fingerprint', 'sha256:00', 'x.tar'], subject: '--trust-fingerprint', message: /cannot also be provided/},
    {name: 'an extra argument', args: ['bundle', 'verify', '--json', 'x.tar', 'y.tar'], subject: 'y.tar', message: /Unexpected argument/},
  ]

  for (const c of cases) {
    it(`reports ${c.name} as USAGE, exit 2`, async () => {
      const result = await runCli(c.args, {cwd: dir})
      assert.equal(result.code, 2, result.stdout + result.stderr)
      assert.ok(result.json, `stdout is not JSON: ${result.stdout}`)
      assert.deepEqual(Object.keys(result.json), ['error'])
      const {error} = result.json
      assert.equal(error.code, 'USAGE')
      assert.equal(error.exitCode, 2)
      assert.equal(error.subject, c.subject)
      assert.match(error.message, c.message)
      assert.match(error.hint, new RegExp(`airlock ${c.args[0]} ${c.args[1]} --help`))
      // the documented envelope only: no oclif internals (config, parse input) leak out
      assert.deepEqual(Object.keys(error).sort(), ['code', 'exitCode', 'hint', 'message', 'subject'])
      assert.ok(!result.stdout.includes('pjson'))
    })
  }

  it('suggests the flag a typo most likely meant, with and without --json', async () => {
    const json = await runCli(['bundle', 'verify', '--json', '--trsut', 'k.pub', 'x.tar'], {cwd: dir})
    assert.equal(json.code, 2)
    assert.equal(json.json.error.subject, '--trsut')
    assert.match(json.json.error.hint, /^did you mean --trust\? see airlock bundle verify --help$/)
    const human = await runCli(['images', 'push', '--regsitry', 'site:5000', 'x.tar'], {cwd: dir})
    assert.equal(human.code, 2)
    assert.match(human.stderr, /Nonexistent flag: --regsitry/)
    assert.match(human.stderr, /did you mean --registry\b/)
    // nothing close: no guess, only the pointer to --help
    const far = await runCli(['bundle', 'verify', '--json', '--zzzzzzzzzz', 'x.tar'], {cwd: dir})
    assert.doesNotMatch(far.json.error.hint, /did you mean/)
  })

  it('keeps the human rendering and exit 2 without --json', async () => {
    const result = await runCli(['bundle', 'verify', '--nope', 'x.tar'], {cwd: dir})
    assert.equal(result.code, 2)
    assert.equal(result.stdout, '')
    assert.match(result.stderr, /Nonexistent flag: --nope/)
  })
})

describe('a mistyped command', () => {
  it('names the command it most likely meant, as text or as the --json envelope (exit 2)', async () => {
    const text = await runCli(['bundle', 'verfy', 'x.tar'])
    assert.equal(text.code, 2)
    assert.match(text.stderr, /no command "airlock bundle verfy"/)
    assert.match(text.stderr, /did you mean airlock bundle verify\?/)
    const topic = await runCli(['bundel', 'verify', 'x.tar'])
    assert.equal(topic.code, 2)
    assert.match(topic.stderr, /did you mean airlock bundle verify\?/)
    const json = await runCli(['images', 'pusj', '--json'])
    assert.equal(json.code, 2)
    assert.equal(json.json.error.code, 'USAGE')
    assert.equal(json.json.error.subject, 'images pusj')
    assert.match(json.json.error.hint, /airlock images push/)
  })

  it('still shows a topic, and `help CMD` is `CMD --help`', async () => {
    const topic = await runCli(['bundle'])
    assert.equal(topic.code, 0)
    assert.match(topic.stdout, /bundle verify +Verify a bundle/)
    const help = await runCli(['help', 'bundle', 'verify'])
    assert.equal(help.code, 0)
    assert.match(help.stdout, /USAGE\s+\$ airlock bundle verify BUNDLE/)
  })
})
