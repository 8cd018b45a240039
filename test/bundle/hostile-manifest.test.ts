import assert from 'node:assert/strict'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {renderSums} from '../../src/bundle/format.js'
import {inspectBundle} from '../../src/bundle/inspect.js'
import {MAX_MANIFEST_DEPTH} from '../../src/bundle/manifest-check.js'
import type {Trust} from '../../src/signing/trust.js'
import {signDetached} from '../../src/signing/sign.js'
import {reseal, type CraftEntry, type TestKeys} from '../support/bundles.js'
import {runCli} from '../support/cli.js'
import {allReaders} from './readers.js'
import {rawTar, sha256, signedFixture, tempDirHook, type RawEntry} from './tar-craft.js'

/*
 * A manifest.json and folder entries that are valid JSON and valid tar but hostile, signed by the
 * test key (a trusted signer gone rogue, or no signer at all for the readers that check none): every
 * reader must refuse alike with a documented code, or, where harmless, read exactly what verify reads.
 */
describe('hostile manifest and folder entries: every reader refuses alike, or reads alike', function () {
  this.timeout(120_000)
  const dir = tempDirHook('hostile-manifest')
  let keys: TestKeys
  let entries: CraftEntry[]
  let pub: string
  let trust: Trust
  let root: string

  before(async () => {
    ;({keys, entries, pub, trust, root} = await signedFixture(dir()))
  })

  /** The bundle with manifest.json's text replaced (JSON.stringify of the original, edited), re-signed. */
  const withManifestText = (edit: (text: string) => string): Buffer => {
    const list: RawEntry[] = entries.map((e) => ({...e}))
    const m = list.find((e) => e.path === `${root}/manifest.json`) as RawEntry
    m.body = Buffer.from(edit(JSON.stringify(JSON.parse((m.body as Buffer).toString('utf8')))))
    return rawTar(reseal(list, keys.privateKey, pub))
  }
  /** Re-signed with `extra` entries (folders are not in SHA256SUMS) put in after the files. */
  const withExtra = (extra: RawEntry[]): Buffer => rawTar([...reseal(entries, keys.privateKey, pub), ...extra])

  async function answers(name: string, data: Buffer): Promise<{file: string; codes: Record<string, string>}> {
    const file = join(dir(), `${name.replaceAll(/[^a-z0-9]+/gi, '-')}.tar`)
    await writeFile(file, data)
    return {file, codes: await allReaders(file, trust, dir())}
  }
  async function all(name: string, data: Buffer, code: string): Promise<string> {
    const {file, codes} = await answers(name, data)
    for (const [reader, got] of Object.entries(codes)) assert.equal(got, code, `${name}: ${reader} answered ${got}`)
    return file
  }

  it('lists nested 100,000 deep: MANIFEST_INVALID from every reader, and inspect --json exits 3 instead of overflowing its stack', async () => {
    const deep = (n: number) => withManifestText((t) => t.replace(/^\{/, `{"extensions":{"deep":${'['.repeat(n)}${']'.repeat(n)}},`))
    const file = await all('deep', deep(100_000), 'MANIFEST_INVALID')
    const r = await runCli(['bundle', 'inspect', file, '--json'])
    assert.equal(r.code, 3, r.stdout + r.stderr)
    assert.equal(r.json.error.code, 'MANIFEST_INVALID')
    assert.match(r.json.error.message, new RegExp(`extensions\\.deep(\\.0)* nests deeper than ${MAX_MANIFEST_DEPTH} levels`))
    // the nesting airlock itself could ever write is far below the cap
    await all('shallow', deep(MAX_MANIFEST_DEPTH - 4), 'ok')
  })

  it('an SBOM nested 100,000 deep: inspect --sbom --json exits 3 naming it instead of overflowing its stack; the signed bytes still verify', async () => {
    const list: RawEntry[] = entries.map((e) => ({...e}))
    const sbom = list.find((e) => e.path === `${root}/sbom.cdx.json`) as RawEntry
    sbom.body = Buffer.from(`{"bomFormat":"CycloneDX","specVersion":"1.6","deep":${'['.repeat(100_000)}${']'.repeat(100_000)}}`)
    const manifest = list[3] as RawEntry
    const m = JSON.parse((manifest.body as Buffer).toString('utf8'))
    Object.assign(m.files.find((f: {path: string}) => f.path === 'sbom.cdx.json'), {size: sbom.body.length, sha256: sha256(sbom.body)})
    manifest.body = Buffer.from(JSON.stringify(m))
    const {file, codes} = await answers('deep sbom', rawTar(reseal(list, keys.privateKey, pub)))
    // only the SBOM reader parses the SBOM
    assert.deepEqual(codes, {verify: 'ok', inspect: 'ok', list: 'ok', extract: 'ok', sbom: 'MANIFEST_INVALID', noVerify: 'ok'})
    const r = await runCli(['bundle', 'inspect', file, '--sbom', '--json'])
    assert.equal(r.code, 3, r.stdout + r.stderr.slice(0, 2000))
    assert.equal(r.json.error.code, 'MANIFEST_INVALID')
    assert.match(r.json.error.message, /sbom\.cdx\.json: deep(\.0)* nests deeper than 64 levels/)
  })

  it('a format version this airlock does not know, numbers no byte count can be: MANIFEST_INVALID from every reader', async () => {
    const cases: Record<string, (t: string) => string> = {
      'format 2': (t) => t.replace('"formatVersion":1', '"formatVersion":2'),
      'format "1"': (t) => t.replace('"formatVersion":1', '"formatVersion":"1"'),
      'no format': (t) => t.replace('"formatVersion":1,', ''),
      'size 1e400': (t) => t.replace(/"size":\d+/, '"size":1e400'),
      'size 2^53': (t) => t.replace(/"size":\d+/, `"size":${2 ** 53}`),
      'size -0.5': (t) => t.replace(/"size":\d+/, '"size":-0.5'),
    }
    for (const [name, edit] of Object.entries(cases)) {
      const data = withManifestText(edit)
      assert.notDeepEqual(data, withManifestText((t) => t), `${name}: the edit changed nothing`)
      await all(name, data, 'MANIFEST_INVALID')
    }
  })

  it('a size manifest.json gets wrong for an entry placed before it: MANIFEST_INVALID from every reader, as for an entry after it', async () => {
    const list: RawEntry[] = entries.map((e) => ({...e}))
    const m = JSON.parse((list[3]!.body as Buffer).toString('utf8'))
    const last = list.at(-1) as RawEntry
    m.files.find((f: {path: string}) => `${root}/${f.path}` === last.path).size += 1
    list[3]!.body = Buffer.from(JSON.stringify(m))
    const sealed = reseal(list, keys.privateKey, pub)
    // head, then the last file, then manifest.json and the rest
    const moved = [...sealed.slice(0, 3), sealed.at(-1) as RawEntry, ...sealed.slice(3, -1)]
    await all('size before the manifest', rawTar(moved), 'MANIFEST_INVALID')
    await all('size after the manifest', rawTar(sealed), 'MANIFEST_INVALID')
  })

  it('extensions a reader prints or uses, in another shape (a chart without a digest, a referrer without blobs, a chart name that is a path): MANIFEST_INVALID everywhere, and images list and inspect exit 3 instead of a TypeError', async () => {
    const digest = `sha256:${'a'.repeat(64)}`
    const chart = {ref: 'registry.example/charts/app:1.0.0', name: 'app', version: '1.0.0', digest, archive: 'charts/app-1.0.0.tgz', images: []}
    const referrer = {digest, subject: digest, kind: 'signature', artifactType: 'x', mediaType: 'x', size: 1, blobs: []}
    const cases: Record<string, Record<string, unknown>> = {
      'chart without a digest': {charts: [{...chart, digest: undefined}]},
      'chart name with a slash': {charts: [{...chart, name: '../../etc/cron.d/x'}]},
      'chart images of strings': {charts: [{...chart, images: ['nginx']}]},
      'referrer without blobs': {images: [{ref: 'r', referrers: [{...referrer, blobs: undefined}]}]},
      'referrer subject a number': {images: [{ref: 'r', referrers: [{...referrer, subject: 7}]}]},
      'signature without a key': {images: [{ref: 'r', signature: {}}]},
    }
    for (const [name, extensions] of Object.entries(cases)) {
      const file = await all(name, withManifestText((t) => {
        const m = JSON.parse(t)
        return JSON.stringify({...m, extensions: {...m.extensions, ...extensions}})
      }), 'MANIFEST_INVALID')
      for (const args of [['images', 'list', file], ['bundle', 'inspect', file]]) {
        const r = await runCli([...args, '--json'])
        assert.equal(r.code, 3, `${name} ${args[1]}: ${r.stdout}${r.stderr}`)
        assert.match(r.json.error.message, /extensions\.(charts|images)\[0\]/)
      }
    }
  })

  it('free-form extensions with nulls and odd shapes (read by no reader, printed by inspect): shown, never a TypeError', async () => {
    const data = withManifestText((t) => {
      const m = JSON.parse(t)
      return JSON.stringify({...m, extensions: {...m.extensions, kots: {services: [null, {id: 'a', enabled: true}], tier: null, odd: [[null]]}, tls: 7}})
    })
    const file = await all('free-form', data, 'ok')
    const r = await runCli(['bundle', 'inspect', file])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.match(r.stdout, /kots +services=2 odd=1/)
  })

  it('__proto__ and constructor keys, and a key given twice: read alike by every reader (the last key wins, as in jq), and no object is polluted', async () => {
    const data = withManifestText((t) => t.replace(/^\{/, '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"name":"decoy",').replace('"tool":{', '"tool":{"__proto__":{"name":"decoy-tool"},'))
    const file = await all('proto', data, 'ok')
    assert.equal(({} as Record<string, unknown>).polluted, undefined)
    const seen = await inspectBundle(file)
    assert.equal(seen.name, 't') // the later "name" wins, in every reader
    assert.equal(seen.tool.name, 'airlock')
    assert.equal(Object.getPrototypeOf(seen.tool), Object.prototype)
  })

  it('folder entries: one holding listed files reads like verify everywhere; one holding none, or named as a file, is refused by every reader', async () => {
    await all('listed folder', withExtra([{path: `${root}/files/`, type: 'Directory'}]), 'ok')
    await all('root folder', withExtra([{path: `${root}/`, type: 'Directory'}]), 'ok')
    await all('unlisted folder', withExtra([{path: `${root}/nowhere/`, type: 'Directory'}]), 'ENTRY_UNLISTED')
    await all('folder in another case', withExtra([{path: `${root}/FILES/`, type: 'Directory'}]), 'ENTRY_UNLISTED')
    await all('folder named as a file', withExtra([{path: `${root}/files/a.txt/`, type: 'Directory'}]), 'ENTRY_DUPLICATE')
    // a million unsigned folder entries cost the readers nothing: the first is refused, naming it
    const many = Array.from({length: 20_000}, (_, i): RawEntry => ({path: `${root}/d${i}/${'s'.repeat(60)}/`, type: 'Directory'}))
    const {file} = await answers('many folders', withExtra(many))
    const r = await runCli(['bundle', 'inspect', file, '--json'])
    assert.equal(r.code, 3, r.stdout + r.stderr)
    assert.equal(r.json.error.code, 'ENTRY_UNLISTED')
    assert.equal(r.json.error.subject, `${root}/d0/${'s'.repeat(60)}/`)
  })

  it('a 24 MiB SHA256SUMS of names 32 levels deep is read in bounded memory (inspect with a 200 MB heap ends in a documented refusal, not an out-of-memory crash)', async () => {
    // every line a fresh folder tree: before, each name cost 31 fresh copies of its prefixes (~450 MB here)
    const segment = 's'.repeat(120)
    const lines: Array<{path: string; sha256: string}> = []
    let bytes = 0
    for (let i = 0; bytes < 24 << 20; i++) {
      const path = [`d${String(i).padStart(6, '0')}`, ...Array(31).fill(segment)].join('/')
      lines.push({path, sha256: 'a'.repeat(64)})
      bytes += path.length + 67
    }
    const sums = Buffer.from(renderSums(lines))
    const head: RawEntry[] = [
      {path: `${root}/SHA256SUMS`, body: sums},
      {path: `${root}/SHA256SUMS.sig`, body: signDetached(sums, keys.privateKey)},
      {path: `${root}/signer.pem`, body: Buffer.from(pub)},
    ]
    const file = join(dir(), 'big-sums.tar')
    await writeFile(file, rawTar(head))
    assert.equal(sha256(sums).length, 64)
    const r = await runCli(['bundle', 'inspect', file, '--json'], {env: {NODE_OPTIONS: '--max-old-space-size=200'}})
    assert.equal(r.code, 3, `${r.stdout}${r.stderr.slice(0, 2000)}`)
    assert.equal(r.json.error.code, 'ENTRY_MISSING')
  })
})
