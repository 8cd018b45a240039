/* One set of registries and images shared by the image tests, started once and torn down at the end. */
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {makeKeys, type TestKeys} from '../support/bundles.js'
import {
  makeImage,
  makeIndex,
  makeLayer,
  makePki,
  seed,
  skopeoCertDir,
  startRegistry,
  startTokenService,
  tempDir,
  writeLayout,
  type Pki,
  type Registry,
  type TestImage,
  type TokenService,
} from '../support/registry.js'

export const USER = 'airlock'
export const PASSWORD = 'secret-pass'

export interface Fixture {
  dir: string
  keys: TestKeys
  pki: Pki
  certDir: string
  /** htpasswd basic auth over TLS */
  secure: Registry
  /** anonymous plain HTTP */
  plain: Registry
  /** bearer tokens, plain HTTP */
  tokened: Registry
  tokens: TokenService
  app1: TestImage
  app2: TestImage
  amd64: TestImage
  arm64: TestImage
  indexDigest: string
  /** auth.json with the right credentials for secure and tokened */
  authFile: string
  layout: string
}

let fixture: Promise<Fixture> | undefined

export function getFixture(): Promise<Fixture> {
  fixture ??= makeFixture()
  return fixture
}


async function makeFixture(): Promise<Fixture> {
  const dir = await tempDir('images')
  const keys = await makeKeys(dir)
  const pki = await makePki()
  const certDir = await skopeoCertDir(pki)
  const tokens = await startTokenService(USER, PASSWORD)
  const [secure, plain, tokened] = await Promise.all([startRegistry({tls: pki, htpasswd: {user: USER, password: PASSWORD}}), startRegistry(), startRegistry({token: tokens})])

  // Two images sharing two base layers, and a two-platform index.
  const base1 = makeLayer('base-1', 300_000)
  const base2 = makeLayer('base-2', 120_000)
  const app1 = makeImage([base1, base2, makeLayer('app-1', 50_000)], {os: 'linux', architecture: 'amd64'}, 'app1')
  const app2 = makeImage([base1, base2, makeLayer('app-2', 70_000)], {os: 'linux', architecture: 'amd64'}, 'app2')
  const amd64 = makeImage([base1, makeLayer('tool-amd64', 40_000)], {os: 'linux', architecture: 'amd64'}, 'tool')
  const arm64 = makeImage([makeLayer('tool-arm64', 45_000)], {os: 'linux', architecture: 'arm64', variant: 'v8'}, 'tool')
  const index = makeIndex([amd64, arm64])
  const layout = join(dir, 'layout')
  await writeLayout(layout, [
    {tag: 'app1', image: app1},
    {tag: 'app2', image: app2},
    {tag: 'tool', index: {blob: index, images: [amd64, arm64]}},
  ])
  const creds = {creds: `${USER}:${PASSWORD}`}
  await Promise.all([
    seed(layout, 'app1', `${secure.host}/team/app1:1.0`, {...creds, certDir}),
    seed(layout, 'app2', `${secure.host}/team/app2:1.0`, {...creds, certDir}),
    seed(layout, 'tool', `${secure.host}/team/tool:2.0`, {...creds, certDir}),
    seed(layout, 'app1', `${plain.host}/team/app1:1.0`),
    seed(layout, 'app2', `${plain.host}/team/app2:1.0`),
    seed(layout, 'tool', `${plain.host}/team/tool:2.0`),
    seed(layout, 'app2', `${tokened.host}/private/app2:1.0`, {...creds}),
  ])
  const authFile = join(dir, 'auth.json')
  const auth = Buffer.from(`${USER}:${PASSWORD}`).toString('base64')
  await writeFile(authFile, JSON.stringify({auths: {[secure.host]: {auth}, [tokened.host]: {auth}}}))
  return {dir, keys, pki, certDir, secure, plain, tokened, tokens, app1, app2, amd64, arm64, indexDigest: index.digest, authFile, layout}
}

/** A spec with these images; extra YAML goes under spec:. */
export async function writeImageSpec(dir: string, images: string[], extra = ''): Promise<string> {
  const spec = join(dir, `spec-${Math.random().toString(36).slice(2, 8)}.yaml`)
  await writeFile(spec, `apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: imgs, version: 1.0.0}\nspec:\n  images:\n${images.map((i) => `    - ${i}`).join('\n')}\n${extra}`)
  return spec
}

/** Environment that points every credentials lookup at `authFile` only. */
export function authEnv(authFile: string): NodeJS.ProcessEnv {
  return {REGISTRY_AUTH_FILE: authFile, XDG_RUNTIME_DIR: '/nonexistent', DOCKER_CONFIG: '/nonexistent', AIRLOCK_RETRY_BACKOFF_MS: '20'}
}
