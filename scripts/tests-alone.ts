/*
 * Runs tests one at a time, each alone (`mocha FILE --grep TITLE`), to prove that no test depends on
 * another having run first. Lists the tests with mocha's --dry-run, then runs those whose file matches
 * the first argument (a regular expression; default: every file), every Nth of them with --every N.
 *
 *   node --import tsx scripts/tests-alone.ts 'e2e|images|since' --every 2
 */
import {execFileSync, spawnSync} from 'node:child_process'
import {relative} from 'node:path'

const args = process.argv.slice(2)
const everyAt = args.indexOf('--every')
const every = everyAt >= 0 ? Number(args.splice(everyAt, 2)[1]) : 1
const fileFilter = new RegExp(args[0] ?? '.')
const mocha = 'node_modules/.bin/mocha'

const listing = execFileSync(mocha, ['test/**/*.test.ts', '--dry-run', '--reporter', 'json'], {encoding: 'utf8', maxBuffer: 64 << 20})
const tests = (JSON.parse(listing) as {tests: {fullTitle: string; file: string}[]}).tests
  .map((t) => ({title: t.fullTitle, file: relative(process.cwd(), t.file)}))
  .filter((t) => fileFilter.test(t.file))
  .filter((_, i) => i % every === 0)

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
const failed: string[] = []
for (const [i, t] of tests.entries()) {
  const started = Date.now()
  const r = spawnSync(mocha, [t.file, '--grep', `^${escape(t.title)}$`, '--reporter', 'dot'], {encoding: 'utf8'})
  const passed = r.status === 0 && /\b1 passing\b/.test(r.stdout) && !/failing/.test(r.stdout)
  console.log(`${passed ? 'ok  ' : 'FAIL'} ${i + 1}/${tests.length} ${((Date.now() - started) / 1000).toFixed(1)}s ${t.file}: ${t.title}`)
  if (!passed) {
    failed.push(`${t.file}: ${t.title}`)
    console.log(r.stdout.slice(-3000), r.stderr.slice(-2000))
  }
}
console.log(`\n${tests.length - failed.length} of ${tests.length} passed alone`)
if (failed.length > 0) {
  console.log(failed.map((f) => `  ${f}`).join('\n'))
  process.exit(1)
}
