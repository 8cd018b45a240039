/*
 * npm run package: airlock as one executable file, with Node's built-in single executable
 * application support (SEA). Four steps, each a tool this machine already has:
 *   1. esbuild bundles two CommonJS scripts: the small main the executable runs (src/sea/main.ts:
 *      `--version`, and loading the CLI), and the CLI (src/sea/app.ts and everything it imports: every
 *      command in the explicit map src/commands/index.ts and their dependencies, evaluated lazily);
 *      fresh node processes then make a V8 code cache of the CLI for each command (codeCaches());
 *   2. `node --experimental-sea-config` turns the main script and a code cache of it, the CLI and its
 *      code caches, the package.json and command manifest oclif needs, and every file under
 *      templates/ into one blob;
 *   3. a copy of this very node binary (the blob only runs in the node version that made it) is
 *      stripped of its debug symbols when `strip` is installed;
 *   4. postject injects the blob into that copy.
 * The result is dist/airlock-linux-x64 and dist/airlock-linux-x64.sha256 (sha256sum -c format).
 * `npm run package -- --no-code-cache` builds a byte-reproducible executable that starts slower.
 * Nothing here lists commands or templates: whatever is in the map and in templates/ at build time
 * goes in.
 */
import {execFile, execFileSync, spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile} from 'node:fs/promises'
import {createRequire} from 'node:module'
import {dirname, join, relative, sep} from 'node:path'
import {fileURLToPath} from 'node:url'
import {promisify} from 'node:util'

import type {Interfaces} from '@oclif/core'
import {build, type Plugin} from 'esbuild'

import {APP_FILENAME, appAssetKey, cacheAssetKey, commandManifestKey, DEFAULT_APP, libraryAssetKey, libraryFilename, MANIFEST_ASSET, PJSON_ASSET, TEMPLATE_INDEX_ASSET} from '../src/sea/runtime.js'

const run = promisify(execFile)
const REPO = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '')
const DIST = join(REPO, 'dist')
const NAME = 'airlock-linux-x64'
const SENTINEL_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'

type Inject = (file: string, resource: string, data: Buffer, options: {sentinelFuse: string}) => Promise<void>
const {inject} = createRequire(import.meta.url)('postject') as {inject: Inject}

function step(text: string): void {
  process.stderr.write(`package: ${text}\n`)
}

/** Only what oclif reads from package.json at run time; dependencies and scripts stay behind. */
async function embeddedPjson(): Promise<Record<string, unknown>> {
  const pjson = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as Record<string, unknown>
  const {name, version, description, type, license, oclif} = pjson
  return {name, version, description, type, license, oclif}
}

/** Every regular file under templates/, keyed by its path from the repository root. */
async function templateAssets(): Promise<Record<string, string>> {
  const dir = join(REPO, 'templates')
  const assets: Record<string, string> = {}
  for (const entry of await readdir(dir, {recursive: true, withFileTypes: true})) {
    if (!entry.isFile()) continue
    const abs = join(entry.parentPath, entry.name)
    assets[relative(REPO, abs).split(sep).join('/')] = abs
  }
  return assets
}

/*
 * What oclif require()s for finding plugins and commands on disk (minimatch, tinyglobby, lilconfig
 * for tsconfig files), for its Node version check (semver; the executable turns it off) and for
 * rendering --help (ejs): the embedded plugin never looks on disk, so only --help loads one of them.
 * oclif is CommonJS, so require() gives it the same object from a side library as from its bundle.
 */
const OCLIF_SIDE_LIBRARIES = ['ejs', 'lilconfig', 'minimatch', 'semver', 'tinyglobby']

/*
 * Large packages that only some paths of a command reach: the S3 client (s3:// inputs and outputs),
 * the X.509 libraries (certificate chains, certs commands), the Kubernetes client (a live cluster),
 * the CycloneDX library (an SBOM at build time), zod (specs and profiles), yaml (specs, charts,
 * manifests). Bundled into every command's script, they made each start read, copy, compile and
 * evaluate the top level of ~1.4 MB that a small `bundle verify` never runs. Each is instead one
 * script of its own (with its code cache), shared by every command, that main.ts compiles when a
 * module first uses what it exports (not when a module that imports it is evaluated). A side library
 * bundles its own dependencies; those shared with the CLI's own code are stateless helpers, so two
 * copies of one of them behave as one. The CLI imports each by name, as a namespace, or (node-forge)
 * as the default of a CommonJS module: a default import of an ES module that is external gets the
 * module object instead (esbuild's Node interop), which is why ora, small anyway, stays inside.
 */
const SIDE_LIBRARIES = ['@aws-sdk/client-s3', '@cyclonedx/cyclonedx-library', '@kubernetes/client-node', 'node-forge', 'pkijs', 'yaml', 'zod', ...OCLIF_SIDE_LIBRARIES]

/**
 * Inside a SEA, require() loads built-in modules only, and prints a warning before failing on any
 * other name. Dependencies probe for optional modules that way (node-fetch's `encoding`, ws's
 * `bufferutil`, ...), each inside a try. Failing those probes at once, with the MODULE_NOT_FOUND they
 * expect, is what would happen anyway, minus a warning on every run. AIRLOCK_SEA_DEBUG=1 prints each.
 * The side libraries go through, to main.ts's require().
 */
function requireGuard(debug: boolean): string {
  const report = debug ? 'console.error("airlock-sea: require", id, new Error().stack);' : ''
  return `require = ((r, libraries) => (id) => { if (r("node:module").isBuiltin(id) || libraries.includes(id)) return r(id); ${report} throw Object.assign(new Error("Cannot find module '" + id + "': the airlock executable loads no module from disk"), {code: "MODULE_NOT_FOUND"}) })(require, ${JSON.stringify(SIDE_LIBRARIES)});`
}

/*
 * oclif's modules are CommonJS that require() everything they might use at the top (the help
 * renderer, ejs, debug and through it node:tty and node:net, minimatch, tinyglobby, node:readline,
 * node:child_process, ...), so evaluating its index evaluates nearly all of it on every start,
 * although a command run reaches a fraction. Inside the executable each such top-level
 * `const x_1 = require("...")` (TypeScript's output, also with __importDefault/__importStar) becomes
 * a stand-in (src/sea/lazy-module.ts) that require()s the module on first use of any of its
 * properties: the same modules, evaluated when first touched instead of up front. Nothing in oclif
 * looks at a module object other than through its properties (a call or `new` goes through too).
 */
const LAZY_MODULE = 'airlock-sea:lazy-module'
const TOP_LEVEL_REQUIRE = /^(const|var|let) ([\w$]+) = ((?:__importDefault|__importStar)\()?require\((["'][^"']+["'])\)(\))?;$/gm
const TOP_LEVEL_NAMESPACE = /^exports\.([\w$]+) = __importStar\(require\(("[^"]+")\)\);$/gm

function lazyOclif(): Plugin {
  return {
    name: 'airlock-lazy-oclif',
    setup(b) {
      b.onResolve({filter: new RegExp(`^${LAZY_MODULE}$`)}, () => ({path: join(REPO, 'src/sea/lazy-module.ts')}))
      b.onLoad({filter: /[\\/]@oclif[\\/]core[\\/]lib[\\/].*\.js$/}, async (args) => {
        const source = await readFile(args.path, 'utf8')
        let count = 0
        const contents = source
          .replace(TOP_LEVEL_REQUIRE, (_, kind: string, name: string, wrap: string | undefined, spec: string, close: string | undefined) => {
            if (Boolean(wrap) !== Boolean(close)) return _
            count++
            return `${kind} ${name} = __airlockLazy(() => ${wrap ?? ''}require(${spec})${close ?? ''});`
          })
          .replace(TOP_LEVEL_NAMESPACE, (_, name: string, spec: string) => {
            count++
            return `exports.${name} = __airlockLazy(() => __importStar(require(${spec})));`
          })
        if (count === 0) return {contents: source, loader: 'js'}
        // after the "use strict" directive, which must stay first to keep the file strict
        const at = contents.startsWith('"use strict";') ? contents.indexOf('\n') + 1 : 0
        return {contents: `${contents.slice(0, at)}const __airlockLazy = require(${JSON.stringify(LAZY_MODULE)}).lazyModule;\n${contents.slice(at)}`, loader: 'js'}
      })
    },
  }
}

/*
 * oclif names the platform `wsl` after `(await import('wsl-utils')).isWsl` on every start; wsl-utils
 * imports node:child_process at its top (and that node:net, node:dgram, streams, ...) for helpers
 * oclif calls only on Windows shells. For oclif's util/os.js alone, wsl-utils is a stand-in with the
 * same isWsl (is-wsl's, which wsl-utils re-exports) that loads the real module for anything else.
 */
function lighterWslProbe(): Plugin {
  return {
    name: 'airlock-wsl-probe',
    setup(b) {
      b.onResolve({filter: /^wsl-utils$/}, async (args) => {
        if (!/[\\/]@oclif[\\/]core[\\/]lib[\\/]util[\\/]os\.js$/.test(args.importer)) return undefined
        const real = await b.resolve(args.path, {kind: args.kind, resolveDir: args.resolveDir})
        if (real.errors.length > 0) return {errors: real.errors}
        return {path: real.path, namespace: 'airlock-wsl-probe'}
      })
      b.onLoad({filter: /.*/, namespace: 'airlock-wsl-probe'}, (args) => ({
        contents: [
          `export {default as isWsl} from 'is-wsl'`,
          `const real = () => import(${JSON.stringify(args.path)})`,
          `export const powerShellPath = async (...a) => (await real()).powerShellPath(...a)`,
        ].join('\n'),
        // where wsl-utils is, so that is-wsl resolves as wsl-utils' own import does
        resolveDir: dirname(args.path),
        loader: 'js',
      }))
    },
  }
}

/*
 * oclif logs through `debug`, which prints only what the DEBUG environment variable names and, once
 * loaded, decides on colours with node:tty (which loads node:net and the streams) for each logger
 * oclif makes, on every start. For oclif's logger.js, `debug` is a stand-in: with DEBUG unset its
 * loggers print nothing, as debug's would; with DEBUG set it is the real module.
 */
function quietDebug(): Plugin {
  return {
    name: 'airlock-quiet-debug',
    setup(b) {
      b.onResolve({filter: /^debug$/}, async (args) => {
        if (!/[\\/]@oclif[\\/]core[\\/]lib[\\/]logger\.js$/.test(args.importer)) return undefined
        const real = await b.resolve(args.path, {kind: args.kind, resolveDir: args.resolveDir})
        if (real.errors.length > 0) return {errors: real.errors}
        return {path: real.path, namespace: 'airlock-quiet-debug'}
      })
      b.onLoad({filter: /.*/, namespace: 'airlock-quiet-debug'}, (args) => ({
        contents: `module.exports = process.env.DEBUG ? require(${JSON.stringify(args.path)}) : () => () => {}`,
        resolveDir: dirname(args.path),
        loader: 'js',
      }))
    },
  }
}

/** The executable's main script: `--version`, and compiling the CLI from its asset with a code cache. */
async function bundleMain(out: string): Promise<void> {
  const result = await build({
    entryPoints: [join(REPO, 'src/sea/main.ts')],
    outfile: out,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    logLevel: 'warning',
  })
  if (result.errors.length > 0) throw new Error('esbuild failed')
}

/**
 * Where src/sea/app.ts imports the command loaders, a bundle for one command gets a map of that
 * command alone (at src/commands/TOPIC/NAME.ts, oclif's layout, which src/commands/lazy.ts follows):
 * the other commands and their dependencies are then not in the script at all.
 */
function oneCommand(id: string): Plugin {
  const file = join(REPO, 'src/commands', `${id.split(':').join('/')}.ts`)
  return {
    name: 'airlock-one-command',
    setup(b) {
      b.onResolve({filter: /\/commands\/lazy\.js$/}, (args) => (args.importer === join(REPO, 'src/sea/app.ts') ? {path: id, namespace: 'airlock-one-command'} : undefined))
      b.onLoad({filter: /.*/, namespace: 'airlock-one-command'}, () => ({
        contents: `export const COMMAND_LOADERS = {${JSON.stringify(id)}: async () => (await import(${JSON.stringify(file)})).default}`,
        resolveDir: REPO,
        loader: 'ts',
      }))
    },
  }
}

/**
 * The CLI (src/sea/app.ts and everything it imports), wrapped as the CommonJS function main.ts calls:
 * with every command (`id` undefined: --help, anything that names no command), or with one.
 */
async function bundleApp(out: string, id?: string): Promise<void> {
  await bundleScript(out, {entryPoints: [join(REPO, 'src/sea/app.ts')], plugins: [lazyOclif(), lighterWslProbe(), quietDebug(), ...(id === undefined ? [] : [oneCommand(id)])]})
}

/** A side library alone (its exports are what require() of it gives), wrapped the same way. */
async function bundleLibrary(out: string, id: string): Promise<void> {
  await bundleScript(out, {stdin: {contents: `module.exports = require(${JSON.stringify(id)})`, resolveDir: REPO, sourcefile: `${id}.cjs`}, external: SIDE_LIBRARIES.filter((other) => other !== id)})
}

async function bundleScript(out: string, options: {entryPoints?: string[]; stdin?: {contents: string; resolveDir: string; sourcefile: string}; plugins?: Plugin[]; external?: string[]}): Promise<void> {
  const result = await build({
    ...options,
    write: false,
    charset: 'ascii',
    outfile: out,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: process.env.AIRLOCK_SEA_DEBUG ? false : true,
    // main.ts compiles the script with vm.Script, which has no loader for import(): every import()
    // left in it (of a built-in such as node:zlib or node:tls, loaded when first needed) becomes a
    // require() behind a promise, as esbuild already does for the modules it bundles.
    supported: {'dynamic-import': false},
    // oclif checks `engines.node` by require()-ing its own package.json from disk at import time;
    // inside the executable the node version is the one baked in, so the check only makes noise.
    banner: {js: `process.env.OCLIF_DISABLE_ENGINE_WARNING = '1';${requireGuard(Boolean(process.env.AIRLOCK_SEA_DEBUG))}`},
    // oclif reaches for the TypeScript compiler only to run .ts commands in development.
    // The CycloneDX library's optional XML and schema-validation plugs (airlock writes JSON only):
    // it require()s them inside try/catch, so left out they are simply "not available".
    external: [...(options.external ?? SIDE_LIBRARIES), 'typescript', 'xmlbuilder2', 'libxmljs2', 'ajv', 'ajv-formats', 'ajv-formats-draft2019'],
    legalComments: 'eof',
    // Code that locates files beside its own module finds nothing inside the executable: a path
    // that cannot exist turns such a lookup into a clean "not found" instead of reading whatever
    // sits next to the executable.
    define: {'import.meta.url': JSON.stringify('file:///nonexistent/airlock-sea/dist/util/module.js')},
    logLevel: 'warning',
  })
  if (result.errors.length > 0) throw new Error('esbuild failed')
  const code = result.outputFiles.find((f) => f.path === out)?.text
  if (code === undefined) throw new Error('esbuild wrote no bundle')
  // Latin-1 (one byte a character), so that main.ts reads the asset as latin1: a plain copy into a
  // string, where UTF-8 decoding would look at every byte. esbuild escapes what is not ASCII except
  // inside some regular expression literals (ansis's /[\u001b\u009b].../ keeps a raw U+009B) and in
  // comments (AIRLOCK_SEA_DEBUG keeps them); what is beyond Latin-1 becomes \uXXXX, which means the
  // same in a string, a regular expression, an identifier or a comment.
  const latin1 = code.replace(/[^\x00-\xff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
  await writeFile(out, `(function (exports, require, module, __filename, __dirname) {${latin1}\n})`, 'latin1')
}

/*
 * One V8 code cache of the CLI script per command, and one for oclif alone: each made in a fresh
 * node (this very binary, which the executable is a copy of, so V8 accepts the cache) that compiles
 * the script exactly as main.ts does, evaluates the modules that command evaluates (app.ts warm())
 * and then asks V8 for the cache, which then holds every function compiled so far. Node's own SEA
 * code cache is taken before anything runs, so it holds little more than the top level.
 *
 * The commands in RUN_TO_WARM are run instead, for real, on a small bundle made here: their cache
 * then also holds what the command runs (oclif's parsing and execution, the command's own work),
 * which V8 would otherwise compile again on every start (10-20 ms of a small `bundle verify`). The
 * script reads its assets through a stand-in for node:sea that serves the files the blob is made of.
 */
const WARM = `
const {Script} = require('node:vm')
const {readFileSync, writeFileSync} = require('node:fs')
const [file, filename, id, out, assetsFile, argvJson] = process.argv.slice(1)
const assets = JSON.parse(readFileSync(assetsFile, 'utf8'))
const asset = (key) => {
  if (!Object.hasOwn(assets, key)) throw new Error('no asset ' + key)
  const b = readFileSync(assets[key])
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.length)
}
const sea = {isSea: () => true, getAsset: asset, getRawAsset: asset}
const evaluate = (path, filename, module) => {
  const script = new Script(readFileSync(path, 'latin1'), {filename})
  script.runInThisContext()(module.exports, req, module, filename, filename.slice(0, filename.lastIndexOf('/')))
  return script
}
// the side libraries from their scripts, as main.ts's require() gives them
const libraries = new Map()
const req = (m) => {
  if (m === 'node:sea' || m === 'sea') return sea
  const key = ${JSON.stringify(libraryAssetKey(''))} + m
  if (!Object.hasOwn(assets, key)) return require(m)
  let library = libraries.get(m)
  if (!library) {
    libraries.set(m, (library = {exports: {}}))
    evaluate(assets[key], ${JSON.stringify(libraryFilename('@@'))}.replace('@@', m), library)
  }
  return library.exports
}
const module = {exports: {}}
const script = evaluate(file, filename, module)
const argv = argvJson ? JSON.parse(argvJson) : undefined
// a side library: the top level it has just run
const done = id.startsWith(${JSON.stringify(libraryAssetKey(''))}) ? Promise.resolve() : argv ? module.exports.run(argv) : module.exports.warm(id === '${DEFAULT_APP}' ? undefined : id)
done.then(() => {
  if (process.exitCode) {
    process.stderr.write('warm-up run of ' + argv.join(' ') + ' failed (exit ' + process.exitCode + ')\\n')
    process.exit(1)
  }
  if (out) writeFileSync(out, script.createCachedData())
  process.exit(0)
})
`

/** What a warm-up run works on: a key pair and a small bundle signed with it. */
interface WarmFiles {
  bundle: string
  pub: string
}

/** Commands whose code cache is made after running them once (see WARM), with their arguments. */
const RUN_TO_WARM: Record<string, (w: WarmFiles) => string[]> = {
  'bundle:verify': (w) => ['bundle', 'verify', w.bundle, '--trust', w.pub],
  'bundle:inspect': (w) => ['bundle', 'inspect', w.bundle],
}

/**
 * Runs the CLI script `script` in a fresh node with `argv`, through WARM; `out`: where to write its
 * code cache. A side library's script (`id` its asset key) is evaluated alone.
 */
async function runScript(script: string, id: string, assetsFile: string, cwd: string, argv?: string[], out?: string, filename = APP_FILENAME): Promise<void> {
  await run(process.execPath, ['-e', WARM, script, filename, id, out ?? '', assetsFile, ...(argv ? [JSON.stringify(argv)] : [])], {cwd, env: {...process.env, NODE_OPTIONS: ''}, maxBuffer: 1 << 24})
}

/** A key pair and a one-file bundle, made by the CLI script with every command, for the warm-up runs. */
async function warmFiles(allScript: string, assetsFile: string, dir: string): Promise<WarmFiles> {
  await mkdir(join(dir, 'in'), {recursive: true})
  await writeFile(join(dir, 'in', 'a.txt'), 'warm-up\n')
  await writeFile(join(dir, 'spec.yaml'), 'apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: warm, version: 1.0.0}\nspec:\n  files:\n    - {source: ./in/a.txt, as: a.txt}\n')
  await runScript(allScript, DEFAULT_APP, assetsFile, dir, ['keys', 'generate', '--out', 'signer', '--quiet'])
  await runScript(allScript, DEFAULT_APP, assetsFile, dir, ['bundle', 'build', 'spec.yaml', '--key', 'signer.key', '--out', 'warm.tar', '--no-include-self', '--quiet'])
  return {bundle: join(dir, 'warm.tar'), pub: join(dir, 'signer.pub')}
}

/** The CLI for every command and for each alone, and the side libraries, with their code caches: SEA assets by key. */
async function appAssets(ids: string[], dir: string, useCodeCache: boolean, embedded: Record<string, string>): Promise<Record<string, string>> {
  await mkdir(join(dir, 'warm'), {recursive: true})
  await mkdir(join(dir, 'lib'), {recursive: true})
  const assets: Record<string, string> = {}
  const libraryOf = (id: string) => join(dir, 'lib', `${id.replaceAll('/', '+')}.cjs`)
  await Promise.all(SIDE_LIBRARIES.map((id) => bundleLibrary(libraryOf(id), id)))
  for (const id of SIDE_LIBRARIES) assets[libraryAssetKey(id)] = libraryOf(id)
  // the warm-up runs find the side libraries where the executable does
  const assetsFile = join(dir, 'assets.json')
  await writeFile(assetsFile, JSON.stringify({...embedded, ...assets}))
  const scriptOf = (id: string) => join(dir, `${id.replaceAll(':', '-')}.cjs`)
  // The script with every command makes the warm-up runs' key and bundle, while the other lane
  // bundles the commands that need none; the commands run to warm come last.
  const allReady = bundleApp(scriptOf(DEFAULT_APP))
  const warmReady = useCodeCache ? allReady.then(() => warmFiles(scriptOf(DEFAULT_APP), assetsFile, join(dir, 'warm'))) : allReady.then(() => undefined)
  const libraryCaches = useCodeCache ? SIDE_LIBRARIES : []
  const queue = [...libraryCaches.map(libraryAssetKey), DEFAULT_APP, ...ids.filter((id) => !Object.hasOwn(RUN_TO_WARM, id)), ...ids.filter((id) => Object.hasOwn(RUN_TO_WARM, id))]
  const one = async (): Promise<void> => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      const library = libraryCaches.find((lib) => libraryAssetKey(lib) === id)
      if (library !== undefined) {
        const cache = libraryOf(library).replace(/\.cjs$/, '.cache')
        await runScript(libraryOf(library), id, assetsFile, join(dir, 'warm'), undefined, cache, libraryFilename(library))
        assets[cacheAssetKey(id)] = cache
        continue
      }
      const script = scriptOf(id)
      if (id === DEFAULT_APP) await allReady
      else await bundleApp(script, id)
      assets[appAssetKey(id)] = script
      if (!useCodeCache) continue
      const argvOf = Object.hasOwn(RUN_TO_WARM, id) ? RUN_TO_WARM[id] : undefined
      const warm = argvOf ? await warmReady : undefined
      const cache = script.replace(/\.cjs$/, '.cache')
      await runScript(script, id, assetsFile, join(dir, 'warm'), warm && argvOf?.(warm), cache)
      assets[cacheAssetKey(id)] = cache
    }
  }
  await Promise.all([one(), one(), warmReady])
  // In a fixed order (two workers finish in any), so that --no-code-cache builds stay byte-identical.
  return Object.fromEntries(Object.entries(assets).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

function stripIfPossible(file: string): boolean {
  const probe = spawnSync('strip', ['--version'], {stdio: 'ignore'})
  if (probe.status !== 0) return false
  execFileSync('strip', ['--strip-all', file])
  return true
}

async function main(): Promise<void> {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`npm run package builds ${NAME} and must run on linux x64 (this is ${process.platform} ${process.arch})`)
  }
  const unknown = process.argv.slice(2).filter((arg) => arg !== '--no-code-cache')
  if (unknown.length > 0) throw new Error(`unknown argument ${unknown.join(' ')}; the only option is --no-code-cache`)
  await mkdir(DIST, {recursive: true})
  // A folder of its own, so that two builds at once (two test runs) never mix their files; each
  // ends with an atomic rename into dist/.
  const work = await mkdtemp(join(DIST, '.sea-'))
  try {
    step('bundling src/sea/main.ts with esbuild')
    const script = join(work, 'main.cjs')
    await bundleMain(script)

    const pjson = await embeddedPjson()
    const pjsonPath = join(work, 'package.json')
    await writeFile(pjsonPath, `${JSON.stringify(pjson)}\n`)
    // The same source esbuild just bundled, loaded here through tsx: oclif's manifest of every command
    // in the map, so the executable answers --version and --help without evaluating any command.
    const {COMMANDS} = await import('../src/commands/index.js')
    const {manifestFor} = await import('../src/sea/plugin.js')
    const manifestPath = join(work, 'oclif.manifest.json')
    const manifest = await manifestFor(pjson as unknown as Interfaces.PJSON, COMMANDS)
    await writeFile(manifestPath, `${JSON.stringify(manifest)}\n`)
    // and each command's entry alone, for the script made for that command (src/sea/app.ts)
    const commandManifests: Record<string, string> = {}
    await mkdir(join(work, 'oclif.manifest'))
    for (const [id, entry] of Object.entries(manifest.commands)) {
      commandManifests[commandManifestKey(id)] = join(work, 'oclif.manifest', `${id.replaceAll(':', '-')}.json`)
      await writeFile(commandManifests[commandManifestKey(id)] as string, `${JSON.stringify({...manifest, commands: {[id]: entry}})}\n`)
    }
    const templates = await templateAssets()
    const indexPath = join(work, 'templates.index.json')
    await writeFile(indexPath, `${JSON.stringify(Object.keys(templates).map((key) => key.slice('templates/'.length)).sort())}\n`)
    const useCodeCache = !process.argv.includes('--no-code-cache')
    step(`bundling the CLI for every command and for each of ${Object.keys(COMMANDS).length} alone${useCodeCache ? ', with V8 code caches' : ''}`)
    const embedded = {[PJSON_ASSET]: pjsonPath, [MANIFEST_ASSET]: manifestPath, ...commandManifests, [TEMPLATE_INDEX_ASSET]: indexPath, ...templates}
    const apps = await appAssets(Object.keys(COMMANDS), join(work, 'app'), useCodeCache, embedded)
    const blob = join(work, 'airlock.blob')
    const seaConfig = {
      // Relative, with the work folder as cwd: the blob records this path, and the folder's random
      // name would otherwise make two builds of the same sources differ.
      main: relative(work, script),
      output: blob,
      disableExperimentalSEAWarning: true,
      // V8 code caches (of the small main here, of the CLI in the assets) are what let the executable
      // start faster than `node bin/run.js`. V8 does not write them byte for byte the same twice;
      // --no-code-cache trades start-up time for an executable that is byte-identical across builds
      // of the same sources with the same node.
      useCodeCache,
      assets: {...embedded, ...apps},
    }
    const configPath = join(work, 'sea-config.json')
    await writeFile(configPath, `${JSON.stringify(seaConfig, null, 2)}\n`)
    step(`preparing the blob (${Object.keys(templates).length} templates, code caches ${useCodeCache ? 'on' : 'off'})`)
    execFileSync(process.execPath, ['--experimental-sea-config', configPath], {cwd: work, stdio: ['ignore', 'ignore', 'inherit']})

    const exe = join(work, NAME)
    await copyFile(process.execPath, exe)
    await chmod(exe, 0o755)
    step(stripIfPossible(exe) ? `stripped a copy of ${process.execPath} (node ${process.version})` : 'strip not found: keeping the node binary unstripped')
    step('injecting the blob with postject')
    await inject(exe, 'NODE_SEA_BLOB', await readFile(blob), {sentinelFuse: SENTINEL_FUSE})

    const target = join(DIST, NAME)
    const digest = await sha256(exe)
    await writeFile(join(work, `${NAME}.sha256`), `${digest}  ${NAME}\n`)
    await rename(exe, target)
    await rename(join(work, `${NAME}.sha256`), `${target}.sha256`)
    const {size} = await stat(target)
    process.stdout.write(`${relative(REPO, target)}  ${(size / (1 << 20)).toFixed(1)} MiB  sha256:${digest}\n`)
  } finally {
    // AIRLOCK_SEA_DEBUG keeps the bundled scripts (unminified) and the blob for a look; AIRLOCK_SEA_KEEP
    // keeps those of a normal build, to profile what the executable runs.
    if (!process.env.AIRLOCK_SEA_DEBUG && !process.env.AIRLOCK_SEA_KEEP) await rm(work, {recursive: true, force: true})
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`package: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
})
