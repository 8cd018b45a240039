import assert from 'node:assert/strict'

import {parseConfigDocuments, renderConfigValues} from '../../src/kots/index.js'
import {loadProfile, type LoadedProfile} from '../../src/profile/index.js'
import {evaluateWhen} from '../../src/kots/when.js'
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

  it('a templated group or item when is evaluated against the values, as KOTS renders it: required only where it holds', () => {
    const extra = `    - name: smtp
      when: 'repl{{ ConfigOptionEquals "enable_alerting" "1" }}'
      items:
        - {name: smtp_host, type: text, required: true}
        - {name: direct, type: text, required: true, when: '{{repl ConfigOptionEquals "ingress_mode" "external"}}'}
        - {name: not_internal, type: text, required: true, when: 'repl{{ not (ConfigOptionEquals "ingress_mode" "internal") }}'}
        - {name: both, type: text, required: true, when: 'repl{{ and (ConfigOptionEquals "ingress_mode" "internal") (eq (ConfigOption "jupyter_mode") "multiple") }}'}
`
    // 16 cores: alerting on, so the smtp group holds; ingress internal and jupyter multiple
    const at16 = problems(() => render(extra))
    assert.match(at16, /smtp_host: required by the application \(group smtp, since repl\{\{ ConfigOptionEquals "enable_alerting" "1" \}\} holds\) and not set/)
    assert.match(at16, /both: required/)
    assert.doesNotMatch(at16, /direct:|not_internal:/)
    // 8 cores: alerting off, so nothing in the group is asked for
    const at8 = () => renderConfigValues({profile, cores: 8, domain: 'a.example.com', appConfig: app(extra)})
    assert.equal(problems(at8), '')
    // --set turns the condition on again
    assert.match(problems(() => render(extra, [['ingress_mode', 'external'], ['smtp_host', 'mail.example.com'], ['both', 'x']])), /direct: required.*\n.*not_internal: required/)
    assert.equal(app(extra).items.get('smtp_host')?.conditional, true)
  })

  it('a when that cannot be evaluated here is a warning naming the item and the condition, not a silent pass', () => {
    const extra = '        - {name: license_seat, type: text, required: true, when: \'repl{{ LicenseFieldValue "isSeatLicense" }}\'}\n'
    const r = render(extra)
    assert.ok(r.warnings.some((w) => /^license_seat: required when repl\{\{ LicenseFieldValue "isSeatLicense" \}\} holds, which cannot be evaluated here/.test(w)), r.warnings.join('\n'))
  })

  it('the Config\'s own value satisfies a required item only while the ConfigValues leave it alone; a ConfigValues default does not count', () => {
    const extra = '        - {name: api_url, type: text, required: true, value: "https://api.example.com"}\n        - {name: seed, type: text, required: true}\n'
    assert.equal(problems(() => render(extra, [['seed', 's']])), '')
    assert.match(problems(() => render(extra, [['seed', 's'], ['api_url', '']])), /api_url: required .* set to "", which replaces the Config's own value: KOTS reads it as unset/)
    // KOTS reads the Config's default, never the default key of a ConfigValues entry
    const from = 'apiVersion: kots.io/v1beta1\nkind: ConfigValues\nmetadata: {name: wallaroo}\nspec:\n  values:\n    seed: {value: "", default: guessed}\n'
    assert.match(problems(() => render(extra, [], from)), /seed: required .* set to "", which KOTS reads as unset/)
  })

  it('repeatable items: instances name their item in repeatableItem; a required one is set by any instance or by the Config\'s valuesByGroup', () => {
    const extra = `    - name: ports_group
      items:
        - name: serviceport
          type: text
          required: true
          repeatable: true
          templates: [{apiVersion: v1, kind: Service, name: my-service, yamlPath: 'spec.ports[0]'}]
`
    const values = (entries: string) => `apiVersion: kots.io/v1beta1\nkind: ConfigValues\nmetadata: {name: wallaroo}\nspec:\n  values:\n${entries}`
    assert.match(problems(() => render(extra)), /serviceport: required .* a repeatable item with no entries/)
    assert.equal(problems(() => render(extra, [], values('    serviceport-8jdn2bgd: {repeatableItem: serviceport, value: "443"}\n'))), '')
    assert.match(problems(() => render(extra, [], values('    port-x: {repeatableItem: serviceprot, value: "443"}\n'))), /port-x \(kept from --from\): an entry of repeatableItem serviceprot, which is no item/)
    const withDefaults = `${extra}          valuesByGroup:\n            ports_group:\n              port-default-1: "80"\n`
    assert.equal(problems(() => render(withDefaults)), '')
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

describe('kots: Config shapes of public KOTS apps', () => {
  let profile: LoadedProfile
  before(async () => {
    profile = await loadProfile('wallaroo-2025.1')
  })
  const render = (extra: string, set: [string, string][] = [], from?: string) => {
    const config = parseConfigDocuments(appConfigYaml({extra}), 'config.yaml')
    assert.ok(config)
    return renderConfigValues({profile, cores: 16, domain: 'a.example.com', appConfig: config, set, ...(from ? {from: {text: from, source: 'old.yaml'}} : {})})
  }

  it('a setup group as KOTS\' own test apps write it: required with a default passes, required without one is named, as KOTS\' needs-config does', () => {
    const extra = `    - name: setup
      title: Setup
      items:
        - name: hostname
          title: Hostname
          type: text
          help_text: |
            The name users reach the application by.
          required: true
        - name: container_backend
          title: Container Backend
          type: text
          default: containerd
          required: true
        - name: unset_required_config_item
          title: Unset Required Config Item
          type: text
          required: true
`
    const message = problems(() => render(extra, [['hostname', 'app.example.com']]))
    assert.match(message, /unset_required_config_item: required by the application \(group setup\) and not set/)
    assert.doesNotMatch(message, /hostname|container_backend/)
    assert.equal(problems(() => render(extra, [['hostname', 'app.example.com'], ['unset_required_config_item', 'x']])), '')
  })

  it('a starter-style Config: inputs shown by a bool (default "0"), a readonly RandomString, hidden generated passwords', () => {
    const extra = `    - name: example_settings
      title: My Example Config
      items:
        - name: show_text_inputs
          title: Customize Text Inputs
          type: bool
          default: "0"
          recommended: true
        - name: api_token
          title: API token
          type: password
          required: true
          props: {rows: 5}
          when: repl{{ ConfigOptionEquals "show_text_inputs" "1" }}
        - name: readonly_text_left
          type: text
          value: "{{repl RandomString 10}}"
          readonly: true
          when: repl{{ ConfigOptionEquals "show_text_inputs" "1" }}
        - name: hidden_text
          title: Secret Key
          type: password
          hidden: true
          required: true
          value: "{{repl RandomString 40}}"
`
    // the bool's default is "0": the token is not shown, so not required
    assert.equal(problems(() => render(extra)), '')
    // switched on, KOTS asks for the token before it deploys
    assert.match(problems(() => render(extra, [['show_text_inputs', '1']])), /api_token: required by the application \(group example_settings, since repl\{\{ ConfigOptionEquals "show_text_inputs" "1" \}\} holds\) and not set/)
    const done = render(extra, [['show_text_inputs', '1'], ['api_token', 's3cret']])
    assert.equal(done.values.find((v) => v.item === 'api_token')?.secret, true)
    assert.match(problems(() => render(extra, [['readonly_text_left', 'mine']])), /readonly_text_left: it is readonly/)
  })
})

describe('kots: when conditions rendered as KOTS renders them', () => {
  const values: Record<string, string | null> = {show_text_inputs: '1', db_type: 'external', license_field: null}
  const lookup = (name: string) => (name in values ? values[name] : undefined)

  it('evaluates both delimiters, ConfigOptionEquals/NotEquals, eq/ne on ConfigOption, and/or/not, literals', () => {
    const cases: [unknown, string][] = [
      [undefined, 'true'],
      [false, 'false'],
      ['false', 'false'],
      ['true', 'true'],
      ['repl{{ ConfigOptionEquals "show_text_inputs" "1" }}', 'true'],
      ['{{repl ConfigOptionEquals "show_text_inputs" "0"}}', 'false'],
      ['repl{{ ConfigOptionNotEquals "db_type" "embedded" }}', 'true'],
      ['repl{{ eq "external" (ConfigOption "db_type") }}', 'true'],
      ['repl{{ ne (ConfigOption `db_type`) "external" }}', 'false'],
      ['repl{{ or (ConfigOptionEquals "db_type" "embedded") (ConfigOptionEquals "show_text_inputs" "1") }}', 'true'],
      ['repl{{ and (ConfigOptionEquals "db_type" "external") (not (ConfigOptionEquals "show_text_inputs" "1")) }}', 'false'],
      // KOTS: an item that does not exist makes both functions false
      ['repl{{ ConfigOptionEquals "no_such_item" "1" }}', 'false'],
      ['repl{{ ConfigOptionNotEquals "no_such_item" "1" }}', 'false'],
    ]
    for (const [when, expected] of cases) assert.equal(evaluateWhen(when, lookup), expected, String(when))
  })

  it('anything it cannot render is undecided, never a guess', () => {
    for (const when of ['repl{{ LicenseFieldValue "isSeatLicense" }}', 'repl{{ ConfigOptionEquals "license_field" "1" }}', 'repl{{ ConfigOption "db_type" | eq "external" }}', 'x repl{{ ConfigOptionEquals "db_type" "external" }}', 'repl{{ ConfigOptionEquals "db_type" }}']) {
      assert.equal(evaluateWhen(when, lookup), 'undecided', when)
    }
  })
})
