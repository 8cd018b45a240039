import assert from 'node:assert/strict'
import {readFile, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {verifyBundle, walkBundleUnverified, type EntrySink} from '../../src/bundle/verify.js'
import {extractBundle} from '../../src/bundle/extract.js'
import {inspectBundle} from '../../src/bundle/inspect.js'
import {listBundleImages} from '../../src/images/list.js'
import {parseTrust, type Trust} from '../../src/signing/trust.js'
import {openRandomAccess} from '../../src/transport/random-access.js'
import {AirlockError, ERROR_CODES} from '../../src/ui/errors.js'
import {buildTestBundle, makeKeys, readTarEntries, reseal, type CraftEntry, type TestKeys} from '../support/bundles.js'
import {paxHeader, paxRecord, rawTar, tempDirHook, type RawEntry} from './tar-craft.js'

/*
 * A bounded, seeded fuzz of a real signed bundle: header fields, pax records, entry types and names
 * are mutated, the result re-signed (so only structure is hostile), then cut short or extended. Every
 * reader must answer with a documented code (exit 3), never a stray exception or a hang, and verify
 * and the --no-verify walk must agree on what they accept and on the bytes they accept.
 * FUZZ_SEED and FUZZ_CASES reproduce or widen a run; a failure names its seed and case.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_206)
const CASES = Number(process.env.FUZZ_CASES ?? 160)
/** refusals of a hashing and trusting reader; the --no-verify walk may accept such a bundle, or refuse it later on */
const HASH_CODES = new Set(['DIGEST_MISMATCH', 'SIGNATURE_INVALID', 'SIGNER_UNTRUSTED', 'CERT_INVALID', 'KEY_INVALID'])

function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

interface Rng {
  int(n: number): number
  pick<T>(list: readonly T[]): T
  bytes(n: number): Buffer
}

function rng(seed: number): Rng {
  const next = prng(seed)
  const r: Rng = {
    int: (n) => Math.floor(next() * n),
    pick: (list) => list[r.int(list.length)] as (typeof list)[number],
    bytes: (n) => Buffer.from(Array.from({length: n}, () => r.int(256))),
  }
  return r
}

/** ustar fields an attacker controls: [offset, length] */
const FIELDS: Record<string, [number, number]> = {name: [0, 100], mode: [100, 8], uid: [108, 8], gid: [116, 8], size: [124, 12], mtime: [136, 12], typeflag: [156, 1], linkname: [157, 100], magic: [257, 6], version: [263, 2], prefix: [345, 155]}

function numberField(r: Rng, len: number): Buffer {
  const out = Buffer.alloc(len)
  switch (r.int(6)) {
    case 0: // octal, maybe huge, maybe without a terminator
      out.write(Math.floor(r.int(2 ** 30) * (r.int(2) ? 1 : 2 ** r.int(24))).toString(8).padStart(len - 1, '0').slice(-len), 0, 'ascii')
      return out
    case 1: // base-256, positive or negative, up to far above 2^53
      out[0] = r.pick([0x80, 0xff])
      r.bytes(len - 1).copy(out, 1)
      return out
    case 2:
      return Buffer.from(' '.repeat(len))
    case 3:
      return r.bytes(len)
    case 4: // a small exact value
      out.write(`${r.int(4096).toString(8).padStart(len - 1, '0')}\0`, 0, 'ascii')
      return out
    default:
      return out // all NUL
  }
}

function textField(r: Rng, len: number, root: string): Buffer {
  const names = [`${root}/files/a.txt`, `${root}/../x`, `/etc/x`, `${root}//a`, `${root}/./a`, `${root}/files/A.TXT`, `${root}/files/a.txt/`, `other/x`, `${root}/files/\u00e9`, `${root}/files/x\ny`, '', `${root}/SHA256SUMS`]
  const out = Buffer.alloc(len)
  if (r.int(4) === 0) r.bytes(len).copy(out)
  else out.write(r.pick(names), 0, 'utf8')
  return out
}

const TYPES = ['0', '\0', '1', '2', '3', '4', '5', '6', '7', 'g', 'x', 'K', 'L', 'S', 'V', 'M', 'D', 'N', 'Z']
const PAX_KEYS = ['size', 'path', 'linkpath', 'mtime', 'uid', 'gid', 'mode', 'GNU.sparse.size', 'GNU.sparse.map', 'type', 'SCHILY.xattr.user.x', 'comment', 'hdrcharset', 'charset']

function paxValue(r: Rng, key: string, e: CraftEntry, root: string): string {
  const size = (e.body ?? Buffer.alloc(0)).length
  switch (key) {
    case 'size':
      return r.pick([String(size), String(size + 1), String(Math.max(0, size - 1)), '0', String(size + 1024), '99999999999999999999', '-1', '1e3', ''])
    case 'path':
    case 'linkpath':
      return r.pick([e.path, `${root}/files/hidden`, `${root}/../up`, '/abs', `${e.path}\0tail`, `${root}/files/a.txt`, 'x'.repeat(300)])
    case 'mtime':
      return r.pick(['1700000000', '-1', '1.5', '1e400', 'x', '99999999999999999'])
    default:
      return r.pick(['0', '1', '-5', String(2 ** 60), 'value', ''])
  }
}

/** One mutation of the entry list, described for the failure message. */
function mutate(r: Rng, list: RawEntry[], root: string): string {
  const i = r.int(list.length)
  const e = list[i] as RawEntry
  switch (r.int(6)) {
    case 0: {
      const field = r.pick(Object.keys(FIELDS))
      const [off, len] = FIELDS[field] as [number, number]
      const value = field === 'typeflag' ? Buffer.from(r.pick(TYPES), 'latin1') : ['name', 'linkname', 'prefix', 'magic', 'version'].includes(field) ? textField(r, len, root) : numberField(r, len)
      const badSum = r.int(8) === 0
      e.edit = (b) => {
        value.copy(b, off, 0, len)
        if (badSum) b[148] = 0x37 // fixChecksum runs after edit; a later byte makes it wrong again
      }
      return `entry ${i} ${field}=${JSON.stringify(value.toString('latin1'))}${badSum ? ' (checksum left wrong)' : ''}`
    }
    case 1:
    case 2: {
      const records = Array.from({length: 1 + r.int(3)}, () => {
        const key = r.pick(PAX_KEYS)
        return paxRecord(key, paxValue(r, key, e, root))
      }).join('')
      const text = r.int(6) === 0 ? records.replace(/^\d+/, String(r.int(300))) : records
      const global = r.int(5) === 0
      e.before = Buffer.concat([e.before ?? Buffer.alloc(0), paxHeader(text, global ? 'GlobalExtendedHeader' : 'ExtendedHeader')])
      return `entry ${i} ${global ? 'global ' : ''}pax ${JSON.stringify(text)}`
    }
    case 3: {
      const type = r.pick(['SymbolicLink', 'Link', 'Directory', 'FIFO', 'CharacterDevice', 'ContiguousFile', 'OldFile'])
      list.splice(i, 0, {path: `${root}/files/${r.pick(['n', 'a.txt', 'A.txt', 'dir/'])}`, type, linkpath: r.pick(['/etc/passwd', `${root}/files/a.txt`, '../x'])})
      return `inserted ${type} before entry ${i}`
    }
    case 4: {
      const copy = {...(list[r.int(list.length)] as RawEntry)}
      list.splice(r.int(list.length + 1), 0, {...copy, path: r.int(2) ? copy.path : copy.path.toUpperCase(), body: r.int(2) ? copy.body : Buffer.from('other')})
      return `duplicated ${copy.path}`
    }
    default: {
      e.mode = r.pick([0o4755, 0o2755, 0o1777, 0o7777, 0, 0o777])
      return `entry ${i} mode ${e.mode.toString(8)}`
    }
  }
}

type Verdict = {ok: true; seen: string[]} | {ok: false; code: string}

async function walkVerdict(run: (sink: EntrySink) => Promise<unknown>, label: string): Promise<Verdict> {
  const seen: string[] = []
  const sink: EntrySink = {
    async open(rel, entry) {
      seen.push(`${rel}@${entry.dataOffset}+${entry.size}`)
      return undefined
    },
  }
  try {
    await run(sink)
    return {ok: true, seen}
  } catch (error) {
    return {ok: false, code: documented(error, label)}
  }
}

function documented(error: unknown, label: string): string {
  assert.ok(error instanceof AirlockError, `${label}: not a documented error: ${(error as Error)?.stack ?? String(error)}`)
  assert.ok(error.code in ERROR_CODES, `${label}: undocumented code ${error.code}`)
  assert.equal(error.exitCode, 3, `${label}: ${error.code} exits ${error.exitCode}, a damaged bundle exits 3: ${error.message}`)
  return error.code
}

async function noVerifyWalk(file: string, sink?: EntrySink): Promise<void> {
  const ra = await openRandomAccess(file)
  try {
    await walkBundleUnverified(ra, file, sink)
  } finally {
    await ra.close()
  }
}

async function others(file: string, trust: Trust, scratch: string, label: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  const to = join(scratch, 'x')
  const readers: Record<string, () => Promise<unknown>> = {
    inspect: () => inspectBundle(file),
    list: () => listBundleImages(file),
    extract: () => extractBundle(file, trust, to),
  }
  for (const [name, run] of Object.entries(readers)) {
    try {
      await run()
      out[name] = 'ok'
    } catch (error) {
      out[name] = documented(error, `${label} ${name}`)
    }
  }
  await rm(to, {recursive: true, force: true})
  return out
}

describe('fuzz: mutated, re-signed bundles get a documented answer from every reader, and verify and --no-verify agree', function () {
  this.timeout(300_000)
  const dir = tempDirHook('fuzz')
  let keys: TestKeys
  let entries: CraftEntry[]
  let pub: string
  let trust: Trust

  before(async () => {
    keys = await makeKeys(dir())
    entries = await readTarEntries(await buildTestBundle(dir(), keys))
    pub = await readFile(keys.pub, 'utf8')
    trust = parseTrust(pub, 'trust.pem')
  })

  it(`${CASES} cases from seed ${SEED}`, async () => {
    const root = (entries[0] as CraftEntry).path.split('/')[0] as string
    const r = rng(SEED)
    const file = join(dir(), 'fuzzed.tar')
    const tally: Record<string, number> = {}
    for (let n = 0; n < CASES; n++) {
      const list: RawEntry[] = entries.map((e) => ({...e}))
      const steps = Array.from({length: 1 + r.int(2)}, () => mutate(r, list, root))
      // re-signed over the bodies as written, so the signature holds and only the structure is hostile
      const sealed = reseal(list.filter((e, i) => i < 3 || !e.type || e.type === 'File'), keys.privateKey, pub)
      const head = sealed.slice(0, 3).map((h, i) => ({...list[i], path: h.path, body: h.body}))
      let data = rawTar([...head, ...list.slice(3)])
      if (r.int(4) === 0) {
        const cut = r.pick([r.int(data.length), Math.floor(r.int(data.length) / 512) * 512, data.length - 1024, data.length - 512])
        data = data.subarray(0, Math.max(0, cut))
        steps.push(`cut at ${cut}`)
      } else if (r.int(6) === 0) {
        const tail = r.int(2) ? Buffer.alloc(512 * (1 + r.int(4))) : rawTar([{path: `${root}/files/late`, body: Buffer.from('late')}])
        data = Buffer.concat([data, tail])
        steps.push(`appended ${tail.length} bytes`)
      }
      await writeFile(file, data)
      const label = `seed ${SEED} case ${n}: ${steps.join('; ')}`
      const verify = await walkVerdict((sink) => verifyBundle(file, trust, sink), `${label} verify`)
      const noVerify = await walkVerdict((sink) => noVerifyWalk(file, sink), `${label} --no-verify`)
      if (verify.ok) {
        assert.ok(noVerify.ok, `${label}: verify accepts, --no-verify refuses ${JSON.stringify(noVerify)}`)
        assert.deepEqual(noVerify.seen, verify.seen, `${label}: the walks read different bytes`)
      } else if (!HASH_CODES.has(verify.code)) {
        assert.deepEqual(noVerify, verify, `${label}: verify refuses with ${verify.code}, --no-verify answers ${JSON.stringify(noVerify)}`)
      }
      const rest = await others(file, trust, dir(), label)
      // extract is verify writing to disk; inspect and images list are the --no-verify walk
      assert.equal(rest.extract, verify.ok ? 'ok' : verify.code, `${label}: extract`)
      for (const reader of ['inspect', 'list'] as const) assert.equal(rest[reader], noVerify.ok ? 'ok' : noVerify.code, `${label}: ${reader}`)
      const key = verify.ok ? 'ok' : verify.code
      tally[key] = (tally[key] ?? 0) + 1
    }
    // the mutations reach deep enough: some bundles still verify, and many different refusals are met
    assert.ok((tally.ok ?? 0) > 0, JSON.stringify(tally))
    assert.ok(Object.keys(tally).length >= 5, JSON.stringify(tally))
  })
})
