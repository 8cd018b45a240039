import assert from 'node:assert/strict'
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {parseChallenge} from '../../src/registry/auth.js'
import {credentialFiles, findCredentials, normalizeKey} from '../../src/registry/credentials.js'
import {withTempDir} from '../support/cli.js'

describe('registry authentication', () => {
  it('parses bearer and basic challenges as registries send them', () => {
    // as sent by Docker Hub and by distribution's token auth
    assert.deepEqual(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"'), {
      scheme: 'bearer',
      params: {realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/nginx:pull'},
    })
    assert.deepEqual(parseChallenge('Basic realm="airlock-test"'), {scheme: 'basic', params: {realm: 'airlock-test'}})
    // Harbor and GitLab put parameters in the realm itself; a quoted value may hold commas and escaped quotes
    assert.deepEqual(parseChallenge('Bearer realm="https://h/service/token?account=a,b",service="harbor-registry",scope="repository:p/r:pull,push repository:p/s:pull",error="insufficient_scope"')?.params, {
      realm: 'https://h/service/token?account=a,b',
      service: 'harbor-registry',
      scope: 'repository:p/r:pull,push repository:p/s:pull',
      error: 'insufficient_scope',
    })
    assert.deepEqual(parseChallenge('Basic realm="https://123.dkr.ecr.us-east-1.amazonaws.com/",service="ecr.amazonaws.com"'), {scheme: 'basic', params: {realm: 'https://123.dkr.ecr.us-east-1.amazonaws.com/', service: 'ecr.amazonaws.com'}})
    // two challenges in one header (or two headers node joined): bearer wins, each keeps its own realm
    assert.deepEqual(parseChallenge('Basic realm="Artifactory Realm", Bearer realm="https://art.example/v2/token",service="art.example"'), {scheme: 'bearer', params: {realm: 'https://art.example/v2/token', service: 'art.example'}})
    assert.deepEqual(parseChallenge('BASIC realm="Sonatype Nexus Repository Manager"'), {scheme: 'basic', params: {realm: 'Sonatype Nexus Repository Manager'}})
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

  it('finds auths entries under every key spelling docker, podman and skopeo write', async () => {
    assert.equal(normalizeKey('https://index.docker.io/v1/'), 'docker.io')
    assert.equal(normalizeKey('registry-1.docker.io'), 'docker.io')
    assert.equal(normalizeKey('http://Reg.IO:5000/v2/'), 'reg.io:5000')
    assert.equal(normalizeKey('reg.io/team/'), 'reg.io/team')
    await withTempDir(async (dir) => {
      const b64 = (s: string) => Buffer.from(s).toString('base64')
      const file = join(dir, 'auth.json')
      await writeFile(file, JSON.stringify({
        auths: {
          'https://reg.io:5000/v1/': {auth: b64('url-form:1')},
          'reg.io:5000/team': {auth: b64('team:2')},
          'https://[::1]:5443': {username: 'six', password: '3'},
          'acr.example.io': {auth: b64('00000000-0000-0000-0000-000000000000:'), identitytoken: 'refresh'},
        },
      }))
      const env = {REGISTRY_AUTH_FILE: file, XDG_RUNTIME_DIR: '/nonexistent', DOCKER_CONFIG: '/nonexistent'}
      assert.equal((await findCredentials('reg.io:5000', 'other/app', env))?.username, 'url-form')
      assert.equal((await findCredentials('reg.io:5000', 'team/app', env))?.username, 'team')
      assert.equal((await findCredentials('[::1]:5443', 'app', env))?.password, '3')
      assert.equal((await findCredentials('acr.example.io', 'app', env))?.identityToken, 'refresh')
      assert.equal(await findCredentials('reg.io', 'app', env), undefined, 'another port is another registry')
    })
  })
})
