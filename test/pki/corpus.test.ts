import {strict as assert} from 'node:assert'
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {parseCertificate} from '../../src/pki/parse.js'
import {validatePath} from '../../src/pki/path-validation.js'
import {makeTempDir} from '../support/cli.js'
import {openssl, opensslOk} from './support.js'

/*
 * A corpus of certificates made with openssl, each judged twice: by `openssl verify -x509_strict
 * -auth_level 2 -purpose sslserver` and by airlock's path validator. The test asserts both verdicts,
 * so a disagreement shows which side moved.
 */

interface Case {
  name: string
  /** openssl genpkey arguments for the leaf key */
  key: string[]
  ext: string[]
  digest?: string
  sigopt?: string[]
  days?: number
  /** evaluate at this many days from now (expired / not yet valid) */
  atDays?: number
  accepted: boolean
}

const RSA = ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']
const SERVER = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', 'extendedKeyUsage=serverAuth', 'subjectAltName=DNS:wallaroo.example.com']

const CASES: Case[] = [
  {name: 'good', key: RSA, ext: SERVER, accepted: true},
  {name: 'weak-rsa-1024', key: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024'], ext: SERVER, accepted: false},
  {name: 'sha1', key: RSA, ext: SERVER, digest: 'sha1', accepted: false},
  {name: 'no-san', key: RSA, ext: SERVER.slice(0, 3), accepted: true},
  {name: 'ca-true-leaf', key: RSA, ext: ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,digitalSignature,keyCertSign', 'extendedKeyUsage=serverAuth', 'subjectAltName=DNS:wallaroo.example.com'], accepted: true},
  {name: 'keycertsign-only', key: RSA, ext: ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,keyCertSign', 'extendedKeyUsage=serverAuth', 'subjectAltName=DNS:wallaroo.example.com'], accepted: false},
  {name: 'client-auth-only', key: RSA, ext: ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=clientAuth', 'subjectAltName=DNS:wallaroo.example.com'], accepted: false},
  {name: 'pss-sha256', key: RSA, ext: SERVER, digest: 'sha256', sigopt: ['rsa_padding_mode:pss', 'rsa_pss_saltlen:32'], accepted: true},
  {name: 'pss-sha1', key: RSA, ext: SERVER, digest: 'sha1', sigopt: ['rsa_padding_mode:pss'], accepted: false},
  {name: 'ecdsa-p384', key: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'], ext: ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=serverAuth', 'subjectAltName=DNS:wallaroo.example.com'], accepted: true},
  {name: 'ed25519', key: ['-algorithm', 'ED25519'], ext: ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=serverAuth', 'subjectAltName=DNS:wallaroo.example.com'], accepted: true},
  {name: 'ip-sans', key: RSA, ext: [...SERVER.slice(0, 3), 'subjectAltName=IP:10.0.0.5,IP:2001:db8::1'], accepted: true},
  {name: 'expired', key: RSA, ext: SERVER, days: 10, atDays: 20, accepted: false},
  {name: 'not-yet-valid', key: RSA, ext: SERVER, atDays: -2, accepted: false},
  {name: 'long-validity', key: RSA, ext: SERVER, days: 800, accepted: true},
]

describe('path validation agrees with openssl verify -x509_strict on an openssl-made corpus', function () {
  this.timeout(180_000)
  let dir: string
  let root: {cert: string; key: string}

  before(async () => {
    dir = await makeTempDir()
    root = {cert: join(dir, 'root.crt'), key: join(dir, 'root.key')}
    await opensslOk(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', root.key, '-out', root.cert, '-days', '60', '-subj', '/CN=Corpus Root', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
  })

  const issue = async (name: string, c: Omit<Case, 'name' | 'accepted'>, ca: {cert: string; key: string}): Promise<{cert: string; key: string}> => {
    const key = join(dir, `${name}.key`)
    const csr = join(dir, `${name}.csr`)
    const cert = join(dir, `${name}.crt`)
    const ext = join(dir, `${name}.ext`)
    await opensslOk(['genpkey', ...c.key, '-out', key])
    await opensslOk(['req', '-new', '-key', key, '-out', csr, '-subj', `/CN=${name}`])
    await writeFile(ext, `${c.ext.join('\n')}\n`)
    const digest = c.digest ? [`-${c.digest}`] : []
    const sigopt = (c.sigopt ?? []).flatMap((o) => ['-sigopt', o])
    await opensslOk(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-out', cert, '-days', String(c.days ?? 30), ...digest, ...sigopt, '-extfile', ext])
    return {cert, key}
  }

  const judge = async (leaf: string, untrusted: string[], atDays = 0): Promise<{openssl: boolean; airlock: boolean; problems: string}> => {
    const at = new Date(Date.now() + atDays * 86_400_000)
    const attime = atDays === 0 ? [] : ['-attime', String(Math.floor(at.getTime() / 1000))]
    const chainFile = join(dir, `untrusted-${untrusted.length}-${Date.now()}.pem`)
    await writeFile(chainFile, (await Promise.all(untrusted.map((u) => readFile(u, 'utf8')))).join(''))
    const o = await openssl(['verify', '-x509_strict', '-auth_level', '2', '-purpose', 'sslserver', ...attime, '-CAfile', root.cert, ...(untrusted.length > 0 ? ['-untrusted', chainFile] : []), leaf])
    const parse = async (f: string) => parseCertificate(Buffer.from((await readFile(f, 'utf8')).replace(/-----[^-]+-----|\s/g, ''), 'base64'), f)
    const result = await validatePath({leaf: await parse(leaf), intermediates: await Promise.all(untrusted.map(parse)), anchors: [await parse(root.cert)], purpose: 'serverAuth', now: at})
    return {openssl: o.code === 0, airlock: result.ok, problems: result.ok ? '' : result.problems.map((p) => p.message).join('; ') + ` | openssl: ${o.stdout}${o.stderr}`}
  }

  for (const c of CASES) {
    it(`${c.name}: ${c.accepted ? 'accepted' : 'refused'} by both`, async () => {
      const leaf = await issue(c.name, c, root)
      const verdict = await judge(leaf.cert, [], c.atDays)
      assert.equal(verdict.openssl, c.accepted, `openssl: ${verdict.problems}`)
      assert.equal(verdict.airlock, c.accepted, verdict.problems)
    })
  }

  it('a chain through an intermediate: accepted; breaking the root\'s pathlen:0: refused by both', async () => {
    const caExt = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign', 'subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid']
    const inter = await issue('inter', {key: RSA, ext: caExt}, root)
    const leaf = await issue('via-inter', {key: RSA, ext: SERVER}, inter)
    const ok = await judge(leaf.cert, [inter.cert])
    assert.deepEqual([ok.openssl, ok.airlock], [true, true], ok.problems)

    const capped = await issue('capped', {key: RSA, ext: ['basicConstraints=critical,CA:TRUE,pathlen:0', ...caExt.slice(1)]}, root)
    const below = await issue('below-capped', {key: RSA, ext: caExt}, capped)
    const deep = await issue('deep', {key: RSA, ext: SERVER}, below)
    const refused = await judge(deep.cert, [below.cert, capped.cert])
    assert.deepEqual([refused.openssl, refused.airlock], [false, false], refused.problems)
  })

  it('an intermediate that is not a CA, and one without keyUsage: refused by both', async () => {
    const notCa = await issue('not-ca', {key: RSA, ext: ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature']}, root)
    const under = await issue('under-not-ca', {key: RSA, ext: SERVER}, notCa)
    const a = await judge(under.cert, [notCa.cert])
    assert.deepEqual([a.openssl, a.airlock], [false, false], a.problems)
    const noKu = await issue('no-ku', {key: RSA, ext: ['basicConstraints=critical,CA:TRUE']}, root)
    const under2 = await issue('under-no-ku', {key: RSA, ext: SERVER}, noKu)
    const b = await judge(under2.cert, [noKu.cert])
    assert.deepEqual([b.openssl, b.airlock], [false, false], b.problems)
  })
})
