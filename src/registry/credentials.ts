import {readFile} from 'node:fs/promises'
import {homedir} from 'node:os'
import {join} from 'node:path'

import {AirlockError, fromFsError} from '../ui/errors.js'
import {DOCKER_HUB} from './reference.js'

export interface Credentials {
  username: string
  password: string
  /** the file they were read from, named when the registry refuses them */
  source: string
}

interface AuthFile {
  auths?: Record<string, {auth?: string; username?: string; password?: string; identitytoken?: string}>
}

/**
 * Files searched, first match wins, in the order podman and skopeo use: $REGISTRY_AUTH_FILE,
 * $XDG_RUNTIME_DIR/containers/auth.json, then docker's config ($DOCKER_CONFIG or ~/.docker).
 * Credential helpers (`credHelpers`, `credsStore`) are not run: on a release machine they need a
 * desktop keyring, and airlock never executes programs named in a config file.
 */
export function credentialFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const files: string[] = []
  if (env.REGISTRY_AUTH_FILE) files.push(env.REGISTRY_AUTH_FILE)
  if (env.XDG_RUNTIME_DIR) files.push(join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'))
  files.push(join(env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker'), 'config.json'))
  return files
}

/** Keys a registry may be filed under, most specific first (auth.json allows host/namespace keys). */
function candidateKeys(registry: string, repository: string): string[] {
  const keys: string[] = []
  const parts = repository.split('/')
  for (let i = parts.length; i >= 1; i--) keys.push(`${registry}/${parts.slice(0, i).join('/')}`)
  keys.push(registry, `https://${registry}`, `http://${registry}`, `https://${registry}/v1/`, `https://${registry}/v2/`)
  if (registry === DOCKER_HUB) keys.push('https://index.docker.io/v1/', 'index.docker.io', 'registry-1.docker.io')
  return keys
}

async function readAuthFile(path: string): Promise<AuthFile | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    // absent is normal (most of the usual places hold nothing); present but unreadable is not
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined
    throw fromFsError(error, path, 'registry credentials file')
  }
  try {
    return JSON.parse(text) as AuthFile
  } catch (error) {
    throw new AirlockError('INPUT_INVALID', `${path} is not valid JSON`, {subject: path, hint: 'fix or remove the credentials file', cause: error})
  }
}

export async function findCredentials(registry: string, repository: string, env: NodeJS.ProcessEnv = process.env): Promise<Credentials | undefined> {
  for (const file of credentialFiles(env)) {
    const doc = await readAuthFile(file)
    const auths = doc?.auths
    if (!auths) continue
    for (const key of candidateKeys(registry, repository)) {
      const entry = auths[key]
      if (!entry) continue
      if (entry.username && entry.password) return {username: entry.username, password: entry.password, source: `${file} (auths["${key}"])`}
      if (entry.auth) {
        const decoded = Buffer.from(entry.auth, 'base64').toString('utf8')
        const colon = decoded.indexOf(':')
        if (colon < 0) throw new AirlockError('INPUT_INVALID', `${file}: auths["${key}"].auth is not base64 of user:password`, {subject: `${file}#auths.${key}`, hint: 'log in again with docker login or skopeo login'})
        return {username: decoded.slice(0, colon), password: decoded.slice(colon + 1), source: `${file} (auths["${key}"])`}
      }
    }
  }
  return undefined
}
