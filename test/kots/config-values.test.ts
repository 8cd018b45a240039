import assert from 'node:assert/strict'
import {parse} from 'yaml'

import {parseConfigDocuments, renderConfigValues, type RenderedConfigValues} from '../../src/kots/index.js'
import {loadProfile, type LoadedProfile} from '../../src/profile/index.js'
import {AirlockError} from '../../src/ui/errors.js'
import {appConfigYaml} from './fixtures.js'

const TOGGLES = ['jupyter_mode', 'enable_alerting', 'enable_model_validation', 'enable_plateau', 'enable_model_insights']

function valuesOf(r: RenderedConfigValues): Record<string, {value?: string; valuePlaintext?: string}> {
  const doc = parse(r.yaml)
  assert.equal(doc.apiVersion, 'kots.io/v1beta1')
  assert.equal(doc.kind, 'ConfigValues')
  return doc.spec.values
}

function expectError(fn: () => unknown, code: string, subject: string | RegExp): AirlockError {
  try {
    fn()
  } catch (error) {
    assert.ok(error instanceof AirlockError, String(error))
    assert.equal(error.code, code)
    if (typeof subject === 'string') assert.equal(error.subject, subject)
    else assert.match(error.subject ?? '', subject)
    return error
  }
  assert.fail('expected an error')
}

describe('kots: ConfigValues by tier', () => {
  let profile: LoadedProfile
  before(async () => {
    profile = await loadProfile('wallaroo-2025.1')
  })

  const small = {jupyter_mode: 'single', enable_alerting: '0', enable_model_validation: '0', enable_plateau: '0', enable_model_insights: '0'}
  const full = {jupyter_mode: 'multiple', enable_alerting: '1', enable_model_validation: '1', enable_plateau: '1', enable_model_insights: '1'}
  for (const [cores, tier, expected] of [[8, 8, small], [12, 8, small], [16, 16, full], [31, 16, full], [32, 32, full], [64, 32, full]] as const) {
    it(`${cores} cores -> the ${tier}-core tier`, () => {
      const r = renderConfigValues({profile, cores, domain: 'platform.example.com'})
      assert.equal(r.tier, tier)
      assert.equal(r.cores, cores)
      const values = valuesOf(r)
      for (const [item, value] of Object.entries(expected)) assert.equal(values[item]?.value, value, item)
      const offServices = r.services.filter((s) => !s.enabled).map((s) => s.id).sort()
      assert.deepEqual(offServices, tier === 8 ? ['alerting', 'jupyter-multi', 'model-insights', 'model-validation', 'plateau'] : [])
      // every service is in the table, whether or not it has an item
      assert.equal(r.services.length, profile.profile.services.items.length)
    })
  }

  it('7 cores is an input error naming the 8-core minimum', () => {
    const error = expectError(() => renderConfigValues({profile, cores: 7, domain: 'a.example.com'}), 'INPUT_INVALID', '--cores')
    assert.equal(error.exitCode, 2)
    assert.match(error.message, /\b8 cores\b/)
  })

  it('--size takes a tier of the profile only', () => {
    assert.equal(renderConfigValues({profile, size: 16, domain: 'a.example.com'}).tier, 16)
    expectError(() => renderConfigValues({profile, size: 12, domain: 'a.example.com'}), 'USAGE', '--size')
    expectError(() => renderConfigValues({profile, domain: 'a.example.com'}), 'USAGE', '--cores')
  })

  it('booleans are "1"/"0" strings in the YAML, not numbers or YAML booleans', () => {
    const r = renderConfigValues({profile, cores: 8, domain: 'a.example.com'})
    assert.match(r.yaml, /enable_alerting:\n\s+value: "0"/)
    assert.equal(typeof valuesOf(r).enable_alerting?.value, 'string')
  })

  it('enterprise needs a domain; community does not, and writes none', () => {
    expectError(() => renderConfigValues({profile, cores: 16, edition: 'enterprise'}), 'USAGE', '--domain')
    const community = renderConfigValues({profile, cores: 16, edition: 'community'})
    assert.equal(community.edition, 'community')
    assert.equal(valuesOf(community).wallaroo_domain, undefined)
    const enterprise = renderConfigValues({profile, cores: 16, domain: 'platform.example.com'})
    assert.equal(enterprise.edition, 'enterprise', 'the profile\'s first edition is the default')
    assert.equal(valuesOf(enterprise).wallaroo_domain?.value, 'platform.example.com')
    expectError(() => renderConfigValues({profile, cores: 16, edition: 'gold', domain: 'a.example.com'}), 'USAGE', '--edition')
  })

  it('ingress mode: the profile default, a flag among the options, or an error', () => {
    assert.equal(valuesOf(renderConfigValues({profile, cores: 8, domain: 'a.example.com'})).ingress_mode?.value, 'internal')
    assert.equal(valuesOf(renderConfigValues({profile, cores: 8, domain: 'a.example.com', ingressMode: 'none'})).ingress_mode?.value, 'none')
    expectError(() => renderConfigValues({profile, cores: 8, domain: 'a.example.com', ingressMode: 'public'}), 'USAGE', '--ingress-mode')
  })

  it('--set overrides any item, normalises bool toggles and records why in the table', () => {
    const r = renderConfigValues({profile, cores: 8, domain: 'a.example.com', set: [['enable_plateau', 'true'], ['custom_item', 'x y']]})
    const values = valuesOf(r)
    assert.equal(values.enable_plateau?.value, '1')
    assert.equal(values.custom_item?.value, 'x y')
    const plateau = r.services.find((s) => s.id === 'plateau')
    assert.equal(plateau?.enabled, true)
    assert.match(plateau?.reason ?? '', /--set/)
    assert.equal(r.warnings.length, 1, 'turning on a service the tier cannot carry is warned about')
    expectError(() => renderConfigValues({profile, cores: 8, domain: 'a.example.com', set: [['enable_plateau', 'maybe']]}), 'USAGE', '--set enable_plateau')
  })

  it('without an application Config, says which items could not be checked and which names are unverified', () => {
    const r = renderConfigValues({profile, cores: 16, domain: 'a.example.com'})
    assert.deepEqual(new Set(r.unchecked), new Set(['wallaroo_domain', 'ingress_mode', ...TOGGLES]))
    assert.deepEqual(r.unverified.sort(), ['enable_alerting', 'enable_model_insights', 'enable_model_validation', 'enable_plateau'])
    assert.equal(r.checkedAgainst, undefined)
  })

  describe('--from', () => {
    const existing = `# written by hand at the site
apiVersion: kots.io/v1beta1
kind: ConfigValues
metadata:
  name: wallaroo
spec:
  values:
    wallaroo_domain:
      value: site.example.org
    ingress_mode:
      value: external
    smtp_host:
      value: mail.example.org
      default: localhost
    admin_password:
      valuePlaintext: s3cret
    enable_alerting:
      value: "1"
`
    it('keeps every unrelated value (and comments), changes only the toggles', () => {
      const r = renderConfigValues({profile, cores: 12, from: {text: existing, source: 'old.yaml'}})
      const values = valuesOf(r)
      assert.equal(values.wallaroo_domain?.value, 'site.example.org')
      assert.equal(values.ingress_mode?.value, 'external', 'the profile default does not replace a kept value')
      assert.deepEqual(values.smtp_host, {value: 'mail.example.org', default: 'localhost'})
      assert.deepEqual(values.admin_password, {valuePlaintext: 's3cret'})
      assert.equal(values.enable_alerting?.value, '0', 'a toggle follows the tier')
      assert.equal(values.jupyter_mode?.value, 'single')
      assert.match(r.yaml, /^# written by hand at the site/)
      assert.equal(r.hasSecrets, true)
      assert.equal(r.values.find((v) => v.item === 'admin_password')?.value, '(secret)', 'secrets are redacted in the summary')
    })

    it('an explicit flag still wins over the kept value', () => {
      const values = valuesOf(renderConfigValues({profile, cores: 32, from: {text: existing, source: 'old.yaml'}, domain: 'new.example.org'}))
      assert.equal(values.wallaroo_domain?.value, 'new.example.org')
      assert.equal(values.enable_plateau?.value, '1')
    })

    it('a file that is not ConfigValues is an error naming it', () => {
      expectError(() => renderConfigValues({profile, cores: 8, domain: 'a.example.com', from: {text: 'apiVersion: v1\nkind: ConfigMap\n', source: 'cm.yaml'}}), 'INPUT_INVALID', 'cm.yaml#kind')
    })
  })

  describe('--app-config', () => {
    it('a matching Config checks every item; passwords go to valuePlaintext', () => {
      const app = parseConfigDocuments(appConfigYaml(), 'config.yaml')
      assert.ok(app)
      const r = renderConfigValues({profile, cores: 16, domain: 'a.example.com', appConfig: app, set: [['admin_password', 'pw']]})
      assert.equal(r.checkedAgainst, 'config.yaml')
      assert.deepEqual(r.unchecked, [])
      assert.deepEqual(valuesOf(r).admin_password, {valuePlaintext: 'pw'})
    })

    it('an item the application does not have is an error naming it and the closest names', () => {
      const app = parseConfigDocuments(appConfigYaml({rename: {enable_plateau: 'plateau_enabled'}}), 'config.yaml')
      assert.ok(app)
      const error = expectError(() => renderConfigValues({profile, cores: 16, domain: 'a.example.com', appConfig: app}), 'INPUT_INVALID', 'spec.values.enable_plateau')
      assert.match(error.message, /plateau_enabled/)
    })

    it('a boolean toggle on a non-bool item, a value outside a select\'s options, a required item unset: all reported', () => {
      const yaml = appConfigYaml({rename: {enable_alerting: 'x_unused'}, extra: '        - {name: enable_alerting, type: text}\n        - {name: license_key, type: text, required: true}\n'})
      const app = parseConfigDocuments(yaml, 'config.yaml')
      assert.ok(app)
      const error = expectError(() => renderConfigValues({profile, cores: 16, domain: 'a.example.com', appConfig: app, set: [['ingress_mode', 'public']]}), 'INPUT_INVALID', /^spec\.values\./)
      assert.match(error.message, /enable_alerting/)
      assert.match(error.message, /ingress_mode/)
      assert.match(error.message, /license_key/)
      // the required item is satisfied by --set
      const ok = renderConfigValues({profile, cores: 16, domain: 'a.example.com', appConfig: parseConfigDocuments(appConfigYaml({extra: '        - {name: license_key, type: text, required: true}\n'}), 'c.yaml'), set: [['license_key', 'abc']]})
      assert.equal(valuesOf(ok).license_key?.value, 'abc')
    })

    it('a select toggle whose profile values are not the item\'s options is an error', () => {
      const yaml = appConfigYaml().replace('{name: multiple, title: One lab per user}', '{name: multi, title: One lab per user}')
      const app = parseConfigDocuments(yaml, 'config.yaml')
      assert.ok(app)
      const error = expectError(() => renderConfigValues({profile, cores: 8, domain: 'a.example.com', appConfig: app}), 'INPUT_INVALID', 'spec.values.jupyter_mode')
      assert.match(error.message, /multiple/)
    })
  })
})
