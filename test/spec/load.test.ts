import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {createServer} from 'node:https'
import {readFile, writeFile} from 'node:fs/promises'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'

import {parseSpec} from '../../src/spec/load.js'
import {AirlockError} from '../../src/ui/errors.js'
import {makeKeys} from '../support/bundles.js'
import {makeTempDir, runCli} from '../support/cli.js'
import {issueWithOpenssl, makeOpensslCa} from '../support/openssl-ca.js'
import {startProxy} from '../support/proxy.js'

function specError(text: string): AirlockError {
  try {
    parseSpec(text, 'b.yaml')
  } catch (error) {
    assert.ok(error instanceof AirlockError)
    assert.equal(error.code, 'SPEC_INVALID')
    assert.equal(error.exitCode, 2)
    return error
  }
  assert.fail('the spec was accepted')
}

const HEAD = 'apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: demo, version: 1.0.0}\n'

describe('bundle spec', () => {
  it('accepts the shipped demo spec and applies defaults', async () => {
    const spec = parseSpec(await readFile('bundles/demo.yaml', 'utf8'), 'bundles/demo.yaml')
    assert.equal(spec.metadata.name, 'demo')
    assert.deepEqual(spec.spec.platforms, ['linux/amd64'])
  })

  it('names the YAML path and line of an unknown key', () => {
    const e = specError(`${HEAD}spec:\n  files:\n    - {source: ./a, as: a, sha: abc}\n`)
    assert.equal(e.subject, 'b.yaml#spec.files[0]')
    assert.match(e.message, /spec\.files\[0\]: unknown key "sha"/)
    assert.match(e.message, /line 6/)
  })

  it('names a wrong value with what is expected', () => {
    const e = specError(`${HEAD}spec:\n  platforms: [linux]\n`)
    assert.equal(e.subject, 'b.yaml#spec.platforms[0]')
    assert.match(e.message, /linux\/amd64/)
    const v = specError('apiVersion: airlock.dev/v2\nkind: Bundle\nmetadata: {name: demo, version: 1.0.0}\nspec: {}\n')
    assert.equal(v.subject, 'b.yaml#apiVersion')
  })

  it('names a missing required field', () => {
    const e = specError('apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: demo}\nspec: {}\n')
    assert.equal(e.subject, 'b.yaml#metadata.version')
    assert.match(e.message, /required/)
  })

  it('refuses a file name that climbs out of files/', () => {
    const e = specError(`${HEAD}spec:\n  files:\n    - {source: ./a, as: ../../etc/x}\n`)
    assert.equal(e.subject, 'b.yaml#spec.files[0].as')
  })

  it('reports YAML syntax errors with the line', () => {
    const e = specError(`${HEAD}spec:\n  files: [\n`)
    assert.match(e.message, /b\.yaml:\d+:\d+/)
  })

  it('fails the CLI with exit 2 and the path in --json', async () => {
    const dir = await makeTempDir()
    const keys = await makeKeys(dir)
    await writeFile(join(dir, 's.yaml'), `${HEAD}spec:\n  profiles: x\n`)
    const r = await runCli(['bundle', 'build', join(dir, 's.yaml'), '--key', keys.key, '--out', join(dir, 'o.tar'), '--json'])
    assert.equal(r.code, 2)
    assert.equal(r.json.error.code, 'SPEC_INVALID')
    assert.equal(r.json.error.subject, `${join(dir, 's.yaml')}#spec`)
    assert.match(r.json.error.message, /unknown key "profiles"/)
  })
})

/** An openssl CA and a server key and certificate it issued for `name`, as an https server takes them. */
async function webPki(dir: string, name: string): Promise<{ca: Awaited<ReturnType<typeof makeOpensslCa>>; tls: {key: Buffer; cert: Buffer}}> {
  const ca = await makeOpensslCa(dir, 'web')
  const serverKey = join(dir, 'server.key')
  execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', serverKey])
  const cert = await issueWithOpenssl(dir, ca, serverKey, name, {serverName: name})
  return {ca, tls: {key: await readFile(serverKey), cert: await readFile(cert)}}
}

describe('https file sources', () => {
  it('downloads over https trusting --ca-file, checks sha256, and fails clearly without the CA', async () => {
    const dir = await makeTempDir()
    const keys = await makeKeys(dir)
    const {ca, tls} = await webPki(dir, 'localhost')
    const payload = Buffer.alloc(200_000, 5)
    const server = createServer(tls, (req, res) => {
      if (req.url === '/moved') {
        res.writeHead(302, {location: '/x.bin'}).end()
        return
      }
      if (req.url !== '/x.bin') {
        res.writeHead(404).end()
        return
      }
      res.writeHead(200, {'content-length': payload.length}).end(payload)
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as AddressInfo).port
    try {
      const sha = execFileSync('sha256sum', {input: payload, encoding: 'utf8'}).split(' ')[0]
      const write = (name: string, url: string, digest = sha) => writeFile(join(dir, name), `${HEAD}spec:\n  files:\n    - {source: "${url}", as: x.bin, sha256: "${digest}"}\n`)
      await write('ok.yaml', `https://localhost:${port}/moved`)
      const ok = await runCli(['bundle', 'build', join(dir, 'ok.yaml'), '--key', keys.key, '--out', join(dir, 'ok.tar'), '--ca-file', ca.caCert, '--json'])
      assert.equal(ok.code, 0, ok.stderr)
      assert.ok(execFileSync('tar', ['-xOf', join(dir, 'ok.tar'), 'demo-1.0.0/files/x.bin']).equals(payload))

      const untrusted = await runCli(['bundle', 'build', join(dir, 'ok.yaml'), '--key', keys.key, '--out', join(dir, 'u.tar'), '--json'])
      assert.equal(untrusted.code, 4)
      assert.match(untrusted.json.error.hint, /--ca-file/)
      assert.match(untrusted.json.error.subject, /spec\.files\[0\]\.source/)

      await write('bad.yaml', `https://localhost:${port}/x.bin`, 'f'.repeat(64))
      const bad = await runCli(['bundle', 'build', join(dir, 'bad.yaml'), '--key', keys.key, '--out', join(dir, 'b.tar'), '--ca-file', ca.caCert, '--json'])
      assert.equal(bad.code, 3)
      assert.equal(bad.json.error.code, 'DIGEST_MISMATCH')

      await write('404.yaml', `https://localhost:${port}/gone.bin`)
      const gone = await runCli(['bundle', 'build', join(dir, '404.yaml'), '--key', keys.key, '--out', join(dir, 'g.tar'), '--ca-file', ca.caCert, '--json'])
      assert.equal(gone.code, 4)
      assert.match(gone.json.error.message, /404/)
    } finally {
      server.close()
    }
  })

  it('downloads through HTTPS_PROXY with a CONNECT tunnel, checking the server\'s own certificate', async () => {
    const dir = await makeTempDir()
    const keys = await makeKeys(dir)
    // a name only the proxy resolves: the build can reach the server through the proxy alone
    const {ca, tls} = await webPki(dir, 'files.test')
    const payload = Buffer.alloc(300_000, 7)
    const server = createServer(tls, (req, res) => {
      if (req.url === '/x.bin') res.writeHead(200, {'content-length': payload.length}).end(payload)
      else res.writeHead(404).end()
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as AddressInfo).port
    try {
      const proxy = await startProxy(['files.test'])
      await writeFile(join(dir, 'p.yaml'), `${HEAD}spec:\n  files:\n    - {source: "https://files.test:${port}/x.bin", as: x.bin}\n`)
      const r = await runCli(['bundle', 'build', join(dir, 'p.yaml'), '--key', keys.key, '--out', join(dir, 'p.tar'), '--ca-file', ca.caCert, '--json'], {env: {HTTPS_PROXY: proxy.url}})
      assert.equal(r.code, 0, r.stderr)
      assert.ok(execFileSync('tar', ['-xOf', join(dir, 'p.tar'), 'demo-1.0.0/files/x.bin']).equals(payload))
      assert.deepEqual(proxy.seen, [`CONNECT files.test:${port}`])
    } finally {
      server.close()
    }
  })
})

describe('bundle build --set', () => {
  it('replaces a file source by id and a spec value by path, and names an unknown id', async () => {
    const dir = await makeTempDir()
    const keys = await makeKeys(dir)
    await writeFile(join(dir, 'real.bin'), 'the real artifact')
    await writeFile(join(dir, 's.yaml'), `${HEAD}spec:\n  files:\n    - {id: app, source: ./placeholder.bin, as: app.bin}\n`)
    const ok = await runCli(['bundle', 'build', join(dir, 's.yaml'), '--key', keys.key, '--out', join(dir, 'o.tar'), '--set', `files.app=${join(dir, 'real.bin')}`, '--json'])
    assert.equal(ok.code, 0, ok.stderr)
    assert.equal(execFileSync('tar', ['-xOf', join(dir, 'o.tar'), 'demo-1.0.0/files/app.bin'], {encoding: 'utf8'}), 'the real artifact')

    const unknown = await runCli(['bundle', 'build', join(dir, 's.yaml'), '--key', keys.key, '--out', join(dir, 'u.tar'), '--set', 'files.nope=x', '--json'])
    assert.equal(unknown.code, 2)
    assert.equal(unknown.json.error.subject, '--set files.nope')
    assert.match(unknown.json.error.hint, /app/)

    const typed = await runCli(['bundle', 'build', join(dir, 's.yaml'), '--key', keys.key, '--out', join(dir, 't.tar'), '--set', 'platforms=linux', '--json'])
    assert.equal(typed.code, 2)
    assert.equal(typed.json.error.code, 'SPEC_INVALID')
    const malformed = await runCli(['bundle', 'build', join(dir, 's.yaml'), '--key', keys.key, '--out', join(dir, 'm.tar'), '--set', 'novalue', '--json'])
    assert.equal(malformed.code, 2)
    assert.equal(malformed.json.error.subject, '--set novalue')
  })
})
