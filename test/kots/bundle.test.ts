import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {parse} from 'yaml'

import {makeKeys} from '../support/bundles.js'
import {runCli, withTempDir} from '../support/cli.js'
import {validateObjects} from '../manifests/k8s-schemas.js'
import {appConfigYaml, writeAirgap} from './fixtures.js'

async function writeSpec(dir: string, body: string): Promise<string> {
  await mkdir(dir, {recursive: true})
  const spec = join(dir, 'spec.yaml')
  await writeFile(spec, `apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: site, version: 1.0.0}\nspec:\n  profile: wallaroo-2025.1\n${body}`)
  return spec
}

const entry = (bundle: string, path: string) => execFileSync('tar', ['-xOf', bundle, `site-1.0.0/${path}`], {encoding: 'utf8'})

describe('bundle: spec.kots and spec.manifests', () => {
  it('build renders kots/config-values.yaml, manifests/* and requirements.yaml; the manifest carries the tier and services', () =>
    withTempDir(async (dir) => {
      const keys = await makeKeys(dir)
      const airgap = await writeAirgap(dir, appConfigYaml())
      const spec = await writeSpec(join(dir, 'spec'), `  kots:
    cores: 12
    domain: platform.example.com
    appConfig: ../app.airgap
    values: {enable_alerting: true}
  manifests:
    platform: eks
    pools: {general: [n1, n2], persistent: [n3]}
`)
      assert.ok(airgap.endsWith('app.airgap'))
      const out = join(dir, 'site.tar')
      const r = await runCli(['bundle', 'build', spec, '--key', keys.key, '--out', out, '--json'])
      assert.equal(r.code, 0, r.stderr)
      const roles = Object.fromEntries(r.json.files.map((f: {path: string; role: string}) => [f.path, f.role]))
      assert.equal(roles['kots/config-values.yaml'], 'kots')
      for (const f of ['namespace.yaml', 'storageclass.yaml', 'nodepools.sh', 'nodepools.md', 'rbac-review.md']) assert.equal(roles[`manifests/${f}`], 'manifests', f)
      assert.equal(roles['requirements.yaml'], 'requirements')

      const values = parse(entry(out, 'kots/config-values.yaml')).spec.values
      assert.equal(values.wallaroo_domain.value, 'platform.example.com')
      assert.equal(values.enable_plateau.value, '0')
      assert.equal(values.enable_alerting.value, '1', 'spec.kots.values overrides like --set')
      validateObjects(entry(out, 'manifests/namespace.yaml'))
      const [sc] = validateObjects(entry(out, 'manifests/storageclass.yaml'))
      assert.equal(sc?.provisioner, 'ebs.csi.aws.com')
      assert.match(entry(out, 'manifests/nodepools.sh'), /POOL_PERSISTENT="\$\{POOL_PERSISTENT-n3\}"/)
      const listing = execFileSync('tar', ['-tvf', out], {encoding: 'utf8'})
      assert.match(listing, /^-rwxr-xr-x .* site-1\.0\.0\/manifests\/nodepools\.sh$/m)

      const manifest = JSON.parse(entry(out, 'manifest.json'))
      assert.equal(manifest.extensions.kots.tier, 8)
      assert.equal(manifest.extensions.kots.cores, 12)
      assert.equal(manifest.extensions.kots.edition, 'enterprise')
      assert.equal(manifest.extensions.kots.checkedAgainst, '../app.airgap')
      const plateau = manifest.extensions.kots.services.find((s: {id: string}) => s.id === 'plateau')
      assert.deepEqual([plateau.enabled, plateau.item, plateau.value], [false, 'enable_plateau', '0'])
      assert.equal(manifest.extensions.manifests.platform, 'eks')

      const verified = await runCli(['bundle', 'verify', out, '--trust', keys.pub, '--json'])
      assert.equal(verified.code, 0, verified.stderr)
    }))

  it('spec errors name the spec path: 7 cores, a generic platform without provisioner, cores and size together', () =>
    withTempDir(async (dir) => {
      const keys = await makeKeys(dir)
      const cases: [string, string, string][] = [
        ['  kots: {cores: 7, domain: a.example.com}\n', 'INPUT_INVALID', 'spec.kots.cores'],
        ['  manifests: {platform: generic}\n', 'USAGE', 'spec.manifests.provisioner'],
        ['  kots: {cores: 8, size: 8, domain: a.example.com}\n', 'SPEC_INVALID', 'spec.kots.cores'],
        ['  kots: {size: 16}\n', 'USAGE', 'spec.kots.domain'],
      ]
      for (const [i, [body, code, field]] of cases.entries()) {
        const spec = await writeSpec(join(dir, `case-${i}`), body)
        const r = await runCli(['bundle', 'build', spec, '--key', keys.key, '--out', join(dir, `case-${i}.tar`), '--json'])
        assert.equal(r.code, 2, `${body}: ${r.stderr}`)
        assert.equal(r.json.error.code, code, body)
        assert.equal(r.json.error.subject, `${spec}#${field}`, body)
      }
    }))
})
