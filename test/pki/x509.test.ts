import {strict as assert} from 'node:assert'

import {namedBits, toDer, unsignedInteger} from '../../src/pki/asn1.js'
import {validityWindow} from '../../src/pki/issue.js'
import {parseSubject} from '../../src/pki/name.js'
import {randomSerial} from '../../src/pki/assemble.js'
import {collectSans, hostMatches, ipBytes, ipToString} from '../../src/pki/san.js'
import {AirlockError} from '../../src/ui/errors.js'

describe('pki building blocks', () => {
  it('collectSans: the domain first, IPs as IP SANs, duplicates once, junk refused naming the field', () => {
    assert.deepEqual(collectSans('Wallaroo.Example.com', ['api.example.com', '10.0.0.5', 'wallaroo.example.com', '::1', '*.apps.example.com']), {dns: ['wallaroo.example.com', 'api.example.com', '*.apps.example.com'], ip: ['10.0.0.5', '::1'], other: []})
    assert.throws(() => collectSans('wallaroo.example.com', ['bad_name!']), (e: AirlockError) => e.code === 'USAGE' && e.subject === '--san')
    assert.throws(() => collectSans('*.example.com', []), (e: AirlockError) => e.subject === '--domain', 'the domain itself is never a wildcard')
    assert.throws(() => collectSans('x.example.com', ['-bad.example.com'], 'spec.tls.sans'), (e: AirlockError) => e.subject === 'spec.tls.sans')
  })

  it('collectSans refuses what no careful CA signs: *, *.tld, partial wildcards, numeric TLDs; accepts DNS:/IP: prefixes', () => {
    for (const bad of ['*', 'DNS:*', '*.com', '*.local', 'a*.example.com', '*.*.example.com', 'host.123', 'a..example.com', 'x'.repeat(64) + '.example.com']) {
      assert.throws(() => collectSans('wallaroo.example.com', [bad]), (e: AirlockError) => e.code === 'USAGE' && e.subject === '--san', bad)
    }
    assert.deepEqual(collectSans('wallaroo.example.com', ['DNS:api.example.com', 'IP:10.0.0.7']), {dns: ['wallaroo.example.com', 'api.example.com'], ip: ['10.0.0.7'], other: []})
  })

  it('IPv6 round-trips through its 16 bytes', () => {
    assert.equal(ipBytes('2001:db8::1').toString('hex'), '20010db8000000000000000000000001')
    assert.equal(ipToString(ipBytes('2001:db8::1')), '2001:db8::1')
    assert.equal(ipToString(ipBytes('10.1.2.3')), '10.1.2.3')
  })

  it('IPv6 prints in RFC 5952 form: the longest zero run shortened, a single zero group kept, lower case', () => {
    assert.equal(ipToString(ipBytes('2001:0DB8:0:0:1:0:0:1')), '2001:db8::1:0:0:1')
    assert.equal(ipToString(ipBytes('2001:db8:0:1:1:1:1:1')), '2001:db8:0:1:1:1:1:1')
    assert.equal(ipToString(ipBytes('2001:db8:0:0:1:0:0:0')), '2001:db8:0:0:1::')
    assert.equal(ipToString(ipBytes('0:0:0:0:0:0:0:0')), '::')
    assert.equal(ipToString(ipBytes('fe80:0:0:0:0:0:0:1')), 'fe80::1')
    assert.equal(ipToString(ipBytes('1:0:0:2:0:0:0:3')), '1:0:0:2::3')
    assert.equal(ipToString(ipBytes('0:0:0:0:0:FFFF:C000:0201')), '::ffff:192.0.2.1', 'IPv4-mapped keeps the IPv4 part dotted (RFC 5952 5)')
    assert.equal(ipToString(ipBytes('::ffff:10.0.0.5')), '::ffff:10.0.0.5')
  })

  it('hostMatches: a wildcard covers exactly one label', () => {
    assert.ok(hostMatches('*.example.com', 'a.example.com'))
    assert.ok(!hostMatches('*.example.com', 'a.b.example.com'))
    assert.ok(!hostMatches('*.example.com', 'example.com'))
    assert.ok(hostMatches('Wallaroo.example.com', 'wallaroo.example.com.'), 'an absolute host name matches')
    assert.ok(!hostMatches('wallaroo.example.com.', 'wallaroo.example.com'), 'a certificate name ending with a dot matches nothing in openssl and Python')
    assert.ok(!hostMatches('*.com', 'example.com'), 'a wildcard over a top-level domain matches nothing')
    assert.ok(!hostMatches('*', 'localhost'))
    assert.ok(!hostMatches('f*.example.com', 'foo.example.com'))
  })

  it('serials are positive DER INTEGERs of 128 random bits', () => {
    for (let i = 0; i < 200; i++) {
      const der = toDer(unsignedInteger(randomSerial()))
      assert.equal(der[0], 0x02)
      assert.ok((der[2] ?? 0) < 0x80, 'positive')
      assert.ok(der[1] === 16 || der[1] === 17 || (der[1] ?? 0) < 16)
      if (der[1] === 17) assert.equal(der[2], 0, 'a leading zero only to keep the sign')
    }
  })

  it('keyUsage named bits are minimal DER', () => {
    assert.equal(toDer(namedBits([0, 2])).toString('hex'), '030205a0') // digitalSignature, keyEncipherment
    assert.equal(toDer(namedBits([5, 6])).toString('hex'), '03020106') // keyCertSign, cRLSign
    assert.equal(toDer(namedBits([0])).toString('hex'), '03020780')
  })

  it('validity: starts 5 minutes back, lasts exactly the days asked (both ends inclusive)', () => {
    const now = new Date('2025-03-01T12:00:00.500Z')
    const {notBefore, notAfter} = validityWindow(now, 397)
    assert.equal(notBefore.toISOString(), '2025-03-01T11:55:00.000Z')
    assert.equal((notAfter.getTime() - notBefore.getTime() + 1000) / 86_400_000, 397)
  })

  it('parseSubject: KEY=VALUE pairs, escaped commas, no CN, two-letter C', () => {
    assert.deepEqual(parseSubject('O=Acme\\, Inc,OU=Platform,C=US'), [{type: 'O', value: 'Acme, Inc'}, {type: 'OU', value: 'Platform'}, {type: 'C', value: 'US'}])
    assert.throws(() => parseSubject('CN=x'), (e: AirlockError) => e.subject === '--subject')
    assert.throws(() => parseSubject('C=USA'), (e: AirlockError) => e.subject === '--subject')
    assert.throws(() => parseSubject('X=1', 'spec.tls.subject'), (e: AirlockError) => e.subject === 'spec.tls.subject')
  })
})
