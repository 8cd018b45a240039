import {strict as assert} from 'node:assert'
import {spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {existsSync} from 'node:fs'
import {mkdir, readFile, readdir, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {makeKeys} from '../support/bundles.js'
import {makeTempDir, removeTempDir, runCli} from '../support/cli.js'
import {BIN} from '../support/paths.js'
import {sha256Of, startS3, type TestS3} from '../support/s3.js'

const MiB = 1024 * 1024
const EPOCH = {SOURCE_DATE_EPOCH: '1735689600'}

/*
 * Against a store with ListParts and AbortMultipartUpload (S3, MinIO, Ceph RGW; added to s3rver here,
 * served from its own upload folders): a failed build aborts its upload, and --resume believes the
 * store's list of parts over its own record.
 */
describe('bundle build --out s3:// against a store with ListParts and AbortMultipartUpload', function () {
  this.timeout(120_000)
  let s3: TestS3
  let dir: string
  let key: string
  let env: NodeJS.ProcessEnv

  before(async () => {
    s3 = await startS3('airlock-test', {multipart: true})
    dir = await makeTempDir()
    key = (await makeKeys(dir)).key
    env = {...s3.env, ...EPOCH}
    await mkdir(join(dir, 'src'))
    await writeFile(join(dir, 'src', 'first.bin'), randomBytes(13 * MiB))
  })

  after(async () => {
    await s3?.stop()
    if (dir) await removeTempDir(dir)
  })

  /**
   * Starts a build of first.bin and a 12 MiB late.bin into `target`, and rewrites late.bin once the
   * upload has begun: the writer's re-hash refuses it (exit 3) after parts were sent. Returns late.bin's
   * bytes as they were when the build planned (and signed) the bundle.
   */
  async function buildChangedMidUpload(name: string, target: string, extra: string[]): Promise<{spec: string; late: string; planned: Buffer; out: string}> {
    const late = join(dir, 'src', `${name}.bin`)
    const planned = randomBytes(12 * MiB)
    await writeFile(late, planned)
    const spec = join(dir, `${name}.yaml`)
    await writeFile(spec, `apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: ${name}, version: 1.0.0}\nspec:\n  files:\n    - {source: ./src/first.bin, as: first.bin}\n    - {source: ./src/${name}.bin, as: late.bin}\n`)
    const uploadsBefore = new Set(await s3.uploads())
    const child = spawn(process.execPath, [BIN, 'bundle', 'build', spec, '--key', key, '--out', `s3://${s3.bucket}/${target}`, '--endpoint', s3.endpoint, '--part-size', '5M', '--s3-concurrency', '1', '--json', ...extra], {env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    child.stderr.on('data', (c: Buffer) => (out += c.toString()))
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
    let finished = false
    void exited.then(() => (finished = true))
    while (!finished && !(await s3.uploads()).some((u) => !uploadsBefore.has(u))) await new Promise((r) => setTimeout(r, 5))
    await writeFile(late, randomBytes(12 * MiB))
    const code = await exited
    assert.equal(code, 3, out)
    assert.match(out, /DIGEST_MISMATCH/)
    await assert.rejects(s3.objectFile(target).then((p) => readFile(p)), 'no object under the key')
    return {spec, late, planned, out}
  }

  it('a build that fails mid-upload aborts its upload: the store keeps none of its parts', async () => {
    const aborts = s3.calls.get('AbortMultipartUpload') ?? 0
    const before = await s3.uploads()
    const {spec} = await buildChangedMidUpload('aborted', 'aborted/b.tar', [])
    assert.ok((s3.calls.get('AbortMultipartUpload') ?? 0) > aborts, 'AbortMultipartUpload was called')
    assert.deepEqual(await s3.uploads(), before, 'no upload is left in the store')
    await rm(spec)
  })

  it('--resume takes the store\'s list of parts over its record: a part the store no longer has is sent again, and the object is the uninterrupted build\'s', async () => {
    const target = 'listed/b.tar'
    const {spec, late, planned} = await buildChangedMidUpload('listed', target, ['--resume'])
    const record = JSON.parse(await readFile(`${spec}.s3-upload.json`, 'utf8')) as {uploadId: string; parts: Record<string, unknown>}
    assert.ok(Object.keys(record.parts).length >= 2, JSON.stringify(record.parts))
    // the store loses part 1 after the record listed it (a lifecycle rule, an operator's clean-up)
    const folder = s3.uploadDir(record.uploadId)
    await rm(join(folder, '1'))
    await rm(join(folder, '1.md5'), {force: true})
    const kept = (await readdir(folder)).filter((f) => /^\d+$/.test(f)).length
    // the source as planned again: the same bundle, so the upload can be continued
    await writeFile(late, planned)
    const lists = s3.calls.get('ListParts') ?? 0
    const again = await runCli(['bundle', 'build', spec, '--key', key, '--out', `s3://${s3.bucket}/${target}`, '--endpoint', s3.endpoint, '--part-size', '5M', '--s3-concurrency', '1', '--resume', '--json'], {env})
    assert.equal(again.code, 0, again.stderr)
    assert.ok((s3.calls.get('ListParts') ?? 0) > lists, 'ListParts was asked')
    // parts the store still has, with the bytes this build makes, are not sent again; part 1 is
    assert.ok(again.json.s3.partsResumed >= 1, JSON.stringify(again.json.s3))
    assert.ok(again.json.s3.partsResumed <= kept, JSON.stringify({kept, s3: again.json.s3}))
    // VERIFY.txt names the bundle file: the same file name as the key's makes the same bytes
    await mkdir(join(dir, 'local'), {recursive: true})
    const local = join(dir, 'local', 'b.tar')
    const built = await runCli(['bundle', 'build', spec, '--key', key, '--out', local, '--json'], {env})
    assert.equal(built.code, 0, built.stderr)
    assert.equal(await sha256Of(await s3.objectFile(target)), await sha256Of(local))
    assert.equal(existsSync(`${spec}.s3-upload.json`), false, 'the record is removed once the object is complete')
    assert.ok(!(await s3.uploads()).includes(record.uploadId), 'the completed upload is gone from the store')
    await rm(spec)
    await rm(local)
  })

  it('--resume of a bundle that differs from the interrupted one aborts the old upload before starting a new one', async () => {
    const target = 'stale/b.tar'
    const {spec, late} = await buildChangedMidUpload('stale', target, ['--resume'])
    const record = JSON.parse(await readFile(`${spec}.s3-upload.json`, 'utf8')) as {uploadId: string}
    assert.ok((await s3.uploads()).includes(record.uploadId))
    // late.bin keeps its new bytes: another bundle than the one whose parts the store holds
    const again = await runCli(['bundle', 'build', spec, '--key', key, '--out', `s3://${s3.bucket}/${target}`, '--endpoint', s3.endpoint, '--part-size', '5M', '--resume', '--json'], {env})
    assert.equal(again.code, 0, again.stderr)
    assert.equal(again.json.s3.partsResumed, 0)
    assert.ok(again.json.notes.some((n: string) => /bundle differs/.test(n)), JSON.stringify(again.json.notes))
    assert.ok(!(await s3.uploads()).includes(record.uploadId), 'the stale upload was aborted')
    assert.deepEqual(await s3.uploads(), [], 'nothing is left in the store')
    await rm(spec)
    await rm(late)
  })
})
