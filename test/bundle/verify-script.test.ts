import assert from 'node:assert/strict'
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdir, readFile, readdir, symlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {VERIFY_SCRIPT_TOOLS} from '../../src/bundle/verify-script.js'
import {buildBundle} from '../../src/bundle/build.js'
import {makeKeys, readTarEntries, reseal, writeFilesSpec, type CraftEntry, type TestKeys} from '../support/bundles.js'
import {makeOpensslCa} from '../support/openssl-ca.js'
import {issueSignerCert} from './signer-cert.js'
import {rawTar, sha256, tempDirHook, type RawEntry} from './tar-craft.js'

const SHELLS: Array<[string, string[]]> = [['dash', ['dash']], ['bash', ['bash']], ['busybox sh', ['busybox', 'sh']]]

interface Run {
  status: number | null
  out: string
}

describe('VERIFY.txt against hostile bundles, under dash, bash and busybox sh, with GNU and busybox tar', function () {
  this.timeout(120_000)
  const dir = tempDirHook('verify-script')
  let keys: TestKeys
  let script: string
  let entries: CraftEntry[]
  let pub: string
  let busyboxBin: string

  before(async () => {
    keys = await makeKeys(dir())
    const spec = await writeFilesSpec(join(dir(), 'spec'), {'a.txt': 'alpha\n', 'b.bin': Buffer.alloc(3000, 7)})
    const out = join(dir(), 'good.tar')
    await buildBundle({specPath: spec, keyPath: keys.key, out, now: new Date('2025-01-01T00:00:00Z')})
    script = execFileSync('tar', ['-xOf', out, 't-1.0.0/VERIFY.txt'], {encoding: 'utf8'})
    entries = await readTarEntries(out)
    pub = await readFile(keys.pub, 'utf8')
    // busybox's own tar, found first on PATH: its -tv listing differs from GNU's
    busyboxBin = join(dir(), 'busybox-bin')
    await mkdir(busyboxBin)
    await symlink('/usr/bin/busybox', join(busyboxBin, 'tar'))
  })

  /** A site folder with the bundle and the trusted key in it; runs the script there, with TMPDIR inside too. */
  async function site(name: string, bundle: Buffer): Promise<{cwd: string; tmp: string; run: (shell: string[], tar: 'gnu' | 'busybox', env?: Record<string, string>) => Run}> {
    const cwd = join(dir(), name)
    const tmp = join(cwd, 'tmp')
    await mkdir(tmp, {recursive: true})
    await writeFile(join(cwd, 'demo.tar'), bundle)
    await writeFile(join(cwd, 'VERIFY.txt'), script)
    await writeFile(join(cwd, 'trust.pub'), pub)
    return {
      cwd,
      tmp,
      run(shell, tar, env = {}) {
        const PATH = tar === 'busybox' ? `${busyboxBin}:${process.env.PATH}` : (process.env.PATH as string)
        const r = spawnSync(shell[0] as string, [...shell.slice(1), 'VERIFY.txt'], {cwd, env: {PATH, TMPDIR: tmp, BUNDLE: 'demo.tar', TRUST: 'trust.pub', ...env}, encoding: 'utf8'})
        return {status: r.status, out: r.stdout + r.stderr}
      },
    }
  }

  const resealed = (list: RawEntry[]): Buffer => rawTar(reseal(list, keys.privateKey, pub))

  it('names every tool it runs in its own header', () => {
    for (const tool of VERIFY_SCRIPT_TOOLS) assert.ok(script.includes(tool), tool)
    for (const tool of VERIFY_SCRIPT_TOOLS) assert.ok(spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0, `${tool} is installed here`)
  })

  it('verifies a good bundle into a private folder under every shell and tar, and prints where', async () => {
    const s = await site('good', rawTar(entries))
    for (const [label, shell] of SHELLS) {
      for (const tar of ['gnu', 'busybox'] as const) {
        const r = s.run(shell, tar)
        assert.equal(r.status, 0, `${label}/${tar}: ${r.out}`)
        assert.match(r.out, /Verified OK/)
        const where = /verified files: (.*)/.exec(r.out)?.[1] as string
        assert.ok(where.startsWith(`${s.tmp}/airlock-verify.`), where)
        assert.equal(await readFile(join(where, 'files/a.txt'), 'utf8'), 'alpha\n')
      }
    }
    // nothing was written beside the bundle
    assert.deepEqual((await readdir(s.cwd)).sort(), ['VERIFY.txt', 'demo.tar', 'tmp', 'trust.pub'])
  })

  const root = 't-1.0.0'
  const hostile: Record<string, () => Buffer> = {
    // (a) entries outside the folder: beside the bundle, over the trusted key, climbing out
    'a file beside the bundle': () => resealed([...entries, {path: 'evil.sh', body: Buffer.from('echo owned\n')}]),
    'an entry over the TRUST file': () => resealed([...entries, {path: 'trust.pub', body: Buffer.from('-----BEGIN PUBLIC KEY-----\nattacker\n')}]),
    'a .. entry': () => resealed([...entries, {path: `${root}/../../escaped.txt`, body: Buffer.from('x')}]),
    'an absolute entry': () => resealed([...entries, {path: '/tmp/airlock-absolute-entry', body: Buffer.from('x')}]),
    // (b) symlinks and FIFOs, listed and signed as if they were files
    'a symlink': () => resealed([...entries, {path: `${root}/files/passwd`, type: 'SymbolicLink', linkpath: '/etc/passwd'}]),
    'a FIFO': () => resealed([...entries, {path: `${root}/files/pipe`, type: 'FIFO'}]),
    'a hard link': () => resealed([...entries, {path: `${root}/files/again`, type: 'Link', linkpath: `${root}/files/a.txt`}]),
    // (c) the signed list points at a file reached through a link to content nobody signed
    'a signed name reached through a linked folder': () => {
      const list: RawEntry[] = entries.filter((e) => !e.path.startsWith(`${root}/files/`))
      const sums = [...entries.filter((e) => e.path.startsWith(`${root}/files/`))]
      return rawTar(reseal([...list, {path: `${root}/files`, type: 'SymbolicLink', linkpath: '/etc'}, ...sums.map((e) => ({...e, path: `${root}/other/${e.path.split('/').pop()}`}))], keys.privateKey, pub).map((e) => e))
    },
    // (d) the same name twice: the second copy would win on extraction
    'a duplicate entry': () => {
      const a = entries.find((e) => e.path.endsWith('files/a.txt')) as CraftEntry
      return Buffer.concat([resealed(entries).subarray(0, -1024), rawTar([{...a, body: Buffer.from('evil\n')}])])
    },
    'a name with a line break': () => resealed([...entries, {path: `${root}/files/x\n${root}/files/a.txt`, body: Buffer.from('x')}]),
  }

  for (const [name, make] of Object.entries(hostile)) {
    it(`refuses ${name}, writes nothing outside its folder and leaves nothing behind`, async () => {
      const s = await site(name.replaceAll(/[^a-z]+/g, '-'), make())
      const before = await readFile(join(s.cwd, 'trust.pub'), 'utf8')
      for (const [label, shell] of SHELLS) {
        for (const tar of ['gnu', 'busybox'] as const) {
          const r = s.run(shell, tar)
          assert.notEqual(r.status, 0, `${label}/${tar} accepted it: ${r.out}`)
          assert.match(r.out, /NOT VERIFIED/, `${label}/${tar}: ${r.out}`)
          assert.doesNotMatch(r.out, /bundle verified/)
          assert.deepEqual(await readdir(s.tmp), [], `${label}/${tar} left its folder behind`)
          assert.deepEqual((await readdir(s.cwd)).sort(), ['VERIFY.txt', 'demo.tar', 'tmp', 'trust.pub'], `${label}/${tar} wrote beside the bundle`)
          assert.equal(await readFile(join(s.cwd, 'trust.pub'), 'utf8'), before)
        }
      }
      assert.throws(() => execFileSync('test', ['-e', '/tmp/airlock-absolute-entry']))
    })
  }

  it('with TRUST_CA: needs a chain to the CA, digitalSignature and the codeSigning EKU', async () => {
    const ca = await makeOpensslCa(dir(), 'site-ca')
    const signer = await makeKeys(dir(), 'ec-signer')
    const good = await issueSignerCert(dir(), ca, signer.key, 'code-signer')
    const noEku = await issueSignerCert(dir(), ca, signer.key, 'no-eku', ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature'])
    const serverEku = await issueSignerCert(dir(), ca, signer.key, 'server-eku', ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=serverAuth'])
    const noDs = await issueSignerCert(dir(), ca, signer.key, 'no-ds', ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,keyEncipherment', 'extendedKeyUsage=codeSigning'])
    const spec = await writeFilesSpec(join(dir(), 'ca-spec'), {'a.txt': 'alpha\n'})
    const bundleWith = async (cert: string, name: string): Promise<Buffer> => {
      const out = join(dir(), `${name}.tar`)
      await buildBundle({specPath: spec, keyPath: signer.key, certPath: cert, out, now: new Date()})
      return readFile(out)
    }
    const okBundle = await bundleWith(good, 'ca-good')
    const caScript = execFileSync('tar', ['-xOf', join(dir(), 'ca-good.tar'), 't-1.0.0/VERIFY.txt'], {encoding: 'utf8'})
    // a good bundle whose signer.pem is replaced by a certificate lacking an extension, re-signed by the same key
    const withCert = async (cert: string): Promise<Buffer> => {
      const list = await readTarEntries(join(dir(), 'ca-good.tar'))
      return rawTar(reseal(list, signer.privateKey, await readFile(cert, 'utf8')))
    }
    const cases: Array<[string, Buffer, string, boolean]> = [
      ['good', okBundle, ca.caCert, true],
      ['no codeSigning', await withCert(noEku), ca.caCert, false],
      ['serverAuth only', await withCert(serverEku), ca.caCert, false],
      ['no digitalSignature', await withCert(noDs), ca.caCert, false],
      ['another CA', okBundle, (await makeOpensslCa(dir(), 'other-ca')).caCert, false],
    ]
    for (const [label, bundle, trustCa, ok] of cases) {
      const s = await site(`ca-${label.replaceAll(/[^a-z]+/g, '-')}`, bundle)
      await writeFile(join(s.cwd, 'VERIFY.txt'), caScript)
      for (const [shellLabel, shell] of SHELLS) {
        const r = s.run(shell, 'gnu', {TRUST: '', TRUST_CA: trustCa})
        assert.equal(r.status === 0, ok, `${label} under ${shellLabel}: ${r.out}`)
        if (!ok) assert.deepEqual(await readdir(s.tmp), [])
      }
    }
    assert.ok(sha256(okBundle).length === 64)
  })
})
