import assert from 'node:assert/strict'
import {execFileSync, spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import {copyFile, mkdir, readdir, readFile, rm, stat, symlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {gzipSync} from 'node:zlib'

import {checkoutExecutable, locateSelf, SELF_ENTRY} from '../../src/sea/contribute-self.js'
import {AirlockError} from '../../src/ui/errors.js'
import {makeTempDir, runCli, runProcess, type CliResult} from '../support/cli.js'
import {REPO_ROOT} from '../support/paths.js'
import {VERIFY_SCRIPT_TOOLS} from '../../src/bundle/verify-script.js'

type ExeResult = CliResult

/** The tools VERIFY.txt needs, and nothing else: above all no node. */
// exactly what VERIFY.txt says it needs, and the shell
const VERIFY_TOOLS = ['sh', ...VERIFY_SCRIPT_TOOLS]

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex')

describe('single executable (npm run package)', function () {
  // Building the executable (esbuild, blob, strip, postject) takes seconds; it is done once.
  this.timeout(120_000)

  let dir: string
  let tools: string
  let exe: string
  let exeSha: string

  /** Runs an executable as on the isolated side: `env -i`, PATH holding only `tools`, no node anywhere. */
  function runIsolated(program: string, args: string[], cwd: string, extraEnv: string[] = []): Promise<ExeResult> {
    return runProcess('/usr/bin/env', ['-i', `PATH=${tools}`, `HOME=${cwd}`, ...extraEnv, program, ...args], {cwd})
  }

  async function filesSpec(at: string, files: Record<string, string>, extra = ''): Promise<string> {
    await mkdir(join(at, 'in'), {recursive: true})
    const lines = []
    for (const [name, content] of Object.entries(files)) {
      await writeFile(join(at, 'in', name), content)
      lines.push(`    - {source: ./in/${name}, as: ${name}}`)
    }
    const spec = join(at, 'spec.yaml')
    await writeFile(spec, `apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: t, version: 1.0.0}\nspec:\n${extra}  files:\n${lines.join('\n')}\n`)
    return spec
  }

  /** --version, keys generate, bundle build of a files-only spec, bundle verify: with `program`, in `cwd`. */
  async function checkRoundTrip(program: string, cwd: string): Promise<{bundle: string; build: ExeResult}> {
    const version = await runIsolated(program, ['--version'], cwd)
    assert.equal(version.code, 0, version.stderr)
    const pjson = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as {version: string}
    assert.ok(version.stdout.startsWith(`airlock/${pjson.version} linux-x64`), version.stdout)
    assert.equal(version.stderr, '')

    const keys = await runIsolated(program, ['keys', 'generate', '--out', 'signer', '--json'], cwd)
    assert.equal(keys.code, 0, keys.stderr)
    assert.equal((await stat(join(cwd, 'signer.key'))).mode & 0o777, 0o600)

    const spec = await filesSpec(join(cwd, 'spec'), {'a.txt': 'alpha\n'})
    const build = await runIsolated(program, ['bundle', 'build', spec, '--key', 'signer.key', '--out', 'b.tar', '--json'], cwd)
    assert.equal(build.code, 0, build.stderr)
    assert.ok(build.json.files.some((f: {path: string}) => f.path === 'files/a.txt'))

    const verify = await runIsolated(program, ['bundle', 'verify', 'b.tar', '--trust', 'signer.pub', '--json'], cwd)
    assert.equal(verify.code, 0, verify.stderr)
    assert.equal(verify.json.verified, true)
    return {bundle: join(cwd, 'b.tar'), build}
  }

  before(async function () {
    // npm run package makes 20 scripts and their code caches, two at a time: 75-100 s on two loaded cores
    this.timeout(300_000)
    const built = await new Promise<{code: number; stderr: string}>((resolve, reject) => {
      const child = spawn('npm', ['run', '--silent', 'package'], {cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe']})
      const err: Buffer[] = []
      child.stderr.on('data', (c: Buffer) => err.push(c))
      child.once('error', reject)
      child.once('close', (code) => resolve({code: code ?? -1, stderr: Buffer.concat(err).toString('utf8')}))
    })
    assert.equal(built.code, 0, built.stderr)
    dir = await makeTempDir()
    tools = join(dir, 'tools')
    await mkdir(tools)
    for (const tool of VERIFY_TOOLS) {
      await symlink(execFileSync('sh', ['-c', `command -v ${tool}`], {encoding: 'utf8'}).trim(), join(tools, tool))
    }
    // The executable alone in an empty folder; the commands run from another one.
    await mkdir(join(dir, 'bin'))
    exe = join(dir, 'bin', 'airlock')
    await copyFile(checkoutExecutable(), exe)
    execFileSync('chmod', ['0755', exe])
    exeSha = sha256(await readFile(exe))
  })

  after(async () => {
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  it('writes dist/airlock-linux-x64 and a sha256sum -c file for it', async () => {
    const sums = await readFile(`${checkoutExecutable()}.sha256`, 'utf8')
    assert.equal(sums, `${exeSha}  airlock-linux-x64\n`)
    const check = execFileSync('sha256sum', ['-c', 'airlock-linux-x64.sha256'], {cwd: join(REPO_ROOT, 'dist'), encoding: 'utf8'})
    assert.match(check, /airlock-linux-x64: OK/)
    assert.deepEqual(await readdir(join(dir, 'bin')), ['airlock'])
  })

  it('runs alone with no node on PATH: --version, keys generate, bundle build, bundle verify', async () => {
    const work = join(dir, 'alone')
    await mkdir(work)
    assert.ok(!(await readdir(tools)).includes('node'))
    const {build} = await checkRoundTrip(exe, work)
    // Packaged, --include-self is on by default: the bundle carries this very executable.
    const self = build.json.files.find((f: {path: string}) => f.path === SELF_ENTRY)
    assert.deepEqual(self, {path: SELF_ENTRY, size: (await stat(exe)).size, sha256: exeSha, role: 'executable'})
  })

  it('loads a built-in it needs only on the way (zlib for a gzip bundle) from inside the executable', async () => {
    const work = join(dir, 'gzip')
    await mkdir(work)
    const keys = await runIsolated(exe, ['keys', 'generate', '--out', 'signer', '--quiet'], work)
    assert.equal(keys.code, 0, keys.stderr)
    const spec = await filesSpec(join(work, 'spec'), {'a.txt': 'alpha\n'})
    const build = await runIsolated(exe, ['bundle', 'build', spec, '--key', 'signer.key', '--out', 'b.tar', '--no-include-self', '--quiet'], work)
    assert.equal(build.code, 0, build.stderr)
    await writeFile(join(work, 'b.tar.gz'), gzipSync(await readFile(join(work, 'b.tar'))))
    const verify = await runIsolated(exe, ['bundle', 'verify', 'b.tar.gz', '--trust', 'signer.pub', '--json'], work)
    assert.equal(verify.code, 0, verify.stderr)
    assert.equal(verify.json.verified, true)
  })

  it('starts each command from its own script with a code cache V8 accepts, and compiles a side library only when used', async () => {
    const work = join(dir, 'caches')
    await mkdir(work)
    const debug = ['AIRLOCK_SEA_DEBUG=1']
    // "airlock-sea: code cache used (code-cache/KEY)" for each script compiled (src/sea/main.ts)
    const caches = (r: ExeResult) => [...r.stderr.matchAll(/^airlock-sea: code cache (\w+) \((\S+)\)$/gm)].map((m) => `${m[2]} ${m[1]}`)
    const keys = await runIsolated(exe, ['keys', 'generate', '--out', 'signer', '--quiet'], work, debug)
    assert.equal(keys.code, 0, keys.stderr)
    assert.deepEqual(caches(keys), ['code-cache/keys:generate used'])
    const spec = await filesSpec(join(work, 'spec'), {'a.txt': 'alpha\n'})
    const build = await runIsolated(exe, ['bundle', 'build', spec, '--key', 'signer.key', '--out', 'b.tar', '--no-include-self', '--quiet'], work, debug)
    assert.equal(build.code, 0, build.stderr)
    // a spec is YAML checked by zod schemas: both side libraries, each with its own cache
    const built = caches(build)
    assert.equal(built[0], 'code-cache/bundle:build used')
    for (const lib of ['yaml', 'zod']) assert.ok(built.includes(`code-cache/lib/${lib} used`), built.join(', '))
    // a small verify and inspect compile their own script and nothing else
    const verify = await runIsolated(exe, ['bundle', 'verify', 'b.tar', '--trust', 'signer.pub'], work, debug)
    assert.equal(verify.code, 0, verify.stderr)
    assert.deepEqual(caches(verify), ['code-cache/bundle:verify used'])
    const inspect = await runIsolated(exe, ['bundle', 'inspect', 'b.tar'], work, debug)
    assert.equal(inspect.code, 0, inspect.stderr)
    assert.deepEqual(caches(inspect), ['code-cache/bundle:inspect used'])
  })

  it('carries every command of the explicit map', async () => {
    const {COMMANDS} = await import('../../src/commands/index.js')
    for (const id of Object.keys(COMMANDS)) {
      const r = await runIsolated(exe, [...id.split(':'), '--help'], dir)
      assert.equal(r.code, 0, `${id}: ${r.stderr}`)
      assert.ok(r.stdout.includes(`$ airlock ${id.split(':').join(' ')}`), `${id}: ${r.stdout}`)
    }
  })

  it('answers --help, a topic, `help CMD` and a mistyped command (with a did-you-mean) as node bin/run.js does (the script with every command)', async () => {
    const help = await runIsolated(exe, ['--help'], dir)
    assert.equal(help.code, 0, help.stderr)
    for (const topic of ['bundle', 'certs', 'cluster', 'images', 'keys']) assert.match(help.stdout, new RegExp(`^  ${topic} `, 'm'))
    const topic = await runIsolated(exe, ['bundle'], dir)
    for (const id of ['bundle build', 'bundle verify', 'bundle extract']) assert.ok(topic.stdout.includes(id), topic.stdout)
    for (const argv of [['bundle', 'verifyy'], ['nope']]) {
      const exeRun = await runIsolated(exe, argv, dir)
      const script = await runCli(argv)
      assert.equal(exeRun.code, 2, exeRun.stderr)
      assert.equal(exeRun.code, script.code)
      assert.equal(exeRun.stderr, script.stderr)
      assert.match(exeRun.stderr, new RegExp(`no command "airlock ${argv.join(' ')}"`))
    }
    const meant = await runIsolated(exe, ['bundle', 'verifyy', 'x.tar'], dir)
    assert.match(meant.stderr, /did you mean airlock bundle verify\?/)
    const helpCmd = await runIsolated(exe, ['help', 'bundle', 'verify'], dir)
    assert.equal(helpCmd.code, 0, helpCmd.stderr)
    assert.match(helpCmd.stdout, /USAGE\s+\$ airlock bundle verify BUNDLE/)
  })

  it('serves templates from inside the executable, and only those', async () => {
    const work = join(dir, 'templates')
    await mkdir(work)
    const keys = await runIsolated(exe, ['keys', 'generate', '--out', 'signer'], work)
    assert.equal(keys.code, 0, keys.stderr)
    const spec = await filesSpec(join(work, 'spec'), {'a.txt': 'a\n'}, '  profile: wallaroo-2025.1\n')
    const build = await runIsolated(exe, ['bundle', 'build', spec, '--key', 'signer.key', '--out', 'p.tar', '--no-include-self', '--json'], work)
    assert.equal(build.code, 0, build.stderr)
    const profile = await readFile(join(REPO_ROOT, 'templates/profiles/wallaroo-2025.1.yaml'))
    const req = build.json.files.find((f: {path: string}) => f.path === 'requirements.yaml')
    assert.equal(req?.sha256, sha256(profile))
    assert.ok(!build.json.files.some((f: {path: string}) => f.path === SELF_ENTRY), '--no-include-self leaves the executable out')

    // A templates/ folder beside the executable is not read: the profile must be one it carries.
    await mkdir(join(dir, 'bin', 'templates', 'profiles'), {recursive: true})
    await writeFile(join(dir, 'bin', 'templates', 'profiles', 'planted.yaml'), 'x: 1\n')
    const spec2 = await filesSpec(join(work, 'spec2'), {'a.txt': 'a\n'}, '  profile: planted\n')
    const missing = await runIsolated(exe, ['bundle', 'build', spec2, '--key', 'signer.key', '--out', 'q.tar', '--json'], work)
    await rm(join(dir, 'bin', 'templates'), {recursive: true})
    assert.equal(missing.code, 2, missing.stderr)
    assert.equal(missing.json.error.code, 'SPEC_INVALID')
    assert.equal(missing.json.error.subject, `${spec2}#spec.profile`)
  })

  it('lists the templates it carries (kots config finds the shipped profiles without a folder)', async () => {
    const shipped = (await readdir(join(REPO_ROOT, 'templates', 'profiles'))).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -'.yaml'.length))
    const r = await runIsolated(exe, ['kots', 'config', '--cores', '8', '--domain', 'platform.example.com', '--json'], dir)
    if (shipped.length === 1) {
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.json.profile, shipped[0])
    } else {
      // several shipped: the user must choose, and the error names every one the executable carries
      assert.equal(r.code, 2, r.stderr)
      assert.equal(r.json.error.subject, '--profile')
      for (const name of shipped) assert.ok(r.json.error.message.includes(name), name)
    }
  })

  it('refuses a spec file that would take the place of files/airlock', async () => {
    const work = join(dir, 'clash')
    await mkdir(work)
    assert.equal((await runIsolated(exe, ['keys', 'generate', '--out', 'signer'], work)).code, 0)
    const spec = await filesSpec(join(work, 'spec'), {airlock: '#!/bin/sh\n'})
    const r = await runIsolated(exe, ['bundle', 'build', spec, '--key', 'signer.key', '--out', 'c.tar', '--json'], work)
    assert.equal(r.code, 2, r.stderr)
    assert.equal(r.json.error.code, 'SPEC_INVALID')
    assert.equal(r.json.error.subject, `${spec}#spec.files[0].as`)
  })

  it('crosses the gap inside its own bundle: VERIFY.txt by hand, then bundle extract, then the airlock inside works', async () => {
    const connected = join(dir, 'connected')
    await mkdir(connected)
    const {bundle} = await checkRoundTrip(exe, connected)

    // Isolated side, step 1: verify with openssl and sha256sum only, as VERIFY.txt says.
    const isolated = join(dir, 'isolated')
    await mkdir(join(isolated, 'by-hand'), {recursive: true})
    await copyFile(bundle, join(isolated, 'b.tar'))
    await copyFile(join(connected, 'signer.pub'), join(isolated, 'signer.pub'))
    execFileSync('tar', ['-xf', join(isolated, 'b.tar'), '-C', join(isolated, 'by-hand'), 't-1.0.0/VERIFY.txt'])
    await mkdir(join(isolated, 'tmp'))
    const byHand = await runIsolated('sh', [join(isolated, 'by-hand', 't-1.0.0', 'VERIFY.txt')], join(isolated, 'by-hand'), [`BUNDLE=${join(isolated, 'b.tar')}`, `TRUST=${join(isolated, 'signer.pub')}`, `TMPDIR=${join(isolated, 'tmp')}`])
    assert.equal(byHand.code, 0, byHand.stderr)
    assert.match(byHand.stdout, /bundle verified/)
    // VERIFY.txt extracts into its own private folder and says where
    const handExe = join((/verified files: (.*)/.exec(byHand.stdout) as RegExpExecArray)[1] as string, SELF_ENTRY)
    assert.equal(sha256(await readFile(handExe)), exeSha)

    // Step 2: the verified airlock extracts the bundle; the executable comes out executable, alone.
    const extract = await runIsolated(handExe, ['bundle', 'extract', 'b.tar', '--trust', 'signer.pub', '--to', 'out', '--json'], isolated)
    assert.equal(extract.code, 0, extract.stderr)
    const inner = join(isolated, 'out', SELF_ENTRY)
    assert.equal((await stat(inner)).mode & 0o777, 0o755)
    assert.equal((await stat(join(isolated, 'out', 'files', 'a.txt'))).mode & 0o111, 0)
    assert.equal(sha256(await readFile(inner)), exeSha)

    // Step 3: that airlock passes the same checks.
    const again = join(isolated, 'again')
    await mkdir(again)
    await checkRoundTrip(inner, again)
  })

  it('from a checkout, --include-self carries dist/airlock-linux-x64', async () => {
    const work = join(dir, 'checkout')
    await mkdir(work)
    const keys = await runCli(['keys', 'generate', '--out', join(work, 'signer')])
    assert.equal(keys.code, 0, keys.stderr)
    const spec = await filesSpec(join(work, 'spec'), {'a.txt': 'a\n'})
    const plain = await runCli(['bundle', 'build', spec, '--key', join(work, 'signer.key'), '--out', join(work, 'plain.tar'), '--json'])
    assert.equal(plain.code, 0, plain.stderr)
    assert.ok(!plain.json.files.some((f: {path: string}) => f.path === SELF_ENTRY), 'off by default when not packaged')
    const r = await runCli(['bundle', 'build', spec, '--key', join(work, 'signer.key'), '--out', join(work, 'self.tar'), '--include-self', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const self = r.json.files.find((f: {path: string}) => f.path === SELF_ENTRY)
    assert.equal(self?.sha256, exeSha)
    assert.equal(self?.role, 'executable')
    const listing = execFileSync('tar', ['-tvf', join(work, 'self.tar'), `t-1.0.0/${SELF_ENTRY}`], {encoding: 'utf8'})
    assert.match(listing, /^-rwxr-xr-x /)
  })

  it('names npm run package when a checkout has no executable to carry', async () => {
    const missing = join(dir, 'nowhere', 'airlock-linux-x64')
    await assert.rejects(locateSelf(false, missing), (error: unknown) => {
      assert.ok(error instanceof AirlockError)
      assert.equal(error.code, 'FILE_NOT_FOUND')
      assert.equal(error.subject, missing)
      assert.match(error.hint ?? '', /npm run package/)
      return true
    })
  })
})
