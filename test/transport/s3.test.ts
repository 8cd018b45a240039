import {strict as assert} from 'node:assert'
import {spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {existsSync} from 'node:fs'
import {open, readFile, rm} from 'node:fs/promises'
import {join} from 'node:path'

import {partialPaths, untrustedPaths} from '../../src/transport/fetch.js'
import {uploadRecordPath} from '../../src/transport/publish.js'
import {buildTestBundle, makeKeys, type TestKeys} from '../support/bundles.js'
import {makeTempDir, runCli} from '../support/cli.js'
import {BIN} from '../support/paths.js'
import {sha256Of, startS3, type TestS3} from '../support/s3.js'

const MiB = 1024 * 1024

/** Starts the CLI and SIGKILLs it once `ready()` says enough was transferred: a crash, not a polite Ctrl-C. */
async function killMidway(args: string[], env: NodeJS.ProcessEnv, ready: () => Promise<boolean>): Promise<void> {
  const child = spawn(process.execPath, [BIN, ...args], {env: {...process.env, ...env}, stdio: 'ignore'})
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  let finished = false
  void exited.then(() => (finished = true))
  while (!finished && !(await ready())) await new Promise((r) => setTimeout(r, 10))
  assert.equal(finished, false, 'the transfer finished before it could be interrupted')
  child.kill('SIGKILL')
  await exited
}

async function readJson(path: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  try {
    return JSON.parse(await readFile(path, 'utf8'))
  } catch {
    return undefined
  }
}

describe('bundle publish and fetch against an S3-compatible store (s3rver)', function () {
  this.timeout(120_000)
  let s3: TestS3
  let dir: string
  let keys: TestKeys
  let bundle: string
  let digest: string
  let s3args: string[]

  before(async () => {
    s3 = await startS3()
    dir = await makeTempDir()
    keys = await makeKeys(dir)
    // 12 parts of 5 MiB: enough for a kill to land between parts
    bundle = await buildTestBundle(dir, keys, {'readme.txt': 'hello\n', 'payload.bin': randomBytes(58 * MiB)})
    digest = await sha256Of(bundle)
    s3args = ['--endpoint', s3.endpoint, '--part-size', '5M']
  })

  after(async () => {
    await s3.stop()
    await rm(dir, {recursive: true, force: true})
  })

  it('publishes with the SHA-256 in metadata and beside the object, and fetches it back verified', async () => {
    const pub = await runCli(['bundle', 'publish', bundle, `s3://${s3.bucket}/round/`, ...s3args, '--json'], {env: s3.env})
    assert.equal(pub.code, 0, pub.stderr)
    assert.equal(pub.json.key, 'round/bundle.tar')
    assert.equal(pub.json.sha256, digest)
    assert.equal(pub.json.parts, 12)
    assert.equal(pub.json.partsSent, 12)
    assert.equal(existsSync(uploadRecordPath(bundle)), false, 'the upload record is removed once the upload completes')
    assert.equal(await sha256Of(await s3.objectFile('round/bundle.tar')), digest)
    assert.equal((await readFile(await s3.objectFile('round/bundle.tar.sha256'), 'utf8')).split(/\s+/)[0], digest)
    const meta = await readJson((await s3.objectFile('round/bundle.tar')).replace(/_object$/, '_metadata.json'))
    assert.equal(meta['x-amz-meta-sha256'], digest)

    const out = join(dir, 'round.tar')
    const got = await runCli(['bundle', 'fetch', `s3://${s3.bucket}/round/bundle.tar`, '--out', out, ...s3args, '--trust', keys.pub, '--json'], {env: s3.env})
    assert.equal(got.code, 0, got.stderr)
    assert.equal(got.json.sha256, digest)
    assert.equal(got.json.sha256From, 'both')
    assert.equal(got.json.verified.verified, true)
    assert.equal(await sha256Of(out), digest)
    assert.equal(existsSync(partialPaths(out).partial), false)

    const again = await runCli(['bundle', 'publish', bundle, `s3://${s3.bucket}/round/`, ...s3args, '--json'], {env: s3.env})
    assert.equal(again.code, 0, again.stderr)
    assert.equal(again.json.alreadyPublished, true)
    assert.equal(again.json.partsSent, 0)
  })

  it('resumes an upload killed mid-way, sending only the parts not yet uploaded', async () => {
    const dest = `s3://${s3.bucket}/resume-up/`
    const record = uploadRecordPath(bundle)
    await killMidway(['bundle', 'publish', bundle, dest, ...s3args, '--concurrency', '1'], s3.env, async () => Object.keys((await readJson(record))?.etags ?? {}).length >= 3)
    const left = Object.keys((await readJson(record)).etags).length
    assert.ok(left >= 3 && left < 12, `record after the kill lists ${left} parts`)

    const res = await runCli(['bundle', 'publish', bundle, dest, ...s3args, '--json'], {env: s3.env})
    assert.equal(res.code, 0, res.stderr)
    assert.equal(res.json.partsResumed, left)
    assert.equal(res.json.partsSent, 12 - left)
    assert.equal(await sha256Of(await s3.objectFile('resume-up/bundle.tar')), digest)
    assert.equal(existsSync(record), false)
  })

  it('resumes a download killed mid-way, fetching only the ranges not yet written', async () => {
    const pub = await runCli(['bundle', 'publish', bundle, `s3://${s3.bucket}/resume-down/`, ...s3args], {env: s3.env})
    assert.equal(pub.code, 0, pub.stderr)
    const out = join(dir, 'resumed.tar')
    const {partial, record} = partialPaths(out)
    const url = `s3://${s3.bucket}/resume-down/bundle.tar`
    await killMidway(['bundle', 'fetch', url, '--out', out, ...s3args, '--concurrency', '1'], s3.env, async () => ((await readJson(record))?.done?.length ?? 0) >= 3)
    assert.equal(existsSync(out), false, 'nothing carries the final name after a kill')
    assert.equal(existsSync(partial), true, 'the partial file stays for the next run')

    const res = await runCli(['bundle', 'fetch', url, '--out', out, ...s3args, '--json'], {env: s3.env})
    assert.equal(res.code, 0, res.stderr)
    assert.ok(res.json.resumedBytes >= 3 * 5 * MiB, `resumed ${res.json.resumedBytes} bytes`)
    assert.equal(await sha256Of(out), digest)
    assert.equal(existsSync(partial), false)
    assert.equal(existsSync(record), false)
  })

  it('catches an object damaged in the bucket: exit 3, DIGEST_MISMATCH, no file written', async () => {
    const pub = await runCli(['bundle', 'publish', bundle, `s3://${s3.bucket}/damaged/`, ...s3args], {env: s3.env})
    assert.equal(pub.code, 0, pub.stderr)
    const handle = await open(await s3.objectFile('damaged/bundle.tar'), 'r+')
    await handle.write(Buffer.from('X'), 0, 1, 30 * MiB) // one byte, in place: same size, same ETag on disk
    await handle.close()
    const out = join(dir, 'damaged.tar')
    const url = `s3://${s3.bucket}/damaged/bundle.tar`
    const res = await runCli(['bundle', 'fetch', url, '--out', out, ...s3args, '--json'], {env: s3.env})
    assert.equal(res.code, 3, res.stderr)
    assert.equal(res.json.error.code, 'DIGEST_MISMATCH')
    assert.equal(res.json.error.subject, url)
    assert.equal(existsSync(out), false)
    assert.equal(existsSync(partialPaths(out).partial), false, 'a damaged download is not kept for resuming')
  })

  it('refuses a bundle signed by a key it was not told to trust (exit 3, no file under OUT), keeps the exact download, and a rerun with the right key does not download again', async () => {
    const other = await makeKeys(dir, 'other')
    const out = join(dir, 'untrusted.tar')
    const url = `s3://${s3.bucket}/round/bundle.tar`
    const res = await runCli(['bundle', 'fetch', url, '--out', out, ...s3args, '--trust', other.pub, '--json'], {env: s3.env})
    assert.equal(res.code, 3, res.stderr)
    assert.equal(res.json.error.code, 'SIGNER_UNTRUSTED')
    assert.equal(existsSync(out), false)
    const kept = untrustedPaths(out)
    assert.match(res.json.error.message, /kept as .*untrusted\.tar\.untrusted/)
    assert.equal(await sha256Of(kept.file), digest, 'the bytes that match the published SHA-256 are kept')
    assert.equal(existsSync(partialPaths(out).partial), false)

    const again = await runCli(['bundle', 'fetch', url, '--out', out, ...s3args, '--trust', keys.pub, '--json'], {env: s3.env})
    assert.equal(again.code, 0, again.stderr)
    const size = (await readFile(bundle)).length
    assert.equal(again.json.resumedBytes, size, 'every byte came from the kept download')
    assert.equal(again.json.verified.verified, true)
    assert.equal(await sha256Of(out), digest)
    assert.equal(existsSync(kept.file), false)
    assert.equal(existsSync(kept.record), false)
  })

  it('names the object when it is not in the bucket: exit 4, S3_ERROR', async () => {
    const url = `s3://${s3.bucket}/nowhere/bundle.tar`
    const res = await runCli(['bundle', 'fetch', url, '--out', join(dir, 'nowhere.tar'), ...s3args, '--json'], {env: s3.env})
    assert.equal(res.code, 4, res.stderr)
    assert.equal(res.json.error.code, 'S3_ERROR')
    assert.equal(res.json.error.subject, url)
  })

  it('rejects a part size S3 would refuse and a bundle that does not exist: exit 2', async () => {
    const small = await runCli(['bundle', 'publish', bundle, `s3://${s3.bucket}/x/`, '--endpoint', s3.endpoint, '--part-size', '1M', '--json'], {env: s3.env})
    assert.equal(small.code, 2)
    assert.equal(small.json.error.subject, '--part-size')
    const missing = await runCli(['bundle', 'publish', join(dir, 'absent.tar'), `s3://${s3.bucket}/x/`, '--endpoint', s3.endpoint, '--json'], {env: s3.env})
    assert.equal(missing.code, 2)
    assert.equal(missing.json.error.code, 'FILE_NOT_FOUND')
  })
})
