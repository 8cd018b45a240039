import assert from 'node:assert/strict'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {create} from 'tar'

import {loadAppConfig} from '../../src/kots/index.js'
import {withTempDir} from '../support/cli.js'
import {appConfigYaml, writeAirgap} from './fixtures.js'
import {rejectsWithCode} from '../support/assert.js'

const expectReject = rejectsWithCode

describe('kots: the application Config', () => {
  it('reads items, types, options and required flags from a kind: Config YAML among other documents', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'config.yaml')
      await writeFile(path, `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n${appConfigYaml()}`)
      const app = await loadAppConfig(path)
      assert.equal(app.source, path)
      assert.equal(app.items.get('wallaroo_domain')?.required, true)
      assert.equal(app.items.get('enable_plateau')?.type, 'bool')
      assert.deepEqual(app.items.get('ingress_mode')?.options, ['internal', 'external', 'none'])
      assert.equal(app.items.get('ingress_mode')?.default, 'internal')
    }))

  it('finds the Config inside an .airgap (gzip tar with a nested app.tar.gz) without extracting it', () =>
    withTempDir(async (dir) => {
      const airgap = await writeAirgap(dir, appConfigYaml())
      const app = await loadAppConfig(airgap)
      assert.equal(app.source, `${airgap}!app.tar.gz!manifests/config.yaml`)
      assert.equal(app.items.size, 9)
    }))

  it('an .airgap without a Config is an error naming the file', () =>
    withTempDir(async (dir) => {
      const airgap = await writeAirgap(dir, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: not-it}\n')
      await expectReject(loadAppConfig(airgap), 'INPUT_INVALID', airgap)
    }))

  it('a plain (uncompressed) tar works too; a corrupt gzip is an input error', () =>
    withTempDir(async (dir) => {
      await writeFile(join(dir, 'config.yaml'), appConfigYaml())
      const tarPath = join(dir, 'app.tar')
      await create({cwd: dir, file: tarPath}, ['config.yaml'])
      assert.equal((await loadAppConfig(tarPath)).items.has('jupyter_mode'), true)
      const bad = join(dir, 'bad.airgap')
      await writeFile(bad, Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), Buffer.alloc(600, 0x41)]))
      await expectReject(loadAppConfig(bad), 'INPUT_INVALID', bad)
    }))

  it('a YAML file without a Config, and a missing file, are errors naming the path', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'other.yaml')
      await writeFile(path, 'apiVersion: v1\nkind: ConfigMap\n')
      await expectReject(loadAppConfig(path), 'INPUT_INVALID', path)
      await expectReject(loadAppConfig(join(dir, 'nope.yaml')), 'FILE_NOT_FOUND', join(dir, 'nope.yaml'))
    }))

  it('a decompression bomb is refused as an input error, without filling memory or disk', () =>
    withTempDir(async (dir) => {
      await writeFile(join(dir, 'zeros.bin'), Buffer.alloc(20 << 20))
      const bomb = join(dir, 'bomb.airgap')
      await create({gzip: true, cwd: dir, file: bomb}, ['zeros.bin'])
      await expectReject(loadAppConfig(bomb), 'INPUT_INVALID', bomb)
    }))
})
