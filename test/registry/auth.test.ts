import assert from 'node:assert/strict'
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {parseChallenge} from '../../src/registry/auth.js'
import {credentialFiles, findCredentials} from '../../src/registry/credentials.js'
import {withTempDir} from '../support/cli.js'

describe('registry authentication', () => {
  it('parses bearer and basic challenges as registries send them', () => {
    // as sent by Docker Hub and by distribution's token auth
    assert.deepEqual(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"'), {
      scheme: 'bearer',
      params: {realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/nginx:pull'},
    })
    assert.deepEqual(parseChallenge('Basic realm="airlock-test"'), {scheme: 'basic', params: {realm: 'airlock-test'}})
    assert.equal(parseChallenge('Negotiate abc'), undefined)
    assert.equal(parseChallenge(undefined), undefined)
  })

  it('searches REGISTRY_AUTH_FILE, then XDG_RUNTIME_DIR/containers/auth.json, then docker config', async () => {
    await withTempDir(async (dir) => {
      const env = {REGISTRY_AUTH_FILE: join(dir, 'a.json'), XDG_RUNTIME_DIR: join(dir, 'run'), HOME: dir}
      assert.deepEqual(credentialFiles(env), [join(dir, 'a.json'), join(dir, 'run', 'containers', 'auth.json'), join(dir, '.docker', 'config.json')])
      await mkdir(join(dir, 'run', 'containers'), {recursive: true})
      await mkdir(join(dir, '.docker'))
      const b64 = (s: string) => Buffer.from(s).toString('base64')
      await writeFile(join(dir, '.docker', 'config.json'), JSON.stringify({auths: {'https://index.docker.io/v1/': {auth: b64('hub:1')}, 'reg.io': {auth: b64('docker:2')}}}))
      await writeFile(join(dir, 'run', 'containers', 'auth.json'), JSON.stringify({auths: {'reg.io/team': {auth: b64('team:3:with:colons')}}}))
      assert.equal((await findCredentials('docker.io', 'library/nginx', env))?.username, 'hub')
      const team = await findCredentials('reg.io', 'team/app', env)
      assert.deepEqual([team?.username, team?.password], ['team', '3:with:colons'])
      assert.ok(team?.source.includes('auth.json'))
      assert.equal((await findCredentials('reg.io', 'other/app', env))?.username, 'docker')
      assert.equal(await findCredentials('nowhere.io', 'x', env), undefined)
    })
  })
})
