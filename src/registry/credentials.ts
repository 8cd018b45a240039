import {execFile} from 'node:child_process'
import {readFile} from 'node:fs/promises'
import {homedir} from 'node:os'
import {join} from 'node:path'

import {AirlockError, fromFsError} from '../ui/errors.js'
import {DOCKER_HUB} from './reference.js'

export interface Credentials {
  username: string
  password: string
  /**
   * An OAuth2 refresh token (docker's `identitytoken`, or a helper's answer for the user `<token>`,
   * as `az acr login` leaves): exchanged at the registry's token service instead of a password.
   */
  identityToken?: string
  /** where they were read from, named when the registry refuses them */
  source: string
}

export interface CredentialLookup {
  credentials?: Credentials
  /** why none were found although a file pointed somewhere: a credential helper missing or failing */
  notes: string[]
}

interface AuthFile {
  auths?: Record<string, {auth?: string; username?: string; password?: string; identitytoken?: string}>
  credHelpers?: Record<string, string>
  credsStore?: string
}

const DOCKER_HUB_KEYS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io'])
/** the server URL docker hands a credential helper for Docker Hub */
const DOCKER_HUB_SERVER = 'https://index.docker.io/v1/'
const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
const HELPER_TIMEOUT_MS = 30_000

/**
 * Files searched, first match wins, in the order podman and skopeo use: $REGISTRY_AUTH_FILE,
 * $XDG_RUNTIME_DIR/containers/auth.json, then docker's config ($DOCKER_CONFIG or ~/.docker).
 */
export function credentialFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const files: string[] = []
  if (env.REGISTRY_AUTH_FILE) files.push(env.REGISTRY_AUTH_FILE)
  if (env.XDG_RUNTIME_DIR) files.push(join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'))
  files.push(join(env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker'), 'config.json'))
  return files
}

/**
 * A key as written in a file, made comparable: docker writes URLs (`https://index.docker.io/v1/`,
 * `https://reg.io`), and a URL key names its host only (its path is a legacy API version, as podman
 * reads it); a key without a scheme may be `host/namespace`. Docker Hub's aliases are one registry.
 */
export function normalizeKey(key: string): string {
  let k = key.trim()
  const url = /^https?:\/\/([^/]+)/i.exec(k)
  if (url) k = url[1] as string
  k = k.replace(/\/+$/, '')
  const slash = k.indexOf('/')
  const host = (slash < 0 ? k : k.slice(0, slash)).toLowerCase()
  return (DOCKER_HUB_KEYS.has(host) ? DOCKER_HUB : host) + (slash < 0 ? '' : k.slice(slash))
}

/** Keys a registry may be filed under, most specific first (auth.json allows host/namespace keys). */
function candidateKeys(registry: string, repository: string): string[] {
  const host = normalizeKey(registry)
  const keys: string[] = []
  const parts = repository.split('/').filter(Boolean)
  for (let i = parts.length; i >= 1; i--) keys.push(`${host}/${parts.slice(0, i).join('/')}`)
  keys.push(host)
  return keys
}

/** The entry of `table` filed under `key` in any spelling: an exact key wins over a URL form of it. */
function lookup<T>(table: Record<string, T> | undefined, key: string): [string, T] | undefined {
  if (!table || typeof table !== 'object') return undefined
  const found = Object.entries(table).filter(([k]) => normalizeKey(k) === key)
  return found.find(([k]) => k === key) ?? found[0]
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

function fromEntry(entry: NonNullable<AuthFile['auths']>[string], file: string, key: string): Credentials | undefined {
  const source = `${file} (auths["${key}"])`
  let username = entry.username ?? ''
  let password = entry.password ?? ''
  if (entry.auth && !(username && password)) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon < 0) throw new AirlockError('INPUT_INVALID', `${file}: auths["${key}"].auth is not base64 of user:password`, {subject: `${file}#auths.${key}`, hint: 'log in again with docker login or skopeo login'})
    username = decoded.slice(0, colon)
    password = decoded.slice(colon + 1)
  }
  if (entry.identitytoken) return {username, password, identityToken: entry.identitytoken, source}
  return username && (password || entry.auth) ? {username, password, source} : undefined
}

/**
 * Asks a docker credential helper, as docker does: `docker-credential-NAME get` from PATH (never a
 * path taken from the file), the server on stdin, `{"Username","Secret"}` on stdout. Helpers are how
 * ECR (ecr-login), GCR and Artifact Registry (gcloud) and desktop keyrings keep credentials. A helper
 * that is not installed, fails or has nothing for this registry yields no credentials and a note,
 * so a public image still pulls anonymously and a private one fails naming the helper.
 */
function fromHelper(helper: string, registry: string, file: string, field: string, env: NodeJS.ProcessEnv): Promise<HelperAnswer> {
  // once per helper and registry for the whole run: a build of many images from one registry would
  // otherwise run the helper (ecr-login calls AWS each time) once per repository
  const key = [helper, registry, file, field, env.PATH ?? process.env.PATH ?? ''].join('\0')
  let answer = helperAnswers.get(key)
  if (!answer) helperAnswers.set(key, (answer = runHelper(helper, registry, file, field, env)))
  return answer
}

interface HelperAnswer {
  credentials?: Credentials
  note?: string
}

const helperAnswers = new Map<string, Promise<HelperAnswer>>()

async function runHelper(helper: string, registry: string, file: string, field: string, env: NodeJS.ProcessEnv): Promise<HelperAnswer> {
  if (!HELPER_NAME.test(helper)) {
    throw new AirlockError('INPUT_INVALID', `${file}: ${field} "${helper}" is not a credential helper name`, {subject: `${file}#${field}`, hint: 'a helper is named by the part after docker-credential-, e.g. "ecr-login" or "gcloud"'})
  }
  const program = `docker-credential-${helper}`
  const server = registry === DOCKER_HUB ? DOCKER_HUB_SERVER : registry
  const result = await new Promise<{code: string | number | null; stdout: string; stderr: string}>((resolve) => {
    const child = execFile(program, ['get'], {env: {...process.env, ...env}, timeout: HELPER_TIMEOUT_MS, maxBuffer: 1 << 20}, (error, stdout, stderr) => {
      const code = error ? ((error as NodeJS.ErrnoException).code ?? (error.killed ? 'TIMEOUT' : 1)) : 0
      resolve({code, stdout: String(stdout), stderr: String(stderr)})
    })
    child.stdin?.on('error', () => {})
    child.stdin?.end(server)
  })
  const named = `${program} (${field} in ${file})`
  if (result.code === 'ENOENT') return {note: `${named} is not installed (no ${program} on PATH)`}
  if (result.code === 'TIMEOUT') return {note: `${named} did not answer within ${HELPER_TIMEOUT_MS / 1000} s`}
  if (result.code !== 0) {
    const said = (result.stdout.trim() || result.stderr.trim()).split('\n')[0]?.slice(0, 200) ?? ''
    return {note: `${named} has no credentials for ${server}${said ? ` (${said})` : ''}`}
  }
  let answer: {Username?: string; Secret?: string}
  try {
    answer = JSON.parse(result.stdout) as typeof answer
  } catch {
    return {note: `${named} answered something that is not JSON`}
  }
  if (!answer.Secret) return {note: `${named} returned no secret for ${server}`}
  const source = `credential helper ${named}`
  if (answer.Username === '<token>') return {credentials: {username: '', password: '', identityToken: answer.Secret, source}}
  return {credentials: {username: answer.Username ?? '', password: answer.Secret, source}}
}

/**
 * Credentials for a repository, as docker and podman find them: in each file in turn, a credential
 * helper named for the registry (`credHelpers`), then an `auths` entry (most specific key first, in
 * any spelling docker, podman or skopeo write), then the default helper (`credsStore`).
 */
export async function lookupCredentials(registry: string, repository: string, env: NodeJS.ProcessEnv = process.env): Promise<CredentialLookup> {
  const notes: string[] = []
  const keys = candidateKeys(registry, repository)
  const host = keys.at(-1) as string
  for (const file of credentialFiles(env)) {
    const doc = await readAuthFile(file)
    if (!doc) continue
    const helper = lookup(doc.credHelpers, host)
    if (helper && typeof helper[1] === 'string') {
      const got = await fromHelper(helper[1], registry, file, `credHelpers["${helper[0]}"]`, env)
      if (got.credentials) return {credentials: got.credentials, notes}
      if (got.note) notes.push(got.note)
    }
    for (const key of keys) {
      const entry = lookup(doc.auths, key)
      const found = entry && typeof entry[1] === 'object' && entry[1] !== null ? fromEntry(entry[1], file, entry[0]) : undefined
      if (found) return {credentials: found, notes}
    }
    if (typeof doc.credsStore === 'string' && doc.credsStore !== '') {
      const got = await fromHelper(doc.credsStore, registry, file, 'credsStore', env)
      if (got.credentials) return {credentials: got.credentials, notes}
      if (got.note) notes.push(got.note)
    }
  }
  return {notes}
}

export async function findCredentials(registry: string, repository: string, env: NodeJS.ProcessEnv = process.env): Promise<Credentials | undefined> {
  return (await lookupCredentials(registry, repository, env)).credentials
}
