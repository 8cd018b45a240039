import assert from 'node:assert/strict'
import {copyFile, mkdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {gzipSync} from 'node:zlib'

import {PutObjectCommand, S3Client} from '@aws-sdk/client-s3'

import {MAX_TRAILER_BYTES} from '../../src/bundle/tar-reader.js'
import {verifyBundle, walkBundleUnverified} from '../../src/bundle/verify.js'
import type {Trust} from '../../src/signing/trust.js'
import {splitBundle} from '../../src/transport/parts.js'
import {configureS3Reads, s3ReadSettings} from '../../src/transport/s3-input.js'
import type {AirlockError} from '../../src/ui/errors.js'
import {reseal, type CraftEntry, type TestKeys} from '../support/bundles.js'
import {runCli} from '../support/cli.js'
import {startS3, type TestS3} from '../support/s3.js'
import {allReaders} from './readers.js'
import {rawTar, sha256, signedFixture, tempDirHook, type RawEntry} from './tar-craft.js'

/*
 * The same hostile bytes, delivered the other ways a bundle arrives: gzip (several members, junk
 * after the stream), split into parts (swapped, duplicated, an index that lies about the whole), and
 * an S3 object read in place. Whatever the source, every reader must give the answer it gives for the
 * plain file: only the byte source differs, never which bytes are read or which checks run.
 */
describe('hostile sources: gzip, parts and S3 deliver the same verdicts as the plain file', function () {
  this.timeout(180_000)
  const dir = tempDirHook('hostile-sources')
  let keys: TestKeys
  let good: Buffer
  let entries: CraftEntry[]
  let pub: string
  let trust: Trust
  let root: string

  before(async () => {
    // a body that spans several 4 KiB parts, so that parts can be swapped inside it
    const fx = await signedFixture(dir(), {'a.txt': 'alpha\n', 'b.bin': Buffer.alloc(9000, 7)})
    ;({keys, entries, pub, trust, root} = fx)
    good = await readFile(fx.file)
  })

  /** hostile plain bundles every source below delivers */
  const hostile = (): Record<string, Buffer> => {
    const last = (change: Partial<RawEntry>) => {
      const list: RawEntry[] = entries.map((e) => ({...e}))
      Object.assign(list.at(-1) as RawEntry, change)
      return rawTar(list)
    }
    return {
      'mode with junk': last({edit: (b) => b.write('000644x\0', 100, 8, 'latin1')}),
      'unlisted folder': rawTar([...reseal(entries, keys.privateKey, pub), {path: `${root}/nowhere/`, type: 'Directory'}]),
      'data after the end': Buffer.concat([good, Buffer.alloc(1024), Buffer.from('appended')]),
      'changed body': (() => {
        const copy = Buffer.from(good)
        copy[copy.indexOf(Buffer.from('alpha\n'))] = 0x41
        return copy
      })(),
    }
  }

  async function write(name: string, data: Buffer): Promise<string> {
    const file = join(dir(), name.replaceAll(/[^a-z0-9.]+/gi, '-'))
    await writeFile(file, data)
    return file
  }

  it('gzip: several members read as one; junk after the stream, a cut stream, or a member hiding more tar are refused by every reader', async () => {
    const half = Math.floor(good.length / 2)
    const cases: Array<[string, Buffer, string]> = [
      ['one member', gzipSync(good), 'ok'],
      ['two members', Buffer.concat([gzipSync(good.subarray(0, half)), gzipSync(good.subarray(half))]), 'ok'],
      ['a member of zeros after', Buffer.concat([gzipSync(good), gzipSync(Buffer.alloc(4096))]), 'ok'],
      ['junk after the stream', Buffer.concat([gzipSync(good), Buffer.from('not gzip at all')]), 'TRUNCATED'],
      ['cut short', gzipSync(good).subarray(0, -10), 'TRUNCATED'],
      ['a member with more tar', Buffer.concat([gzipSync(good), gzipSync(rawTar([{path: `${root}/files/late`, body: Buffer.from('late')}]))]), 'NOT_A_BUNDLE'],
    ]
    for (const [name, data, code] of cases) {
      const file = await write(`${name}.tar.gz`, data)
      const codes = await allReaders(file, trust, dir())
      // push and serve --no-verify read blobs by offset, which a gzip bundle has not (exit 2, with a hint)
      assert.equal(codes.noVerify, 'INPUT_INVALID', name)
      delete codes.noVerify
      for (const [reader, got] of Object.entries(codes)) assert.equal(got, code, `${name}: ${reader} answered ${got}`)
    }
    // the hostile plain bundles, gzipped: the answer of the plain file
    for (const [name, data] of Object.entries(hostile())) {
      const plain = await allReaders(await write(`${name}.tar`, data), trust, dir())
      const gz = await allReaders(await write(`${name}.tar.gz`, gzipSync(data)), trust, dir())
      delete plain.noVerify
      delete gz.noVerify
      assert.deepEqual(gz, plain, name)
    }
  })

  it('zeros after the end of the archive: padding to a record is fine, a stream of them without end (stdin) or a gzip bomb of them is refused, not read for ever', async () => {
    const padded = await allReaders(await write('padded.tar.gz', gzipSync(Buffer.concat([good, Buffer.alloc(MAX_TRAILER_BYTES / 2)]))), trust, dir())
    delete padded.noVerify
    for (const [reader, code] of Object.entries(padded)) assert.equal(code, 'ok', `padded: ${reader} answered ${code}`)
    // `cat bundle /dev/zero | airlock ... -`: the walk must end on its own
    async function* endless(): AsyncGenerator<Buffer> {
      yield good
      const zeros = Buffer.alloc(1 << 20)
      for (;;) yield zeros
    }
    await assert.rejects(walkBundleUnverified(endless(), '-'), (e: AirlockError) => e.code === 'NOT_A_BUNDLE' && /MiB of zeros after the end of the archive/.test(e.message))
    // a 32 KB gzip that inflates to 32 MiB of zeros, on stdin
    const bomb = gzipSync(Buffer.concat([good, Buffer.alloc(MAX_TRAILER_BYTES * 2)]))
    assert.ok(bomb.length < 1 << 20)
    for (const args of [['bundle', 'verify', '-', '--trust', keys.pub], ['bundle', 'inspect', '-']]) {
      const r = await runCli([...args, '--json'], {input: bomb})
      assert.equal(r.code, 3, r.stdout + r.stderr)
      assert.equal(r.json.error.code, 'NOT_A_BUNDLE')
    }
  })

  it('parts: swapped or duplicated parts fail verify (exit 3); every other reader reads exactly the bytes the joined parts hold', async () => {
    const split = async (name: string) => {
      const sub = join(dir(), `split-${name}`)
      await mkdir(sub)
      const file = join(sub, 'demo.tar')
      await writeFile(file, good)
      const r = await splitBundle(file, 4096)
      assert.ok(r.parts.length >= 5)
      return r
    }
    for (const [name, from, to] of [['swapped', 2, 1], ['duplicated', 1, 2]] as const) {
      const r = await split(name)
      const [a, b] = [r.parts[from]!.path, r.parts[to]!.path]
      if (name === 'swapped') {
        const [da, db] = [await readFile(a), await readFile(b)]
        await writeFile(a, db)
        await writeFile(b, da)
      } else await copyFile(a, b)
      const joined = Buffer.concat(await Promise.all(r.parts.map((p) => readFile(p.path))))
      // refused (exit 3) by the first check to see it: the part's digest, an entry's digest, or a header the swap displaced
      await assert.rejects(verifyBundle(r.index, trust), (e: AirlockError) => e.exitCode === 3 && ['DIGEST_MISMATCH', 'NOT_A_BUNDLE'].includes(e.code), name)
      const fromParts = await allReaders(r.index, trust, dir())
      const fromJoined = await allReaders(await write(`${name}-joined.tar`, joined), trust, dir())
      for (const reader of ['inspect', 'list', 'sbom', 'noVerify']) assert.equal(fromParts[reader], fromJoined[reader], `${name}: ${reader}`)
    }
    // an index whose whole-file digest lies (its parts are right): readers check the parts, and
    // bundle build --since, which records that digest as the base's, refuses to take it on its word
    const r = await split('lying-index')
    const index = JSON.parse(await readFile(r.index, 'utf8'))
    index.sha256 = 'f'.repeat(64)
    await writeFile(r.index, JSON.stringify(index))
    const codes = await allReaders(r.index, trust, dir())
    for (const [reader, code] of Object.entries(codes)) assert.equal(code, 'ok', `lying index: ${reader} answered ${code}`)
    const spec = join(dir(), 'since-spec')
    await mkdir(spec)
    await writeFile(join(spec, 'c.txt'), 'charlie\n')
    await writeFile(join(spec, 'spec.yaml'), 'apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: t, version: 1.1.0}\nspec:\n  files:\n    - {source: ./c.txt, as: c.txt}\n')
    const since = await runCli(['bundle', 'build', join(spec, 'spec.yaml'), '--key', keys.key, '--out', join(spec, 'next.tar'), '--since', r.index, '--json'])
    assert.equal(since.code, 3, since.stdout + since.stderr)
    assert.equal(since.json.error.code, 'DIGEST_MISMATCH')
    assert.match(since.json.error.message, /the parts joined have sha256:\w+, demo\.tar\.split\.json says sha256:f{64}/)
  })

  describe('S3', () => {
    let s3: TestS3
    let saved: NodeJS.ProcessEnv
    let settings: ReturnType<typeof s3ReadSettings>

    before(async () => {
      s3 = await startS3()
      saved = {...process.env}
      settings = {...s3ReadSettings()}
      Object.assign(process.env, s3.env)
      configureS3Reads({endpoint: s3.endpoint})
    })
    after(async () => {
      if (saved) process.env = saved
      if (settings) configureS3Reads(settings)
      await s3?.stop()
    })

    it('an object read in place by ranged GETs gets, from every reader, the answer the file gets', async () => {
      const client = new S3Client({endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: {accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER'}})
      try {
        for (const [name, data] of Object.entries({good, ...hostile()})) {
          const key = `hostile/${name.replaceAll(' ', '-')}.tar`
          await client.send(new PutObjectCommand({Bucket: s3.bucket, Key: key, Body: data}))
          const local = await allReaders(await write(`${name}.tar`, data), trust, dir())
          const remote = await allReaders(`s3://${s3.bucket}/${key}`, trust, dir())
          assert.deepEqual(remote, local, name)
          if (name !== 'good') assert.notEqual(local.verify, 'ok', name)
        }
      } finally {
        client.destroy()
      }
    })
  })
})
