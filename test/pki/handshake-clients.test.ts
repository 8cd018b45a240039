import {strict as assert} from 'node:assert'
import {spawn, type ChildProcess} from 'node:child_process'
import {request} from 'node:https'
import {createServer, type AddressInfo} from 'node:net'
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {issueForDomain, loadIssuer, makeCa, type Issuer} from '../../src/pki/issue.js'
import {privateKeyPem} from '../../src/pki/keys.js'
import {makeTempDir, removeTempDir, runProcess} from '../support/cli.js'
import {opensslOk} from './support.js'

/*
 * What airlock issues, served by `openssl s_server` on 127.0.0.1 exactly as a site would serve it
 * (the key and the full chain file), and judged by the clients a platform meets: openssl s_client,
 * curl, Python's ssl and Node's https, each trusting only the root the bundle ships as tls/ca.crt.
 */

const DOMAIN = 'wallaroo.example.com'

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** s_server with the key and the chain file (leaf first); resolves once it accepts connections. */
async function serve(cert: string, chain: string, key: string): Promise<{port: number; child: ChildProcess}> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort()
    const child = spawn('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', cert, '-cert_chain', chain, '-key', key, '-www', '-naccept', '1000'], {stdio: ['ignore', 'pipe', 'pipe']})
    const ready = await new Promise<boolean>((resolve) => {
      let out = ''
      child.stdout?.on('data', (c: Buffer) => {
        out += c.toString()
        if (out.includes('ACCEPT')) resolve(true)
      })
      child.once('exit', () => resolve(false))
    })
    if (ready) return {port, child}
    if (attempt >= 3) throw new Error('openssl s_server did not start')
  }
}

type Verdict = 'ok' | 'refused'

async function sClient(port: number, ca: string, host: string): Promise<Verdict> {
  const run = await runProcess('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', host, '-verify_hostname', host, '-CAfile', ca, '-verify_return_error', '-brief'], {input: ''})
  return run.code === 0 && /Verification: OK/.test(run.stdout + run.stderr) ? 'ok' : 'refused'
}

async function curl(port: number, ca: string, host: string): Promise<Verdict> {
  const run = await runProcess('curl', ['--silent', '--fail', '--max-time', '20', '--cacert', ca, '--resolve', `${host}:${port}:127.0.0.1`, `https://${host}:${port}/`])
  return run.code === 0 ? 'ok' : 'refused'
}

async function python(port: number, ca: string, host: string): Promise<Verdict> {
  const script = [
    'import socket, ssl, sys',
    'ctx = ssl.create_default_context(cafile=sys.argv[1])',
    'with socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=20) as s:',
    '    with ctx.wrap_socket(s, server_hostname=sys.argv[3]):',
    '        pass',
  ].join('\n')
  const run = await runProcess('python3', ['-c', script, ca, String(port), host])
  return run.code === 0 ? 'ok' : 'refused'
}

function node(port: number, ca: string, host: string): Promise<Verdict> {
  return readFile(ca, 'utf8').then((caPem) => new Promise<Verdict>((resolve) => {
    const req = request({host: '127.0.0.1', port, path: '/', servername: host, ca: caPem, agent: false, headers: {host}}, (res) => {
      res.resume()
      res.on('end', () => resolve('ok'))
    })
    req.on('error', () => resolve('refused'))
    req.end()
  }))
}

const CLIENTS = {'openssl s_client': sClient, curl, python, node}

describe('TLS handshakes: what airlock issues, served by openssl s_server, judged by openssl, curl, Python and Node', function () {
  this.timeout(240_000)
  let dir: string
  const servers: ChildProcess[] = []

  before(async () => {
    dir = await makeTempDir()
  })
  after(async () => {
    for (const child of servers) child.kill()
    await removeTempDir(dir)
  })

  const check = async (name: string, issuer: Issuer, rootPem: string, keyType: 'ecdsa-p256' | 'ecdsa-p384' | 'rsa-3072'): Promise<void> => {
    const issued = await issueForDomain(issuer, {domain: DOMAIN, sans: ['api.wallaroo.example.com'], keyType})
    const [cert, chain, key, ca] = ['crt', 'fullchain.pem', 'key', 'ca.crt'].map((ext) => join(dir, `${name}.${ext}`)) as [string, string, string, string]
    await writeFile(cert, issued.certPem)
    await writeFile(chain, issued.fullchainPem)
    await writeFile(key, privateKeyPem(issued.key), {mode: 0o600})
    await writeFile(ca, rootPem)
    // REVIEW.md's own command passes on what is shipped
    await opensslOk(['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', ca, '-untrusted', chain, cert])
    const {port, child} = await serve(cert, chain, key)
    servers.push(child)
    for (const [client, connect] of Object.entries(CLIENTS)) {
      for (const host of [DOMAIN, 'api.wallaroo.example.com']) assert.equal(await connect(port, ca, host), 'ok', `${client} connects to ${host} (${name})`)
      assert.equal(await connect(port, ca, 'other.example.com'), 'refused', `${client} refuses a name the certificate does not carry (${name})`)
    }
    child.kill()
  }

  for (const keyType of ['ecdsa-p256', 'ecdsa-p384', 'rsa-3072'] as const) {
    it(`an airlock CA (${keyType}) and its server certificate: every client connects by each SAN and refuses another name`, async () => {
      const ca = await makeCa({name: `Handshake ${keyType} CA`, keyType})
      await check(`root-${keyType}`, {cert: ca.cert, key: ca.key, source: 'test CA'}, ca.certPem, keyType)
    })
  }

  it('a site intermediate (made by openssl) as the issuing CA: the full chain is served and every client trusting only the root connects', async () => {
    const rootKey = join(dir, 'site-root.key')
    const root = join(dir, 'site-root.crt')
    const interKey = join(dir, 'site-inter.key')
    const interCsr = join(dir, 'site-inter.csr')
    const inter = join(dir, 'site-inter.crt')
    const ext = join(dir, 'site-inter.ext')
    await opensslOk(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-nodes', '-keyout', rootKey, '-out', root, '-days', '60', '-subj', '/CN=Site Root', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
    await opensslOk(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', interKey, '-out', interCsr, '-subj', '/CN=Site Issuing CA'])
    await writeFile(ext, 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n')
    await opensslOk(['x509', '-req', '-in', interCsr, '-CA', root, '-CAkey', rootKey, '-days', '30', '-extfile', ext, '-out', inter])
    const caChain = join(dir, 'site-ca-chain.pem')
    await writeFile(caChain, (await readFile(inter, 'utf8')) + (await readFile(root, 'utf8')))
    const issuer = await loadIssuer(caChain, interKey)
    await check('site-intermediate', issuer, await readFile(root, 'utf8'), 'rsa-3072')
  })
})
