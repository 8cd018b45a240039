import {strict as assert} from 'node:assert'

import {parseQuantity, QuantityError} from '../../src/cluster/quantity.js'
import {compareVersions, parseRuntime, parseVersion} from '../../src/cluster/version.js'

describe('cluster quantities', () => {
  const cases: [string, number][] = [
    ['16302084Ki', 16302084 * 1024],
    ['15.5Gi', 15.5 * 2 ** 30],
    ['3920m', 3.92],
    ['16G', 16e9],
    ['4', 4],
    ['110', 110],
    ['76224326324', 76224326324],
    ['1e3', 1000],
    ['1E-3', 0.001],
    ['500M', 5e8],
    ['2Ti', 2 * 2 ** 40],
    ['0.5', 0.5],
    ['.5Gi', 2 ** 29],
    ['100k', 1e5],
    ['250u', 0.00025],
    ['1Pi', 2 ** 50],
  ]
  for (const [text, value] of cases) {
    it(`reads ${text}`, () => {
      assert.ok(Math.abs(parseQuantity(text) - value) <= Math.abs(value) * 1e-12, `${text} -> ${parseQuantity(text)}`)
    })
  }

  it('keeps decimal and binary suffixes apart: 16G is not 16Gi', () => {
    assert.equal(parseQuantity('16G'), 16_000_000_000)
    assert.equal(parseQuantity('16Gi'), 17_179_869_184)
  })

  it('sums millicores without drift', () => {
    assert.equal(Math.round(['3920m', '3920m', '3920m', '3920m'].reduce((s, q) => s + parseQuantity(q) * 1000, 0)), 15680)
  })

  for (const bad of ['', 'Gi', '16 Gi', '16gb', '16GB', '1.2.3', '16Kib', '--1', 'abc']) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      assert.throws(() => parseQuantity(bad), QuantityError)
    })
  }
})

describe('cluster version strings', () => {
  it('reads every distribution form', () => {
    for (const [text, v] of [
      ['v1.31.4-eks-2d5f260', '1.31.4'],
      ['v1.30.5-gke.1014001', '1.30.5'],
      ['v1.31.2+k3s1', '1.31.2'],
      ['v1.30.6+rke2r1', '1.30.6'],
      ['4.18.3', '4.18.3'],
      ['v1.29', '1.29.0'],
    ] as const) {
      const p = parseVersion(text)
      assert.deepEqual(p && `${p.major}.${p.minor}.${p.patch}`, v)
    }
    assert.equal(parseVersion('latest'), undefined)
  })

  it('compares numerically, not as text', () => {
    assert.ok(compareVersions(parseVersion('1.10.0')!, parseVersion('1.9.9')!) > 0)
    assert.equal(compareVersions(parseVersion('v1.31.0-eks-1')!, parseVersion('1.31')!), 0)
  })

  it('splits runtime URIs', () => {
    assert.deepEqual(parseRuntime('containerd://1.7.23'), {name: 'containerd', version: '1.7.23'})
    assert.deepEqual(parseRuntime('cri-o://1.31.6-3.rhaos4.18.git5ea4bf4.el9'), {name: 'cri-o', version: '1.31.6-3.rhaos4.18.git5ea4bf4.el9'})
    assert.equal(parseRuntime('docker'), undefined)
  })
})
