import assert from 'node:assert/strict'
import {readFile, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {runCli, withTempDir} from '../support/cli.js'
import {validateObjects} from './k8s-schemas.js'

describe('cli: manifests render', () => {
  it('writes the five files; nodepools.sh is executable; objects pass the schemas', () =>
    withTempDir(async (dir) => {
      const out = join(dir, 'm')
      const r = await runCli(['manifests', 'render', '--platform', 'aks', '--pool', 'general=n1,n2', '--pool', 'pipelines=p1', '--out', out, '--json'])
      assert.equal(r.code, 0, r.stderr)
      assert.deepEqual(r.json.files.map((f: {path: string}) => f.path), ['namespace.yaml', 'storageclass.yaml', 'nodepools.sh', 'nodepools.md', 'rbac-review.md'])
      assert.equal(r.json.provisioner, 'disk.csi.azure.com')
      assert.deepEqual(r.json.pools.find((p: {name: string}) => p.name === 'general').nodes, ['n1', 'n2'])
      assert.equal((await stat(join(out, 'nodepools.sh'))).mode & 0o777, 0o755)
      validateObjects(await readFile(join(out, 'namespace.yaml'), 'utf8'))
      validateObjects(await readFile(join(out, 'storageclass.yaml'), 'utf8'))
    }))

  it('generic without --provisioner exits 2 naming the flag; nothing is written', () =>
    withTempDir(async (dir) => {
      const r = await runCli(['manifests', 'render', '--out', join(dir, 'm'), '--json'])
      assert.equal(r.code, 2)
      assert.equal(r.json.error.code, 'USAGE')
      assert.equal(r.json.error.subject, '--provisioner')
    }))

  it('an unknown pool exits 2 and suggests the closest; existing files need --force', () =>
    withTempDir(async (dir) => {
      const bad = await runCli(['manifests', 'render', '--platform', 'eks', '--pool', 'pipeline=n1', '--out', dir, '--json'])
      assert.equal(bad.code, 2)
      assert.equal(bad.json.error.subject, '--pool pipeline')
      assert.match(bad.json.error.hint, /pipelines/)
      await writeFile(join(dir, 'namespace.yaml'), 'mine')
      const clash = await runCli(['manifests', 'render', '--platform', 'eks', '--out', dir, '--json'])
      assert.equal(clash.code, 2)
      assert.equal(clash.json.error.code, 'FILE_EXISTS')
      assert.equal(await readFile(join(dir, 'namespace.yaml'), 'utf8'), 'mine')
      assert.equal((await runCli(['manifests', 'render', '--platform', 'eks', '--out', dir, '--force'])).code, 0)
    }))
})
