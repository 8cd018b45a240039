import {strict as assert} from 'node:assert'
import {createServer, request, type Server} from 'node:https'
import type {AddressInfo} from 'node:net'

import {issueForDomain, makeCa} from '../../src/pki/issue.js'
import {privateKeyPem} from '../../src/pki/keys.js'

/*
 * A real TLS handshake: a Node https server on 127.0.0.1 with a certificate airlock issued, and a
 * client that trusts only airlock's CA. Every name the certificate carries connects; another does not.
 */

function get(port: number, ca: string, servername?: string): Promise<{ok: true; body: string} | {ok: false; code: string}> {
  return new Promise((resolve) => {
    const req = request({host: '127.0.0.1', port, path: '/', ca, ...(servername ? {servername} : {}), agent: false}, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => (body += c.toString()))
      res.on('end', () => resolve({ok: true, body}))
    })
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ok: false, code: err.code ?? err.message}))
    req.end()
  })
}

for (const keyType of ['ecdsa-p256', 'rsa-3072'] as const) {
  describe(`TLS handshake with an issued certificate (${keyType})`, function () {
    this.timeout(60_000)
    let server: Server
    let port: number
    let caPem: string

    before(async () => {
      const ca = await makeCa({name: 'Handshake Test CA', keyType})
      caPem = ca.certPem
      const issued = await issueForDomain({cert: ca.cert, key: ca.key, source: 'test CA'}, {domain: 'wallaroo.example.com', sans: ['api.wallaroo.example.com', '127.0.0.1'], keyType})
      server = createServer({key: privateKeyPem(issued.key), cert: issued.fullchainPem}, (_req, res) => res.end('hello'))
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      port = (server.address() as AddressInfo).port
    })

    after(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()))
    })

    for (const name of ['wallaroo.example.com', 'api.wallaroo.example.com']) {
      it(`connects as ${name}`, async () => {
        assert.deepEqual(await get(port, caPem, name), {ok: true, body: 'hello'})
      })
    }

    it('connects by the IP SAN 127.0.0.1', async () => {
      assert.deepEqual(await get(port, caPem), {ok: true, body: 'hello'})
    })

    it('refuses another name', async () => {
      assert.deepEqual(await get(port, caPem, 'other.example.com'), {ok: false, code: 'ERR_TLS_CERT_ALTNAME_INVALID'})
    })

    it('refuses when the client trusts another CA', async () => {
      const other = await makeCa({name: 'Other CA', keyType: 'ecdsa-p256'})
      const result = await get(port, other.certPem, 'wallaroo.example.com')
      assert.equal(result.ok, false)
    })
  })
}
