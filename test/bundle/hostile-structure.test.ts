import assert from 'node:assert/strict'
import {execFileSync, spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {chmod, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {parseTrust, type Trust} from '../../src/signing/trust.js'
import {buildTestBundle, makeKeys, readTarEntries, reseal, type CraftEntry, type TestKeys} from '../support/bundles.js'
import {runCli} from '../support/cli.js'
import {allReaders} from './readers.js'
import {paxHeader, paxRecord, rawTar, tempDirHook, type RawEntry} from './tar-craft.js'

const SHELLS: Array<[string, string[], 'gnu' | 'busybox']> = [
  ['dash + GNU tar', ['dash'], 'gnu'],
  ['bash + GNU tar', ['bash'], 'gnu'],
  ['busybox sh + busybox tar', ['busybox', 'sh'], 'busybox'],
]

/*
 * Signed (re-sealed with the test key), structurally hostile bundles: names that are one file on one
 * disk and two on another, a file that is also a folder, modes tar(1) restores as root, a manifest
 * that says something SHA256SUMS does not. Every reader (verify, extract, inspect, images list, the
 * SBOM reader, the --no-verify walk of push and serve) must refuse each with the same documented
 * code, and VERIFY.txt must refuse it under every shell, writing nothing outside its folder.
 */
describe('hostile structure: every reader and VERIFY.txt refuse alike', function () {
  this.timeout(180_000)
  const dir = tempDirHook('hostile-structure')
  let keys: TestKeys
  let entries: CraftEntry[]
  let pub: string
  let trust: Trust
  let script: string
  let busyboxBin: string
  const root = 't-1.0.0'

  before(async () => {
    keys = await makeKeys(dir())
    const good = await buildTestBundle(dir(), keys)
    entries = await readTarEntries(good)
    pub = await readFile(keys.pub, 'utf8')
    trust = parseTrust(pub, 'trust.pem')
    script = execFileSync('tar', ['-xOf', good, `${root}/VERIFY.txt`], {encoding: 'utf8'})
    busyboxBin = join(dir(), 'busybox-bin')
    await mkdir(busyboxBin)
    await symlink('/usr/bin/busybox', join(busyboxBin, 'tar'))
  })

  /** Re-seals files (SHA256SUMS lists only regular files, as airlock writes it); other entries are put in as they are. */
  const sealed = (extra: RawEntry[], change?: (list: RawEntry[]) => void): Buffer => {
    const list: RawEntry[] = entries.map((e) => ({...e}))
    change?.(list)
    const files = [...list, ...extra].filter((e) => !e.type || e.type === 'File')
    const head = reseal(files, keys.privateKey, pub)
    return rawTar([...head.slice(0, 3), ...list.slice(3), ...extra.map((e) => ({...e}))])
  }
  const file = (rel: string, body = 'x'): RawEntry => ({path: `${root}/${rel}`, body: Buffer.from(body)})

  async function byHand(name: string, bundle: Buffer, message = /NOT VERIFIED/): Promise<void> {
    const cwd = join(dir(), `site-${name.replaceAll(/[^a-z0-9]+/gi, '-')}`)
    const tmp = join(cwd, 'tmp')
    await mkdir(tmp, {recursive: true})
    await writeFile(join(cwd, 'demo.tar'), bundle)
    await writeFile(join(cwd, 'VERIFY.txt'), script)
    await writeFile(join(cwd, 'trust.pub'), pub)
    for (const [label, shell, tar] of SHELLS) {
      const PATH = tar === 'busybox' ? `${busyboxBin}:${process.env.PATH}` : (process.env.PATH as string)
      const r = spawnSync(shell[0] as string, [...shell.slice(1), 'VERIFY.txt'], {cwd, env: {PATH, TMPDIR: tmp, BUNDLE: 'demo.tar', TRUST: 'trust.pub'}, encoding: 'utf8'})
      assert.notEqual(r.status, 0, `${name}: VERIFY.txt under ${label} accepted it: ${r.stdout}`)
      assert.match(r.stderr, message, `${name} ${label}: ${r.stderr}`)
      assert.deepEqual(await readdir(tmp), [], `${name}: ${label} left its folder behind`)
      assert.deepEqual((await readdir(cwd)).sort(), ['VERIFY.txt', 'demo.tar', 'tmp', 'trust.pub'], `${name}: ${label} wrote beside the bundle`)
    }
  }

  async function refusedByAll(name: string, bundle: Buffer, code: string, handToo = true): Promise<void> {
    const path = join(dir(), `${name.replaceAll(/[^a-z0-9]+/gi, '-')}.tar`)
    await writeFile(path, bundle)
    const codes = await allReaders(path, trust, dir())
    for (const [reader, got] of Object.entries(codes)) assert.equal(got, code, `${name}: ${reader} answered ${got}`)
    if (handToo) await byHand(name, bundle)
  }

  it('names outside the portable set (NFC/NFD twins, bytes that are not UTF-8, quotes): UNSAFE_PATH everywhere', async () => {
    await refusedByAll('nfc-nfd twins', sealed([file('files/caf\u00e9'), file('files/cafe\u0301')]), 'UNSAFE_PATH')
    await refusedByAll('quote', sealed([file("files/it's")]), 'UNSAFE_PATH')
    // a name byte that is not UTF-8: node-tar reads U+FFFD (as SHA256SUMS lists it), GNU tar the raw byte
    const raw = Buffer.concat([Buffer.from(`${root}/files/`), Buffer.from([0xff])])
    const notUtf8: RawEntry = {...file('files/\ufffd'), edit: (b) => b.fill(0, 0, 100).set(raw, 0)}
    await refusedByAll('not utf-8', sealed([notUtf8]), 'UNSAFE_PATH')
    await refusedByAll('long name', sealed([file(`files/${'n'.repeat(256)}`)]), 'UNSAFE_PATH')
  })

  it('links, devices and FIFOs (signed, beside the files), and names that climb, anchor or hide: refused everywhere, VERIFY.txt included, nothing written outside', async () => {
    const before = (await readdir(dir())).sort()
    const types: Array<[string, RawEntry]> = [
      ['symbolic link', {path: `${root}/files/link`, type: 'SymbolicLink', linkpath: '/etc/passwd'}],
      ['hard link', {path: `${root}/files/hard`, type: 'Link', linkpath: `${root}/files/a.txt`}],
      ['hard link out', {path: `${root}/files/hard`, type: 'Link', linkpath: '/etc/shadow'}],
      ['character device', {path: `${root}/files/null`, type: 'CharacterDevice'}],
      ['block device', {path: `${root}/files/sda`, type: 'BlockDevice'}],
      ['FIFO', {path: `${root}/files/fifo`, type: 'FIFO'}],
    ]
    for (const [name, entry] of types) await refusedByAll(name, sealed([entry]), 'UNSAFE_ENTRY_TYPE')
    const names: Array<[string, string]> = [
      ['dot-dot', `${root}/files/../../escape`],
      ['dot-dot after a folder', `${root}/files/x/../../../escape`],
      ['leading ./', `./${root}/files/dot`],
      ['a . segment', `${root}/./files/dot`],
      ['double slash', `${root}//files/dd`],
      ['absolute', `/tmp/${root}/files/abs`],
      ['backslash', `${root}/files\\..\\..\\win`],
    ]
    // unlisted, after the signed files: the tar entry's own name is what must be refused
    const signed = reseal(entries, keys.privateKey, pub)
    for (const [name, path] of names) await refusedByAll(name, rawTar([...signed, {path, body: Buffer.from('x')}]), 'UNSAFE_PATH', name !== 'backslash')
    // a NUL in a pax path (the ustar name cannot hold one): node-tar would cut the name there
    const nul: RawEntry = {...file('files/nul'), before: paxHeader(paxRecord('path', `${root}/files/nul\0/../../x`))}
    await refusedByAll('NUL in a pax path', sealed([nul]), 'NOT_A_BUNDLE', false)
    // extraction (and VERIFY.txt) wrote nothing beside the bundles and VERIFY.txt's own site folders
    const added = (await readdir(dir())).filter((n) => !before.includes(n))
    assert.deepEqual(added.filter((n) => !n.endsWith('.tar') && !n.startsWith('site-')), [])
  })

  it('names one case-insensitive disk holds once, a file that is also a folder, a folder entry twice: ENTRY_DUPLICATE everywhere', async () => {
    await refusedByAll('case twins', sealed([file('files/Q.txt'), file('files/q.txt')]), 'ENTRY_DUPLICATE')
    await refusedByAll('head in another case', sealed([file('sha256sums')]), 'ENTRY_DUPLICATE')
    // extract used to end in INTERNAL EEXIST / ENOTDIR here
    await refusedByAll('x and x/y', sealed([file('files/q'), file('files/q/y')]), 'ENTRY_DUPLICATE')
    await refusedByAll('folder named as a file', sealed([{path: `${root}/files/a.txt/`, type: 'Directory'}]), 'ENTRY_DUPLICATE')
    // a folder no listed file is in, empty or holding a folder in turn: signed by nothing, refused by VERIFY.txt too
    for (const path of ['nowhere/', 'files/empty/', 'deep/er/']) {
      const data = rawTar([...reseal(entries, keys.privateKey, pub), {path: `${root}/${path}`, type: 'Directory'}])
      await refusedByAll(`unlisted folder ${path}`, data, 'ENTRY_UNLISTED', false)
      await byHand(`unlisted folder ${path}`, data, /NOT VERIFIED: folders that hold no file SHA256SUMS lists/)
    }
    await refusedByAll('folder twice', sealed([{path: `${root}/files/`, type: 'Directory'}, {path: `${root}/files/`, type: 'Directory'}]), 'ENTRY_DUPLICATE')
  })

  it('set-user-ID, set-group-ID and sticky modes, contiguous files and volume headers: UNSAFE_ENTRY_TYPE everywhere', async () => {
    for (const mode of [0o4755, 0o2755, 0o1644]) await refusedByAll(`mode ${mode.toString(8)}`, sealed([], (l) => ((l[4] as RawEntry).mode = mode)), 'UNSAFE_ENTRY_TYPE')
    // busybox tar lists a contiguous file as a plain one; the readers and VERIFY.txt under GNU tar refuse it
    await refusedByAll('contiguous', sealed([{...file('files/c'), type: 'ContiguousFile'}]), 'UNSAFE_ENTRY_TYPE', false)
    await refusedByAll('volume header', sealed([{path: `${root}/vol`, type: 'TapeVolumeHeader'}]), 'UNSAFE_ENTRY_TYPE', false)
  })

  it('a regular file whose name ends in "/" and a global pax size: refused everywhere', async () => {
    await refusedByAll('file with a trailing slash', sealed([{...file('files/z.txt'), path: `${root}/files/z.txt/`}]), 'NOT_A_BUNDLE')
    const globalSize = sealed([], (l) => {
      const last = l.at(-1) as RawEntry
      last.before = paxHeader(paxRecord('size', String((last.body as Buffer).length)), 'GlobalExtendedHeader')
    })
    await refusedByAll('global pax size', globalSize, 'NOT_A_BUNDLE', false)
  })

  it('manifest.json with null or empty items, missing fields, or an inventory SHA256SUMS does not hold: MANIFEST_INVALID from every reader, never a TypeError', async () => {
    const withManifest = (edit: (m: Record<string, any>) => void): Buffer => // eslint-disable-line @typescript-eslint/no-explicit-any
      sealed([], (l) => {
        const m = JSON.parse(((l[3] as RawEntry).body as Buffer).toString('utf8'))
        edit(m)
        ;(l[3] as RawEntry).body = Buffer.from(JSON.stringify(m))
      })
    const cases: Record<string, (m: Record<string, any>) => void> = { // eslint-disable-line @typescript-eslint/no-explicit-any
      'files null': (m) => m.files.push(null),
      'files {}': (m) => m.files.push({}),
      'images null': (m) => m.images.push(null),
      'images {}': (m) => m.images.push({}),
      'no created': (m) => delete m.created,
      'no tool': (m) => delete m.tool,
      'extensions.images [null]': (m) => (m.extensions = {images: [null]}),
      'an unsigned file marked executable': (m) => m.files.push({path: 'files/evil', size: 1, sha256: 'a'.repeat(64), role: 'executable'}),
      'another digest': (m) => (m.files[2].sha256 = 'b'.repeat(64)),
      'another size': (m) => (m.files[2].size += 1),
      'a signed file left out': (m) => m.files.pop(),
    }
    for (const [name, edit] of Object.entries(cases)) {
      // VERIFY.txt checks the signature and the files, not manifest.json's meaning (docs/verify.md)
      await refusedByAll(`manifest ${name}`, withManifest(edit), 'MANIFEST_INVALID', false)
    }
    const path = join(dir(), 'manifest-cli.tar')
    await writeFile(path, withManifest((m) => m.files.push(null)))
    for (const args of [['bundle', 'inspect', path], ['images', 'list', path], ['bundle', 'verify', path, '--trust', keys.pub]]) {
      const r = await runCli([...args, '--json'])
      assert.equal(r.code, 3, `${args.join(' ')}: ${r.stdout}${r.stderr}`)
      assert.equal(r.json.error.code, 'MANIFEST_INVALID')
      assert.match(r.json.error.message, /files\[4\] is not an object/)
    }
  })

  it('an image blob listed under another digest than its name, in SHA256SUMS or in base.omitted: MANIFEST_INVALID everywhere, and VERIFY.txt refuses it too', async () => {
    const body = Buffer.from('{"not":"the blob its name says"}')
    const named = createHash('sha256').update('something else').digest('hex')
    // SHA256SUMS lists it with its true digest, so sha256sum -c alone would pass it
    const misnamed = (change?: (m: Record<string, any>) => void) => // eslint-disable-line @typescript-eslint/no-explicit-any
      sealed([file(`images/blobs/sha256/${named}`, body.toString())], (l) => {
        const m = JSON.parse(((l[3] as RawEntry).body as Buffer).toString('utf8'))
        m.files.push({path: `images/blobs/sha256/${named}`, size: body.length, sha256: createHash('sha256').update(body).digest('hex'), role: 'image-blob'})
        change?.(m)
        ;(l[3] as RawEntry).body = Buffer.from(JSON.stringify(m))
      })
    await refusedByAll('misnamed blob', misnamed(), 'MANIFEST_INVALID', false)
    await byHand('misnamed blob', misnamed(), /NOT VERIFIED: SHA256SUMS lists an image blob under another digest than its name/)
    const omitted = sealed([], (l) => {
      const m = JSON.parse(((l[3] as RawEntry).body as Buffer).toString('utf8'))
      m.base = {name: 't', version: '0.9.0', sha256: 'c'.repeat(64), verified: false, omitted: [{path: `images/blobs/sha256/${named}`, size: 1, sha256: 'd'.repeat(64), role: 'image-blob'}]}
      ;(l[3] as RawEntry).body = Buffer.from(JSON.stringify(m))
    })
    await refusedByAll('misnamed omitted blob', omitted, 'MANIFEST_INVALID', false)
    const unsafe = sealed([], (l) => {
      const m = JSON.parse(((l[3] as RawEntry).body as Buffer).toString('utf8'))
      m.base = {name: 't', version: '0.9.0', sha256: 'c'.repeat(64), verified: false, omitted: [{path: '../../etc/x', size: 1, sha256: 'd'.repeat(64), role: 'file'}]}
      ;(l[3] as RawEntry).body = Buffer.from(JSON.stringify(m))
    })
    await refusedByAll('unsafe omitted name', unsafe, 'UNSAFE_PATH', false)
  })

  it('a folder the bundle makes read-only, under a name with spaces, quotes and a leading dash: VERIFY.txt refuses it and, as a user root privileges do not cover, still leaves nothing behind', async () => {
    // in /tmp itself (the suite's own TMPDIR is private to it), so that an unprivileged user can run the
    // script when the suite runs as root; removed in `finally`
    const base = await mkdtemp(join('/tmp', 'airlock-test-rodir-'))
    try {
      await chmod(base, 0o777)
      const cwd = join(base, "odd 'site")
      const tmp = join(base, 'tmp')
      await mkdir(cwd)
      await mkdir(tmp)
      await chmod(cwd, 0o777)
      await chmod(tmp, 0o777)
      // ro/unlisted is left out of SHA256SUMS: verification fails after extraction, with the read-only folder on disk
      const list: RawEntry[] = entries.map((e) => ({...e}))
      const head = reseal([...list, file('ro/f')], keys.privateKey, pub)
      const hostile = rawTar([...head, {path: `${root}/ro/`, type: 'Directory', mode: 0o555}, file('ro/unlisted')])
      const name = "-odd 'name.tar"
      for (const [f, data] of [[name, hostile], ['VERIFY.txt', Buffer.from(script)], ['trust.pub', Buffer.from(pub)]] as const) {
        await writeFile(join(cwd, f), data)
        await chmod(join(cwd, f), 0o644)
      }
      const q = (v: string) => `'${v.replaceAll("'", "'\\''")}'`
      const unprivileged = process.getuid?.() === 0 && spawnSync('id', ['nobody']).status === 0
      for (const [label, shell, tar] of SHELLS) {
        const PATH = tar === 'busybox' ? `${busyboxBin}:${process.env.PATH}` : (process.env.PATH as string)
        const command = `cd ${q(cwd)} && PATH=${q(PATH)} TMPDIR=${q(tmp)} BUNDLE=${q(name)} TRUST=trust.pub ${shell.join(' ')} VERIFY.txt`
        const r = unprivileged ? spawnSync('su', ['nobody', '-s', '/bin/sh', '-c', command], {encoding: 'utf8'}) : spawnSync('/bin/sh', ['-c', command], {encoding: 'utf8'})
        assert.notEqual(r.status, 0, `${label}: ${r.stdout}`)
        assert.match(r.stderr, /NOT VERIFIED: the files in the bundle are not exactly those SHA256SUMS lists/, `${label}: ${r.stderr}`)
        assert.deepEqual(await readdir(tmp), [], `${label} left its folder behind`)
        assert.deepEqual((await readdir(cwd)).sort(), [name, 'VERIFY.txt', 'trust.pub'].sort(), `${label} wrote beside the bundle`)
      }
    } finally {
      await rm(base, {recursive: true, force: true})
    }
  })

  it('a FIFO given as a part, as a parts index or (to push) as the bundle: refused at once by name (exit 2), never waiting for a writer', async () => {
    const fifoDir = join(dir(), 'fifo')
    await mkdir(fifoDir)
    const good = await buildTestBundle(fifoDir, keys, {'a.txt': 'alpha\n'}, 'demo.tar')
    const split = await runCli(['bundle', 'split', good, '--size', '4K', '--json'])
    assert.equal(split.code, 0, split.stderr)
    const index = `${good}.split.json`
    const asFifo = (path: string) => execFileSync('sh', ['-c', 'rm -f "$1" && mkfifo "$1"', 'sh', path])
    const part1 = `${good}.part001`
    await rm(part1)
    asFifo(part1)
    const started = Date.now()
    for (const args of [['bundle', 'verify', index, '--trust', keys.pub], ['bundle', 'inspect', index], ['images', 'push', index, '--registry', '127.0.0.1:1', '--no-verify']]) {
      const r = await runCli([...args, '--json'])
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`)
      assert.equal(r.json.error.subject, part1)
      assert.match(r.json.error.message, /FIFO/)
    }
    asFifo(index)
    const r = await runCli(['bundle', 'verify', index, '--trust', keys.pub, '--json'])
    assert.equal(r.code, 2)
    assert.match(r.json.error.message, /FIFO/)
    const lone = join(fifoDir, 'lone.tar')
    asFifo(lone)
    const push = await runCli(['images', 'push', lone, '--registry', '127.0.0.1:1', '--no-verify', '--json'])
    assert.equal(push.code, 2, push.stdout + push.stderr)
    assert.match(push.json.error.message, /FIFO/)
    assert.ok(Date.now() - started < 60_000)
  })

  it('bundle build refuses to write names every reader would refuse (case twins, x and x/y): exit 2 naming them', async () => {
    const specDir = join(dir(), 'twins')
    await mkdir(specDir)
    const spec = join(specDir, 'spec.yaml')
    await mkdir(join(specDir, 'src'))
    for (const name of ['a', 'b', 'c', 'd']) await writeFile(join(specDir, 'src', name), name)
    for (const [pair, subject] of [[['a', 'b'], 'docs/readme'], [['c', 'd'], 'x/y']] as const) {
      const asOf: Record<string, string> = {a: 'docs/README', b: 'docs/readme', c: 'x', d: 'x/y'}
      const files = pair.map((n) => `    - {source: ./src/${n}, as: ${asOf[n]}}`).join('\n')
      await writeFile(spec, `apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: t, version: 1.0.0}\nspec:\n  files:\n${files}\n`)
      const out = join(specDir, `${pair.join('')}.tar`)
      const r = await runCli(['bundle', 'build', spec, '--key', keys.key, '--out', out, '--json'])
      assert.equal(r.code, 2, r.stdout + r.stderr)
      assert.equal(r.json.error.code, 'SPEC_INVALID')
      assert.match(r.json.error.subject, new RegExp(subject))
      assert.deepEqual((await readdir(specDir)).filter((f) => f.endsWith('.tar') || f.includes('partial')), [])
    }
  })
})
