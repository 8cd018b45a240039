import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {verifyBundle} from '../../src/bundle/verify.js'
import type {Trust} from '../../src/signing/trust.js'
import type {AirlockError} from '../../src/ui/errors.js'
import type {CraftEntry, TestKeys} from '../support/bundles.js'
import {runCli} from '../support/cli.js'
import {allReaders} from './readers.js'
import {gnuLongRecord, paxHeader, paxRecord, rawTar, signedFixture, tempDirHook, type RawEntry} from './tar-craft.js'

/** What GNU tar and busybox tar list for a file: the evidence that a header is read two ways. */
function listings(file: string): {gnu: string; busybox: string} {
  const run = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, {encoding: 'utf8'})
    return `[${r.status}] ${r.stdout}${r.stderr}`
  }
  return {gnu: run('tar', ['-tvf', file]), busybox: run('busybox', ['tar', '-tvf', file])}
}

/*
 * Header-level ambiguities: one 512-byte header that node-tar, GNU tar and busybox tar read as
 * different names, sizes or modes. Each is built on a real signed bundle (names and bodies unchanged,
 * so the signature still holds and the header check is the one that must refuse), and every reader
 * (verify, extract, inspect, images list, the SBOM reader, the --no-verify walk of push and serve)
 * must refuse it with NOT_A_BUNDLE (exit 3) naming the header's offset or entry.
 */
describe('hostile headers: fields tars read differently are refused by every reader', function () {
  this.timeout(120_000)
  const dir = tempDirHook('hostile-headers')
  let keys: TestKeys
  let entries: CraftEntry[]
  let trust: Trust
  let root: string

  before(async () => {
    ;({keys, entries, trust, root} = await signedFixture(dir()))
  })

  /** The signed bundle with its last entry (files/b.bin) changed: records put before it, its header edited. */
  const withLast = (change: Partial<RawEntry>): Buffer => {
    const list: RawEntry[] = entries.map((e) => ({...e}))
    Object.assign(list.at(-1) as RawEntry, change)
    return rawTar(list)
  }
  const lastPath = () => entries.at(-1)!.path
  const lastSize = () => entries.at(-1)!.body!.length
  const octal = (n: number, width: number) => n.toString(8).padStart(width, '0')
  /** The checksum's digits followed by "x": bytes of that field count as spaces in the sum, so it stays right for node-tar */
  const checksumJunk = (): Buffer => {
    const data = withLast({})
    const at = data.indexOf(Buffer.from(`${lastPath()}\0`))
    const end = data.subarray(at + 148, at + 156).findIndex((b) => b < 0x30 || b > 0x37)
    assert.ok(end > 0)
    data[at + 148 + end] = 0x78
    return data
  }

  async function write(name: string, data: Buffer): Promise<string> {
    const file = join(dir(), `${name.replaceAll(/[^a-z0-9]+/gi, '-')}.tar`)
    await writeFile(file, data)
    return file
  }

  async function refusedByAll(name: string, data: Buffer, message: RegExp): Promise<string> {
    const file = await write(name, data)
    const codes = await allReaders(file, trust, dir())
    for (const [reader, code] of Object.entries(codes)) assert.equal(code, 'NOT_A_BUNDLE', `${name}: ${reader} answered ${code}`)
    await assert.rejects(verifyBundle(file, trust), (e: Error) => message.test(e.message), name)
    return file
  }

  it('magic and version: a name prefix GNU tar or busybox tar reads and node-tar does not, and a V7 header', async () => {
    const prefix = (magic: string) => withLast({edit: (b) => {
      b.write(magic, 257, 8, 'latin1')
      b.write('evil', 345, 'latin1')
    }})
    const cases: Array<[string, Buffer, RegExp, 'gnu' | 'busybox']> = [
      // POSIX magic with another version: GNU and busybox tar read evil/NAME, node-tar NAME
      ['ustar version xx', prefix('ustar\0xx'), /magic and version .* neither POSIX ustar nor GNU/, 'gnu'],
      // GNU magic: GNU tar and node-tar ignore the prefix, busybox tar reads evil/NAME
      ['gnu magic with a prefix', prefix('ustar  \0'), /GNU-format header with a name prefix/, 'busybox'],
    ]
    for (const [name, data, message, reader] of cases) {
      const file = await refusedByAll(name, data, message)
      assert.match(listings(file)[reader], new RegExp(`evil/${lastPath()}`), `${name}: the prefix is not read by ${reader} tar, the case proves nothing`)
    }
    await refusedByAll('v7 header', withLast({edit: (b) => b.fill(0, 257, 265)}), /neither POSIX ustar nor GNU/)
  })

  it('the ustar prefix field: a name split into prefix and name reads alike everywhere; a split that makes "//" or ".." is refused by every reader (UNSAFE_PATH)', async () => {
    const split = (prefix: string, name: string) => withLast({edit: (b) => {
      b.fill(0, 0, 100).fill(0, 345, 500)
      b.write(name, 0, 'latin1')
      b.write(prefix, 345, 'latin1')
    }})
    const base = lastPath().split('/').pop() as string
    const good = await write('prefix-split', split(`${root}/files`, base))
    for (const [reader, code] of Object.entries(await allReaders(good, trust, dir()))) assert.equal(code, 'ok', `prefix split: ${reader} answered ${code}`)
    for (const tool of Object.values(listings(good))) assert.match(tool, new RegExp(`^\\[0\\][^]*${lastPath()}`))
    for (const [name, prefix, file] of [['trailing slash', `${root}/files/`, base], ['dot-dot', `${root}/files/..`, `files/${base}`], ['dot-dot in the name', `${root}`, `../${root}/files/${base}`]]) {
      const path = await write(`prefix ${name}`, split(prefix as string, file as string))
      for (const [reader, code] of Object.entries(await allReaders(path, trust, dir()))) assert.equal(code, 'UNSAFE_PATH', `prefix ${name}: ${reader} answered ${code}`)
    }
  })

  it('number fields node-tar reads with parseInt and GNU or busybox tar refuse or read otherwise', async () => {
    const size = lastSize()
    const field = (off: number, text: string) => withLast({edit: (b) => b.write(text, off, text.length, 'latin1')})
    const cases: Array<[string, Buffer]> = [
      ['size with a trailing letter', field(124, `${octal(size, 10)}x\0`)],
      ['size with a plus sign', field(124, `+${octal(size, 10)}\0`)], // GNU tar: obsolete base-64
      ['size with a digit 8', field(124, `${octal(size, 10)}8\0`)],
      ['size with a leading NUL', field(124, `\0${octal(size, 10)}\0`)],
      ['mode with a trailing letter', field(100, '000644x\0')], // GNU tar lists it -rwsrwsrwt
      ['uid of spaces', field(108, '        ')],
      ['checksum with a trailing letter', checksumJunk()],
    ]
    // a checksum summed over signed bytes (old tars; differs once a byte is 0x80 or more, as in a
    // base-256 size): GNU tar takes it, node-tar only the unsigned sum; refused, never read one way
    const signed = withLast({edit: (b) => {
      b.fill(0, 124, 136)
      b[124] = 0x80
      b.writeUInt32BE(lastSize(), 132)
    }})
    {
      const at = signed.indexOf(Buffer.from(`${lastPath()}\0`))
      const header = signed.subarray(at, at + 512)
      header.fill(0x20, 148, 156)
      let sum = 0
      for (const byte of header) sum += byte > 127 ? byte - 256 : byte
      header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1')
    }
    cases.push(['signed checksum', signed])
    for (const [name, data] of cases) await refusedByAll(name, data, /field .* is not an octal number|corrupt tar header/)
    assert.match(listings(await write('signed-sum', signed)).gnu, /^\[0\]/, 'GNU tar takes a signed checksum')
    // the mode junk is not harmless: GNU tar reads it as set-user-ID, set-group-ID and sticky
    assert.match(listings(await write('mode-junk', cases[4]![1])).gnu, /-rwsrwsrwt/)
  })

  it('a size that runs past the end of the file, and a file cut inside a body: refused alike by every reader, whether it reads bodies or jumps over them', async () => {
    // the signed manifest gives the entry's size, so the header's larger one is named before any read runs short
    const past = await write('past-eof', withLast({edit: (b) => b.write(`${octal(lastSize() + (1 << 20), 11)}\0`, 124, 12, 'latin1')}))
    for (const [reader, code] of Object.entries(await allReaders(past, trust, dir()))) assert.equal(code, 'MANIFEST_INVALID', `past the end: ${reader} answered ${code}`)
    await assert.rejects(verifyBundle(past, trust), (e: AirlockError) => e.subject === lastPath() && /is \d+ bytes, manifest.json says/.test(e.message))
    const full = withLast({})
    const cut = await write('cut', full.subarray(0, full.indexOf(Buffer.from(`${lastPath()}\0`)) + 512 + 100))
    for (const [reader, code] of Object.entries(await allReaders(cut, trust, dir()))) assert.equal(code, 'TRUNCATED', `cut: ${reader} answered ${code}`)
    await assert.rejects(verifyBundle(cut, trust), (e: AirlockError) => e.subject === lastPath())
  })

  it('two names for one entry (pax path and GNU long name, two pax headers, two long names, a key twice): busybox and GNU tar pick different ones', async () => {
    const other = `${root}/files/other`
    const cases: Array<[string, Buffer, RegExp]> = [
      ['pax path then long name', Buffer.concat([paxHeader(paxRecord('path', lastPath())), gnuLongRecord(other)]), /both a pax path and a GNU long name/],
      ['long name then pax path', Buffer.concat([gnuLongRecord(other), paxHeader(paxRecord('path', lastPath()))]), /both a pax path and a GNU long name/],
      ['two pax headers', Buffer.concat([paxHeader(paxRecord('path', other)), paxHeader(paxRecord('path', lastPath()))]), /a second pax header/],
      ['two long names', Buffer.concat([gnuLongRecord(other), gnuLongRecord(lastPath())]), /a second GNU long name/],
      ['a pax key twice', paxHeader(paxRecord('path', other) + paxRecord('path', lastPath())), /key "path" is given twice/],
    ]
    cases.push(['global records without end', Buffer.concat(Array.from({length: 9}, () => paxHeader(paxRecord('comment', 'again'), 'GlobalExtendedHeader'))), /more than 8 pax or long-name records in a row/])
    for (const [name, before, message] of cases) await refusedByAll(name, withLast({before}), message)
    const file = await write('both-names', withLast({before: cases[0]![1]}))
    const seen = listings(file)
    assert.match(seen.gnu, new RegExp(lastPath()))
    assert.match(seen.busybox, new RegExp(other))
  })

  it('modes, link targets and attributes a tar restores that no signature covers: pax mode, xattrs, a link name on a file', async () => {
    const setuid = withLast({mode: 0o4755, before: paxHeader(paxRecord('mode', String(0o644)))})
    // node-tar would take the pax mode (0644) and pass it; GNU tar ignores pax mode and restores 4755
    await refusedByAll('pax mode over a set-user-ID ustar mode', setuid, /key "mode" is not one every tar reads the same way/)
    assert.match(listings(await write('pax-mode', setuid)).gnu, /-rwsr-xr-x/)
    for (const key of ['SCHILY.xattr.security.capability', 'LIBARCHIVE.xattr.security.selinux', 'SCHILY.acl.access', 'SCHILY.fflags']) {
      await refusedByAll(`pax ${key}`, withLast({before: paxHeader(paxRecord(key, 'AQAAAg'))}), /extended attribute, ACL or file flag/)
    }
    const link = /names a link target/
    await refusedByAll('long link name before a file', withLast({before: gnuLongRecord('/etc/passwd', 'NextFileHasLongLinkpath')}), link)
    await refusedByAll('pax linkpath on a file', withLast({before: paxHeader(paxRecord('linkpath', '/etc/passwd'))}), link)
    const ustarLink = await refusedByAll('ustar link name on a file', withLast({edit: (b) => b.write('/etc/passwd', 157, 'latin1')}), link)
    assert.match(listings(ustarLink).busybox, /-> \/etc\/passwd/)
    // a regular-file header named x/ without a body: a folder to GNU tar and node-tar, a file to busybox tar
    for (const type of ['File', 'OldFile']) {
      const list: RawEntry[] = entries.map((e) => ({...e}))
      list.push({path: `${root}/files/`, type, body: Buffer.alloc(0)})
      await refusedByAll(`${type} named with a slash`, rawTar(list), /regular-file header whose name ends in "\/"/)
    }
  })

  it('headers every tar reads alike are still accepted: GNU magic without a prefix, base-256 size, blank mtime, one pax header, one long name', async () => {
    const size = lastSize()
    const cases: Record<string, Buffer> = {
      'gnu magic': withLast({edit: (b) => b.write('ustar  \0', 257, 8, 'latin1')}),
      'base-256 size': withLast({edit: (b) => {
        b.fill(0, 124, 136)
        b[124] = 0x80
        b.writeUInt32BE(size, 132)
      }}),
      'blank mtime and uid': withLast({edit: (b) => b.fill(0, 108, 116).fill(0, 136, 148)}),
      'one pax header': withLast({before: paxHeader(paxRecord('path', lastPath()) + paxRecord('size', String(size)) + paxRecord('uid', '0'))}),
      'one long name': withLast({before: gnuLongRecord(lastPath())}),
    }
    for (const [name, data] of Object.entries(cases)) {
      const file = await write(name, data)
      const codes = await allReaders(file, trust, dir())
      for (const [reader, code] of Object.entries(codes)) assert.equal(code, 'ok', `${name}: ${reader} answered ${code}`)
      const seen = listings(file)
      assert.match(seen.gnu, /^\[0\]/, `${name}: GNU tar ${seen.gnu}`)
      assert.match(seen.busybox, /^\[0\]/, `${name}: busybox tar ${seen.busybox}`)
    }
  })

  it('the CLI: bundle verify, inspect and images push --no-verify exit 3 naming the header', async () => {
    const file = await write('cli-mode', withLast({edit: (b) => b.write('000644x\0', 100, 8, 'latin1')}))
    for (const args of [['bundle', 'verify', file, '--trust', keys.pub], ['bundle', 'inspect', file], ['images', 'push', file, '--registry', '127.0.0.1:1', '--no-verify']]) {
      const r = await runCli([...args, '--json'])
      assert.equal(r.code, 3, `${args.join(' ')}: ${r.stdout}${r.stderr}`)
      assert.equal(r.json.error.code, 'NOT_A_BUNDLE')
      assert.match(r.json.error.message, /mode field "000644x" is not an octal number/)
      assert.equal(r.json.error.subject, lastPath())
    }
  })
})
