import assert from 'node:assert/strict'

import {parseQuantity, QuantityError} from '../../src/cluster/quantity.js'
import {parseConfigValues} from '../../src/kots/index.js'
import {parseConfigDocuments} from '../../src/kots/app-config.js'
import {parseProfile} from '../../src/profile/index.js'
import {parseSpec} from '../../src/spec/load.js'
import {AirlockError} from '../../src/ui/errors.js'

/** A "billion laughs" document: nine aliases per level, seven levels; without a cap it expands to 9^7 nodes. */
function aliasBomb(prefix = ''): string {
  const lines = [`${prefix}a: &a ["x","x","x","x","x","x","x","x","x"]`]
  const names = 'abcdefg'
  for (let i = 1; i < names.length; i++) lines.push(`${prefix}${names[i]}: &${names[i]} [${Array(9).fill(`*${names[i - 1]}`).join(',')}]`)
  return `${lines.join('\n')}\n`
}

function refuses(fn: () => unknown, code: string, message: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof AirlockError && e.code === code && message.test(e.message))
}

describe('malformed input is a documented error', () => {
  const spec = 'apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: t, version: 1.0.0}\nspec:\n  files:\n    - {source: ./a.txt, as: a.txt}\n'

  it('refuses YAML alias bombs in a spec, a --set value, ConfigValues, an app Config and requirements', () => {
    refuses(() => parseSpec(`${spec}${aliasBomb('x')}`, 'spec.yaml'), 'SPEC_INVALID', /alias/)
    const flowBomb = `{${aliasBomb().trim().split('\n').join(', ')}}`
    refuses(() => parseSpec(spec, 'spec.yaml', {'kots.cores': flowBomb}), 'USAGE', /--set kots\.cores.*alias/)
    refuses(() => parseConfigValues(`apiVersion: kots.io/v1beta1\nkind: ConfigValues\n${aliasBomb()}`, 'cv.yaml'), 'INPUT_INVALID', /alias/)
    refuses(() => parseConfigDocuments(`apiVersion: kots.io/v1beta1\nkind: Config\n${aliasBomb()}`, 'app.airgap!config.yaml'), 'INPUT_INVALID', /alias/)
    refuses(() => parseProfile(Buffer.from(aliasBomb()), 'requirements.yaml'), 'PROFILE_INVALID', /alias/)
  })

  it('refuses invalid YAML in a --set value with exit 2, naming the key', () => {
    try {
      parseSpec(spec, 'spec.yaml', {'kots.cores': '[1, {a'})
      assert.fail('accepted')
    } catch (error) {
      assert.ok(error instanceof AirlockError)
      assert.equal(error.code, 'USAGE')
      assert.equal(error.exitCode, 2)
      assert.match(error.message, /--set kots\.cores.*not valid YAML/)
    }
  })

  it('refuses quantities no Kubernetes Quantity can hold', () => {
    for (const bad of ['1e400', '-4', '-0.5', '99999999999Ei', '1e30', `${'9'.repeat(30)}`]) assert.throws(() => parseQuantity(bad), QuantityError, bad)
    assert.equal(parseQuantity('16Gi'), 16 * 2 ** 30)
    assert.equal(parseQuantity('3920m'), 3.92)
    assert.equal(parseQuantity('4Pi'), 4 * 2 ** 50)
  })
})
