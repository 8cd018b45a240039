import assert from 'node:assert/strict'
import {readFile, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {parse} from 'yaml'

import {runCli, withTempDir} from '../support/cli.js'
import {appConfigYaml, writeAirgap} from './fixtures.js'

describe('cli: kots config', () => {
  it('7 cores exits 2 with INPUT_INVALID on --cores', async () => {
    const r = await runCli(['kots', 'config', '--cores', '7', '--domain', 'a.example.com', '--json'])
    assert.equal(r.code, 2, r.stderr)
    assert.equal(r.json?.error?.code, 'INPUT_INVALID')
    assert.equal(r.json?.error?.subject, '--cores')
    assert.match(r.json?.error?.message, /\b8\b/)
  })

  it('12 cores writes the 8-core tier file and prints the services table', () =>
    withTempDir(async (dir) => {
      const out = join(dir, 'cv.yaml')
      const r = await runCli(['kots', 'config', '--cores', '12', '--domain', 'a.example.com', '--out', out])
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /Plateau\s+off\s+enable_plateau=0/)
      assert.match(r.stdout, /Inference\s+on/)
      assert.match(r.stderr, /not checked/)
      const doc = parse(await readFile(out, 'utf8'))
      assert.equal(doc.spec.values.enable_plateau.value, '0')
      assert.equal((await stat(out)).mode & 0o777, 0o644)
    }))

  it('--json: tier, edition, services; without --out the YAML is the only stdout otherwise', async () => {
    const r = await runCli(['kots', 'config', '--size', '32', '--edition', 'community', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.tier, 32)
    assert.equal(r.json.edition, 'community')
    assert.ok(r.json.services.every((s: {enabled: boolean}) => s.enabled))
    assert.equal(r.json.yaml, undefined)
    const plain = await runCli(['kots', 'config', '--size', '16', '--edition', 'community'])
    assert.equal(parse(plain.stdout).kind, 'ConfigValues')
  })

  it('--from FILE --out FILE updates in place and keeps unrelated values; a password makes it 0600', () =>
    withTempDir(async (dir) => {
      const file = join(dir, 'cv.yaml')
      await writeFile(file, 'apiVersion: kots.io/v1beta1\nkind: ConfigValues\nmetadata: {name: wallaroo}\nspec:\n  values:\n    wallaroo_domain: {value: site.example.org}\n    smtp_host: {value: mail.example.org}\n    db_password: {valuePlaintext: pw}\n')
      const r = await runCli(['kots', 'config', '--cores', '64', '--from', file, '--out', file, '--json'])
      assert.equal(r.code, 0, r.stderr)
      const values = parse(await readFile(file, 'utf8')).spec.values
      assert.equal(values.smtp_host.value, 'mail.example.org')
      assert.equal(values.wallaroo_domain.value, 'site.example.org')
      assert.equal(values.db_password.valuePlaintext, 'pw')
      assert.equal(values.enable_model_insights.value, '1')
      assert.equal((await stat(file)).mode & 0o777, 0o600)
      assert.ok(!JSON.stringify(r.json).includes('"pw"'), 'no secret in --json')
    }))

  it('an existing --out is not replaced without --force', () =>
    withTempDir(async (dir) => {
      const out = join(dir, 'cv.yaml')
      await writeFile(out, 'x')
      const r = await runCli(['kots', 'config', '--size', '8', '--domain', 'a.example.com', '--out', out, '--json'])
      assert.equal(r.code, 2)
      assert.equal(r.json?.error?.code, 'FILE_EXISTS')
      assert.equal((await runCli(['kots', 'config', '--size', '8', '--domain', 'a.example.com', '--out', out, '--force'])).code, 0)
    }))

  it('--app-config with an .airgap: matching items pass, a renamed item fails naming it and the closest', () =>
    withTempDir(async (dir) => {
      const good = await writeAirgap(join(dir), appConfigYaml(), 'good.airgap')
      const ok = await runCli(['kots', 'config', '--cores', '16', '--domain', 'a.example.com', '--app-config', good, '--json'])
      assert.equal(ok.code, 0, ok.stderr)
      assert.match(ok.json.checkedAgainst, /good\.airgap!app\.tar\.gz!manifests\/config\.yaml$/)
      assert.deepEqual(ok.json.unchecked, [])
      const badYaml = join(dir, 'config.yaml')
      await writeFile(badYaml, appConfigYaml({rename: {enable_model_insights: 'model_insights_enabled'}}))
      const bad = await runCli(['kots', 'config', '--cores', '16', '--domain', 'a.example.com', '--app-config', badYaml, '--json'])
      assert.equal(bad.code, 2)
      assert.equal(bad.json.error.code, 'INPUT_INVALID')
      assert.equal(bad.json.error.subject, 'spec.values.enable_model_insights')
      assert.match(bad.json.error.message, /model_insights_enabled/)
    }))

  it('a bad profile file is an error naming the field', () =>
    withTempDir(async (dir) => {
      const source = await readFile(new URL('../../templates/profiles/wallaroo-2025.1.yaml', import.meta.url), 'utf8')
      const path = join(dir, 'bad-profile.yaml')
      await writeFile(path, source.replace('{service: plateau, item: enable_plateau}', '{service: plateau, item: enable_plateau, tpye: bool}'))
      const r = await runCli(['kots', 'config', '--size', '8', '--domain', 'a.example.com', '--profile', path, '--json'])
      assert.equal(r.code, 2)
      assert.equal(r.json.error.code, 'PROFILE_INVALID')
      assert.equal(r.json.error.subject, `${path}#kots.services[3].tpye`)
    }))
})
