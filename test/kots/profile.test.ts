import assert from 'node:assert/strict'
import {readFile} from 'node:fs/promises'

import {renderConfigValues} from '../../src/kots/index.js'
import {parseProfile} from '../../src/profile/index.js'
import {AirlockError} from '../../src/ui/errors.js'

const SHIPPED = new URL('../../templates/profiles/wallaroo-2025.1.yaml', import.meta.url)

function expectProfileError(fn: () => unknown, subject: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof AirlockError, String(error))
    assert.equal(error.code, 'PROFILE_INVALID')
    assert.equal(error.exitCode, 2)
    assert.equal(error.subject, subject)
    return true
  })
}

describe('kots: the profile\'s kots section', () => {
  let text: string
  before(async () => {
    text = await readFile(SHIPPED, 'utf8')
  })

  it('the shipped profile parses and maps every toggle to a service of its table', () => {
    const loaded = parseProfile(Buffer.from(text), 'p.yaml')
    const ids = new Set(loaded.profile.services.items.map((s) => s.id))
    assert.ok(loaded.profile.kots)
    for (const t of loaded.profile.kots.services) assert.ok(ids.has(t.service), t.service)
  })

  it('a wrong type in the kots section names the field', () => {
    expectProfileError(() => parseProfile(Buffer.from(text.replace('type: select, on: multiple', 'type: radio, on: multiple')), 'p.yaml'), 'p.yaml#kots.services[0].type')
  })

  it('a bad value elsewhere names that field', () => {
    expectProfileError(() => parseProfile(Buffer.from(text.replace('minCores: 16, description: one lab per user', 'minCores: sixteen, description: one lab per user')), 'p.yaml'), 'p.yaml#services.items[3].minCores')
  })

  it('a toggle for a service not in the table is an error naming the toggle', () => {
    const loaded = parseProfile(Buffer.from(text.replace('{service: alerting, item: enable_alerting}', '{service: alertng, item: enable_alerting}')), 'p.yaml')
    expectProfileError(() => renderConfigValues({profile: loaded, size: 8, domain: 'a.example.com'}), 'p.yaml#kots.services[1].service')
  })

  it('a select toggle without its off value is an error naming it', () => {
    const loaded = parseProfile(Buffer.from(text.replace('on: multiple, off: single,', 'on: multiple,')), 'p.yaml')
    expectProfileError(() => renderConfigValues({profile: loaded, size: 8, domain: 'a.example.com'}), 'p.yaml#kots.services[0].off')
  })

  it('a profile without a kots section cannot render ConfigValues', () => {
    const loaded = parseProfile(Buffer.from(text.slice(0, text.indexOf('\nkots:'))), 'p.yaml')
    expectProfileError(() => renderConfigValues({profile: loaded, size: 8, domain: 'a.example.com'}), 'p.yaml#kots')
  })
})

describe('kots: serviceToggles, for readers of existing ConfigValues', () => {
  it('reads bool items as 1/true and select items at their on option only', async () => {
    const {serviceToggles} = await import('../../src/kots/index.js')
    const loaded = parseProfile(await readFile(SHIPPED), 'p.yaml')
    const toggles = serviceToggles(loaded.profile)
    assert.equal(toggles.get('plateau')?.isOn('1'), true)
    assert.equal(toggles.get('plateau')?.isOn('0'), false)
    assert.equal(toggles.get('jupyter-multi')?.isOn('multiple'), true)
    assert.equal(toggles.get('jupyter-multi')?.isOn('single'), false)
    assert.equal(toggles.has('inference'), false)
  })
})
