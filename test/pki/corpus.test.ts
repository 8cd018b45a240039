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
  subject?: string
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
  {name: 'aki-critical', key: RSA, ext: [...SERVER, 'authorityKeyIdentifier=critical,keyid'], accepted: false},
  {name: 'ski-critical', key: RSA, ext: [...SERVER, 'subjectKeyIdentifier=critical,hash'], accepted: false},
  {name: 'unknown-critical', key: RSA, ext: [...SERVER, '1.3.6.1.4.1.99999.1=critical,ASN1:NULL'], accepted: false},
  {name: 'empty-subject-san-not-critical', key: RSA, ext: SERVER, subject: '/', accepted: false},
  {name: 'empty-subject-san-critical', key: RSA, ext: [...SERVER.slice(0, 3), 'subjectAltName=critical,DNS:wallaroo.example.com'], subject: '/', accepted: true},
  {name: 'rsa-exponent-3', key: [...RSA, '-pkeyopt', 'rsa_keygen_pubexp:3'], ext: SERVER, accepted: true},
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

  const issue = async (name: string, c: Omit<Case, 'name' | 'accepted'> & {subject?: string; reuseKey?: string}, ca: {cert: string; key: string}): Promise<{cert: string; key: string}> => {
    const key = c.reuseKey ?? join(dir, `${name}.key`)
    const csr = join(dir, `${name}.csr`)
    const cert = join(dir, `${name}.crt`)
    const ext = join(dir, `${name}.ext`)
    if (!c.reuseKey) await opensslOk(['genpkey', ...c.key, '-out', key])
    await opensslOk(['req', '-new', '-key', key, '-out', csr, '-subj', c.subject ?? `/CN=${name}`])
    await writeFile(ext, `${c.ext.join('\n')}\n`)
    const digest = c.digest ? [`-${c.digest}`] : []
    const sigopt = (c.sigopt ?? []).flatMap((o) => ['-sigopt', o])
    await opensslOk(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-out', cert, '-days', String(c.days ?? 30), ...digest, ...sigopt, '-extfile', ext])
    return {cert, key}
  }

  const judge = async (leaf: string, untrusted: string[], atDays = 0, purpose: 'serverAuth' | 'codeSigning' = 'serverAuth'): Promise<{openssl: boolean; airlock: boolean; problems: string}> => {
    const at = new Date(Date.now() + atDays * 86_400_000)
    const attime = atDays === 0 ? [] : ['-attime', String(Math.floor(at.getTime() / 1000))]
    const chainFile = join(dir, `untrusted-${untrusted.length}-${Date.now()}.pem`)
    await writeFile(chainFile, (await Promise.all(untrusted.map((u) => readFile(u, 'utf8')))).join(''))
    const o = await openssl(['verify', '-x509_strict', '-auth_level', '2', '-purpose', purpose === 'serverAuth' ? 'sslserver' : 'any', ...attime, '-CAfile', root.cert, ...(untrusted.length > 0 ? ['-untrusted', chainFile] : []), leaf])
    const parse = async (f: string) => parseCertificate(Buffer.from((await readFile(f, 'utf8')).replace(/-----[^-]+-----|\s/g, ''), 'base64'), f)
    const result = await validatePath({leaf: await parse(leaf), intermediates: await Promise.all(untrusted.map(parse)), anchors: [await parse(root.cert)], purpose, now: at})
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

  const CA_EXT = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign', 'subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid']

  it('cross-signed CAs: a cycle among the untrusted certificates, or a copy whose issuer is missing, never hides the path to the root', async () => {
    // X and Y sign each other; X is also signed by the root. The leaf's chain file carries all of it.
    const y0 = await issue('cross-y0', {key: RSA, ext: CA_EXT, subject: '/CN=Cross Y'}, root)
    const x = await issue('cross-x', {key: RSA, ext: CA_EXT, subject: '/CN=Cross X'}, y0)
    const y = await issue('cross-y', {key: RSA, ext: CA_EXT, subject: '/CN=Cross Y', reuseKey: y0.key}, x)
    const xByRoot = await issue('cross-x-root', {key: RSA, ext: CA_EXT, subject: '/CN=Cross X', reuseKey: x.key}, root)
    const leaf = await issue('cross-leaf', {key: RSA, ext: SERVER}, x)
    // a copy of Y whose issuer (a CA nobody gave) is missing: a dead end on the way
    const stranger = await issue('cross-stranger', {key: RSA, ext: CA_EXT, subject: '/CN=Stranger'}, root)
    const yOrphan = await issue('cross-y-orphan', {key: RSA, ext: CA_EXT, subject: '/CN=Cross Y', reuseKey: y0.key}, stranger)
    const accepted = await judge(leaf.cert, [x.cert, y.cert, xByRoot.cert])
    assert.deepEqual([accepted.openssl, accepted.airlock], [true, true], accepted.problems)
    // RFC 5280 6.1: valid when one path is. openssl 3.0 stops at the first dead end it meets (the orphan
    // listed first); airlock keeps looking, as Go and browsers do, and finds the same path through xByRoot
    const orphanFirst = await judge(leaf.cert, [yOrphan.cert, x.cert, y.cert, xByRoot.cert])
    assert.equal(orphanFirst.airlock, true, orphanFirst.problems)
    const orphanLast = await judge(leaf.cert, [x.cert, y.cert, xByRoot.cert, yOrphan.cert])
    assert.deepEqual([orphanLast.openssl, orphanLast.airlock], [true, true], orphanLast.problems)
    // without the root's signature on X, the cycle leads nowhere: both refuse, and airlock says where it ends
    const refused = await judge(leaf.cert, [x.cert, y.cert])
    assert.deepEqual([refused.openssl, refused.airlock], [false, false], refused.problems)
    assert.match(refused.problems, /does not chain to a trusted anchor/)
  })

  it('an expired intermediate under a valid leaf: refused by both, naming the intermediate', async () => {
    const inter = await issue('short-inter', {key: RSA, ext: CA_EXT, days: 2}, root)
    const leaf = await issue('under-short', {key: RSA, ext: SERVER, days: 20}, inter)
    const verdict = await judge(leaf.cert, [inter.cert], 5)
    assert.deepEqual([verdict.openssl, verdict.airlock], [false, false], verdict.problems)
    assert.match(verdict.problems, /"CN=short-inter" is not valid now/)
  })

  it('the root also in the chain file, and extra unrelated certificates: accepted by both', async () => {
    const inter = await issue('extra-inter', {key: RSA, ext: CA_EXT}, root)
    const other = await issue('extra-other', {key: RSA, ext: CA_EXT}, root)
    const leaf = await issue('extra-leaf', {key: RSA, ext: SERVER}, inter)
    const verdict = await judge(leaf.cert, [other.cert, root.cert, inter.cert])
    assert.deepEqual([verdict.openssl, verdict.airlock], [true, true], verdict.problems)
  })

  it('nameConstraints: a SAN outside the permitted subtree, an excluded IP, and a CN-only leaf outside it: refused by both', async () => {
    const nc = await issue('nc-ca', {key: RSA, ext: [...CA_EXT, 'nameConstraints=critical,permitted;DNS:.corp.example,excluded;IP:10.0.0.0/255.0.0.0']}, root)
    const base = SERVER.slice(0, 3)
    const inside = await issue('nc-inside', {key: RSA, ext: [...base, 'subjectAltName=DNS:wallaroo.corp.example']}, nc)
    const outside = await issue('nc-outside', {key: RSA, ext: SERVER}, nc)
    const ip = await issue('nc-ip', {key: RSA, ext: [...base, 'subjectAltName=DNS:wallaroo.corp.example,IP:10.1.2.3']}, nc)
    const cnOnly = await issue('nc-cn', {key: RSA, ext: base, subject: '/CN=evil.example.com'}, nc)
    const cnInside = await issue('nc-cn-inside', {key: RSA, ext: base, subject: '/CN=wallaroo.corp.example'}, nc)
    for (const [leaf, accepted] of [[inside, true], [outside, false], [ip, false], [cnOnly, false], [cnInside, true]] as const) {
      const verdict = await judge(leaf.cert, [nc.cert])
      assert.deepEqual([verdict.openssl, verdict.airlock], [accepted, accepted], `${leaf.cert}: ${verdict.problems}`)
    }
    const cn = await judge(cnOnly.cert, [nc.cert])
    assert.match(cn.problems, /its CN evil\.example\.com is outside the names "CN=nc-ca" permits/)
  })

  it('a CA restricted by EKU: clientAuth only refuses a server leaf (both); serverAuth only refuses a signer leaf', async () => {
    const clientCa = await issue('eku-client-ca', {key: RSA, ext: [...CA_EXT, 'extendedKeyUsage=clientAuth']}, root)
    const server = await issue('eku-server', {key: RSA, ext: SERVER}, clientCa)
    const a = await judge(server.cert, [clientCa.cert])
    assert.deepEqual([a.openssl, a.airlock], [false, false], a.problems)
    // openssl 3.0 has no code-signing purpose to check CAs for; airlock holds a TLS-only CA to its restriction
    const tlsCa = await issue('eku-tls-ca', {key: RSA, ext: [...CA_EXT, 'extendedKeyUsage=serverAuth']}, root)
    const signerExt = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=codeSigning', 'subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid']
    const signer = await issue('eku-signer', {key: RSA, ext: signerExt}, tlsCa)
    const b = await judge(signer.cert, [tlsCa.cert], 0, 'codeSigning')
    assert.equal(b.airlock, false)
    assert.match(b.problems, /"CN=eku-tls-ca" is a CA restricted by extendedKeyUsage to serverAuth/)
    const anyCa = await issue('eku-any-ca', {key: RSA, ext: [...CA_EXT, 'extendedKeyUsage=anyExtendedKeyUsage']}, root)
    const signer2 = await issue('eku-signer-any', {key: RSA, ext: signerExt}, anyCa)
    const c = await judge(signer2.cert, [anyCa.cert], 0, 'codeSigning')
    assert.deepEqual([c.openssl, c.airlock], [true, true], c.problems)
  })

  it('an EC key with explicit curve parameters: refused by both', async () => {
    const named = join(dir, 'explicit-named.key')
    const key = join(dir, 'explicit.key')
    await opensslOk(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', named])
    await opensslOk(['ec', '-in', named, '-param_enc', 'explicit', '-out', key])
    const csr = join(dir, 'explicit.csr')
    const cert = join(dir, 'explicit.crt')
    const ext = join(dir, 'explicit.ext')
    await opensslOk(['req', '-new', '-key', key, '-out', csr, '-subj', '/CN=explicit'])
    await writeFile(ext, `${SERVER.join('\n')}\n`)
    await opensslOk(['x509', '-req', '-in', csr, '-CA', root.cert, '-CAkey', root.key, '-out', cert, '-days', '30', '-extfile', ext])
    const verdict = await judge(cert, [])
    assert.deepEqual([verdict.openssl, verdict.airlock], [false, false], verdict.problems)
    assert.match(verdict.problems, /explicit/)
  })

  it('an intermediate given as the only anchor: refused by both, as Node and Python refuse it (no partial chains); with its root too: accepted', async () => {
    const inter = await issue('anchor-inter', {key: RSA, ext: ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign', 'subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid']}, root)
    const leaf = await issue('under-anchor-inter', {key: RSA, ext: SERVER}, inter)
    const o = await openssl(['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', inter.cert, leaf.cert])
    const parse = async (f: string) => parseCertificate(Buffer.from((await readFile(f, 'utf8')).replace(/-----[^-]+-----|\s/g, ''), 'base64'), f)
    const alone = await validatePath({leaf: await parse(leaf.cert), intermediates: [], anchors: [await parse(inter.cert)], purpose: 'serverAuth'})
    assert.deepEqual([o.code === 0, alone.ok], [false, false])
    assert.match(alone.ok ? '' : alone.problems[0]?.message ?? '', /"CN=anchor-inter", which is trusted but is an intermediate CA, not a root/)
    const both = await validatePath({leaf: await parse(leaf.cert), intermediates: [], anchors: [await parse(inter.cert), await parse(root.cert)], purpose: 'serverAuth'})
    assert.equal(both.ok, true)
  })
})
