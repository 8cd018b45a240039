import assert from 'node:assert/strict'

import {parseConfigDocuments, renderConfigValues} from '../../src/kots/index.js'
import {loadProfile, type LoadedProfile} from '../../src/profile/index.js'
import {AirlockError} from '../../src/ui/errors.js'
import {appConfigYaml} from './fixtures.js'

/**
 * KOTS' own rules (replicatedhq/kots pkg/kotsadmconfig IsRequiredItem / IsUnsetItem, pkg/template
 * isReadOnly), on Config shapes as public KOTS apps write them: groups with `when`, hidden and
 * readonly items, label and radio types, templated conditions.
 */
function problems(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    assert.ok(error instanceof AirlockError, String(error))
    assert.equal(error.code, 'INPUT_INVALID')
    return error.message
  }
  return ''
}

describe('kots: ConfigValues follow KOTS rules against the application Config', () => {
  let profile: LoadedProfile
  before(async () => {
    profile = await loadProfile('wallaroo-2025.1')
  })
  const app = (extra: string) => {
    const config = parseConfigDocuments(appConfigYaml({extra}), 'config.yaml')
    assert.ok(config)
    return config
  }
  const render = (extra: string, set: [string, string][] = [], from?: string) =>
    renderConfigValues({profile, cores: 16, domain: 'a.example.com', appConfig: app(extra), set, ...(from ? {from: {text: from, source: 'old.yaml'}} : {})})

  it('a required item set to "" is unset, as a missing one is; a default of its own satisfies it', () => {
    const extra = '        - {name: license_key, type: text, required: true}\n'
    assert.match(problems(() => render(extra, [['license_key', '']])), /license_key: required .* set to "", which KOTS reads as unset/)
    assert.match(problems(() => render(extra)), /license_key: required .* and not set/)
    assert.equal(problems(() => render('        - {name: license_key, type: text, required: true, default: trial}\n', [['license_key', '']])), '')
  })

  it('hidden items, items with when "false" and items of a group whose when is false are not required', () => {
    const extra = `        - {name: hidden_key, type: text, required: true, hidden: true}
        - {name: off_key, type: text, required: true, when: "false"}
    - name: external_db
      when: "false"
      items:
        - {name: db_host, type: text, required: true}
`
    assert.equal(problems(() => render(extra)), '')
  })

  it('items under a templated group when are treated as a templated item when: not enforced', () => {
    const extra = `    - name: smtp
      when: 'repl{{ ConfigOptionEquals "enable_alerting" "1" }}'
      items:
        - {name: smtp_host, type: text, required: true}
        - {name: direct, type: text, required: true, when: '{{repl ConfigOptionEquals "ingress_mode" "external"}}'}
`
    assert.equal(problems(() => render(extra)), '')
    const config = app(extra)
    assert.equal(config.items.get('smtp_host')?.conditional, true)
  })

  it('a readonly item or a non-editable type keeps the Config value: setting it is an error saying so', () => {
    const extra = `        - {name: install_id, type: text, readonly: true, value: 'repl{{ RandomString 12 }}'}
        - {name: tier_choice, type: radio, default: a, items: [{name: a}, {name: b}]}
`
    const message = problems(() => render(extra, [['install_id', 'x'], ['tier_choice', 'b'], ['notes_heading', 'hi']]))
    assert.match(message, /install_id: it is readonly in the application's Config, so KOTS uses the Config's own value/)
    assert.match(message, /tier_choice: its type radio is not editable/)
    assert.match(message, /notes_heading: its type label is not editable/)
  })

  it('mapping a service toggle to a readonly item is an error naming the toggle', () => {
    const yaml = appConfigYaml().replace('{name: enable_plateau, type: bool, default: "1"}', '{name: enable_plateau, type: bool, default: "1", readonly: true}')
    const config = parseConfigDocuments(yaml, 'config.yaml')
    assert.ok(config)
    const message = problems(() => renderConfigValues({profile, cores: 16, domain: 'a.example.com', appConfig: config}))
    assert.match(message, /enable_plateau: it is readonly .* the profile maps the plateau service toggle to it \(kots\.services\)/)
  })

  it('a readonly value kept from an existing file is a warning, not an error', () => {
    const from = 'apiVersion: kots.io/v1beta1\nkind: ConfigValues\nmetadata: {name: wallaroo}\nspec:\n  values:\n    install_id: {value: abc}\n'
    const r = render('        - {name: install_id, type: text, readonly: true}\n', [], from)
    assert.ok(r.warnings.some((w) => /install_id: it is readonly .*kept from --from/.test(w)), r.warnings.join('\n'))
  })

  it('values not seen in a real install are labelled unverified; the ingress default says where it comes from', () => {
    const r = renderConfigValues({profile, cores: 8, domain: 'a.example.com'})
    assert.deepEqual(r.unverifiedValues, ['jupyter_mode=single'])
    assert.equal(r.values.find((v) => v.item === 'jupyter_mode')?.verified, false)
    const ingress = r.values.find((v) => v.item === 'ingress_mode')
    assert.equal(ingress?.value, 'internal')
    assert.equal(ingress?.verified, true)
    assert.match(ingress?.why ?? '', /enterprise edition's default: not published by the vendor/)
    assert.deepEqual(renderConfigValues({profile, cores: 16, domain: 'a.example.com'}).unverifiedValues, ['jupyter_mode=multiple'])
    const none = renderConfigValues({profile, cores: 16, domain: 'a.example.com', ingressMode: 'none'})
    assert.ok(none.unverifiedValues.includes('ingress_mode=none'))
  })
})
