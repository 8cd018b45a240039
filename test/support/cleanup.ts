/*
 * What the suite starts, the suite undoes. This module is loaded first (by hooks.ts, from .mocharc's
 * `require`), so everything below holds for every test file without edits there:
 *
 * - The run gets its own temp root and TMPDIR points at it, so os.tmpdir() in this process and in every
 *   child (the CLI under test, skopeo, openssl) writes inside it. At the end the root must be empty.
 * - Folders, servers and children are registered here. What a test registers is undone after that
 *   test (also when it failed or timed out); what a before() hook or a shared fixture registers is
 *   undone at the end of the run, after the files' own after() hooks.
 * - Every child process spawned in this process is tracked, so a test that times out while the CLI
 *   runs does not leave the CLI running.
 */
import childProcess, {type ChildProcess} from 'node:child_process'
import {mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import {syncBuiltinESMExports} from 'node:module'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

/** The system temp folder the run started with; the suite's own root is made inside it. */
export const SYSTEM_TMP = tmpdir()
/** This run's temp root: TMPDIR for the run and its children. Empty again when the run ends, or the run fails. */
export const TEMP_ROOT = mkdtempSync(join(SYSTEM_TMP, 'airlock-suite-'))
process.env.TMPDIR = TEMP_ROOT

type Undo = () => Promise<unknown> | unknown
interface Entry {
  what: string
  undo: Undo
}

const runScope: Entry[] = []
let testScope: Entry[] | undefined
const children = new Set<ChildProcess>()
/** folders made through makeTempDir: anything else under the temp root was made behind the suite's back */
const known = new Set<string>()

/**
 * Registers something to undo: after the current test when called inside one, else at the end of the
 * run. Returns a function that undoes it now (and only once), for tests that stop things themselves.
 */
export function registerCleanup(what: string, undo: Undo, scope: 'auto' | 'run' = 'auto'): () => Promise<void> {
  let done: Promise<void> | undefined
  const once = () => (done ??= Promise.resolve().then(undo).then(() => undefined))
  const list = scope === 'run' ? runScope : (testScope ?? runScope)
  list.push({what, undo: once})
  return once
}

/** A fresh folder under the run's temp root, removed after the test (or the run) that made it. */
export async function makeTempDir(tag = 'test', scope: 'auto' | 'run' = 'auto'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `airlock-${tag}-`))
  known.add(dir)
  registerCleanup(`folder ${dir}`, () => rm(dir, {recursive: true, force: true}), scope)
  return dir
}

/** Removes a folder now; the registration made by makeTempDir then finds nothing to do. */
export async function removeTempDir(dir: string | undefined): Promise<void> {
  if (dir) await rm(dir, {recursive: true, force: true})
}

// Track every child this process spawns (execFile and exec go through spawn too). The builtin's ESM
// exports are re-synced so `import {spawn} from 'node:child_process'` in test files sees the wrapper.
const originalSpawn = childProcess.spawn
childProcess.spawn = function trackedSpawn(this: unknown, ...args: unknown[]): ChildProcess {
  const child = (originalSpawn as (...a: unknown[]) => ChildProcess).apply(this, args)
  children.add(child)
  child.once('exit', () => children.delete(child))
  child.once('error', () => children.delete(child))
  if (testScope) testScope.push({what: `child process ${child.spawnfile} (pid ${child.pid})`, undo: () => stopChild(child)})
  return child
} as typeof childProcess.spawn
syncBuiltinESMExports()

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return
  const gone = new Promise((r) => child.once('exit', r))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
  await gone
  clearTimeout(timer)
}

process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL')
  // a run that never reached its end hook (--dry-run, a crash) still leaves no temp root behind
  rmSync(TEMP_ROOT, {recursive: true, force: true})
})

async function undoAll(list: Entry[]): Promise<string[]> {
  const failures: string[] = []
  while (list.length > 0) {
    const e = list.pop()
    if (!e) break
    try {
      await e.undo()
    } catch (error) {
      failures.push(`${e.what}: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  return failures
}

function entries(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}

/** Caches of tools the tests run (tsx's compile cache, made by `node --import tsx` children): not a test's leftovers; removed with the root. */
const TOOL_CACHES = /^tsx-\d+$/

/** Leaks seen after single tests, reported (and failing the run) at the end. */
const leaks: string[] = []

/** Something a test left that is not a folder: named at the end of the run, which then fails. */
export function reportLeak(what: string): void {
  leaks.push(what)
}

let before = new Set<string>()

export function beginTest(): void {
  testScope = []
  before = new Set(entries(TEMP_ROOT))
}

/** After each test: undo what it registered, and name it if it (or the CLI it ran) left something unregistered. */
export async function endTest(title: string): Promise<void> {
  const list = testScope ?? []
  testScope = undefined
  const failures = await undoAll(list)
  for (const f of failures) leaks.push(`${title}: could not undo ${f}`)
  for (const name of entries(TEMP_ROOT)) {
    if (!before.has(name) && !known.has(join(TEMP_ROOT, name)) && !TOOL_CACHES.test(name)) leaks.push(`${title}: left ${join(TEMP_ROOT, name)}`)
  }
}

/** The end of the run: undo what is left, then fail if anything remains under the temp root. */
export async function endRun(): Promise<void> {
  const failures = await undoAll(runScope)
  for (const c of [...children]) await stopChild(c).catch(() => {})
  const left = entries(TEMP_ROOT).filter((name) => !TOOL_CACHES.test(name))
  rmSync(TEMP_ROOT, {recursive: true, force: true})
  const problems = [...leaks, ...failures.map((f) => `could not undo ${f}`), ...left.map((name) => `left in the temp folder: ${name}`)]
  if (problems.length > 0) {
    throw new Error(`the run left things behind (nothing may remain under ${TEMP_ROOT}; register cleanup with makeTempDir/registerCleanup):\n  ${problems.join('\n  ')}`)
  }
}

/** For the suite's own test of the leftover check: what is under the temp root now. */
export function tempRootEntries(): string[] {
  return entries(TEMP_ROOT)
}
