import type {IncomingMessage} from 'node:http'

import {AirlockError} from '../ui/errors.js'
import {credentialFiles, lookupCredentials, type CredentialLookup, type Credentials} from './credentials.js'
import {drain, throwIfRetryable, type Transport} from './transport.js'

export interface Challenge {
  scheme: 'basic' | 'bearer'
  params: Record<string, string>
}

/**
 * `Bearer realm="https://auth/token",service="registry",scope="repository:x:pull"`, per RFC 7235. A
 * header may hold several challenges (`Bearer realm=..., Basic realm=...`, or two WWW-Authenticate
 * headers, which node joins with a comma): bearer is taken when offered, else basic.
 */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined
  const starts = [...header.matchAll(/(?:^|,)\s*(basic|bearer)\b(?!\s*=)/gi)].map((m) => m.index ?? 0)
  const challenges = starts.map((start, i) => parseOne(header.slice(start, starts[i + 1] ?? header.length).replace(/^\s*,/, '')))
  return challenges.find((c) => c.scheme === 'bearer') ?? challenges[0]
}

function parseOne(text: string): Challenge {
  const m = /^\s*(\w+)\s*(.*)$/s.exec(text)
  const scheme = (m?.[1] ?? '').toLowerCase() as Challenge['scheme']
  const params: Record<string, string> = {}
  const re = /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g
  for (const p of (m?.[2] ?? '').matchAll(re)) params[(p[1] ?? '').toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '')
  return {scheme, params}
}

/** One repository and what is done to it: the unit a registry token is scoped to. */
export interface Scope {
  repository: string
  actions: string
}

export function scopeString(scopes: Scope[]): string[] {
  return scopes.map((s) => `repository:${s.repository}:${s.actions}`).sort()
}

interface Token {
  value: string
  expiresAt: number
}

/**
 * The authentication state for one registry: the challenge it answered with, credentials per
 * repository (auth.json may file them under host/namespace), and bearer tokens cached by scope so
 * that the blobs of one repository reuse the token its manifest needed.
 */
export class RegistryAuth {
  private challenge: Challenge | undefined
  private readonly tokens = new Map<string, Token>()
  private readonly creds = new Map<string, Promise<CredentialLookup>>()

  constructor(
    readonly registry: string,
    private readonly transport: Transport,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  private lookup(repository: string): Promise<CredentialLookup> {
    let c = this.creds.get(repository)
    if (!c) {
      c = lookupCredentials(this.registry, repository, this.env)
      this.creds.set(repository, c)
    }
    return c
  }

  async credentials(repository: string): Promise<Credentials | undefined> {
    return (await this.lookup(repository)).credentials
  }

  /** The Authorization header for a request, when the registry's challenge is already known. */
  async header(scopes: Scope[]): Promise<string | undefined> {
    if (!this.challenge) return undefined
    if (this.challenge.scheme === 'basic') {
      const c = await this.credentials(scopes[0]?.repository ?? '')
      return c ? basic(c) : undefined
    }
    const token = this.tokens.get(scopeString(scopes).join(' '))
    return token && token.expiresAt > Date.now() ? `Bearer ${token.value}` : undefined
  }

  /** Answers a 401: records the challenge and fetches a token for `scopes` when it is bearer. */
  async authenticate(res: IncomingMessage, scopes: Scope[]): Promise<void> {
    const challenge = parseChallenge(res.headers['www-authenticate'] as string | undefined)
    drain(res)
    const repository = scopes[0]?.repository ?? ''
    const creds = await this.credentials(repository)
    if (!challenge) {
      // a proxy that strips the header (or a registry that never sends it): credentials, if any, go as Basic
      if (creds && !creds.identityToken) {
        this.challenge = {scheme: 'basic', params: {}}
        return
      }
      throw new AirlockError('REGISTRY_AUTH', `${this.registry} answered 401 without a usable WWW-Authenticate challenge`, {subject: this.registry, hint: 'airlock supports basic and bearer token authentication; check that a proxy in front of the registry passes WWW-Authenticate through'})
    }
    this.challenge = challenge
    if (challenge.scheme === 'basic') {
      if (!creds) throw await this.missing(repository)
      if (creds.identityToken && !creds.password) {
        throw new AirlockError('REGISTRY_AUTH', `${this.registry} asks for a user and password, but ${creds.source} holds only an identity token (for registries with a token service)`, {subject: this.registry, hint: `log in with a user and password: skopeo login ${this.registry}`})
      }
      return
    }
    const realm = challenge.params.realm
    if (!realm) throw new AirlockError('REGISTRY_AUTH', `${this.registry} asked for a bearer token without naming a realm`, {subject: this.registry})
    let url: URL
    try {
      // the realm may carry its own query (?service=...&account=...): the parameters below are added to it
      url = new URL(realm)
    } catch (error) {
      throw new AirlockError('REGISTRY_AUTH', `${this.registry} named a token realm that is not a URL: ${realm}`, {subject: this.registry, hint: 'the registry is misconfigured; ask its owner', cause: error})
    }
    const wanted = scopes.length > 0 ? scopeString(scopes) : (challenge.params.scope ?? '').split(' ').filter(Boolean)
    const value = await this.fetchToken(url, challenge, wanted, creds, repository)
    // Renew a little early so a long blob download never starts with a token about to expire.
    this.tokens.set(scopeString(scopes).join(' '), {value: value.token, expiresAt: Date.now() + ttlMs(value.expiresIn)})
  }

  /**
   * A request the registry redirected to another host (a CDN or an alias in front of a public
   * registry) met a 401 there: that host gets a token from its own token service, for the scope its
   * own challenge names, asked anonymously: this registry's credentials never go to another host.
   */
  async foreignToken(res: IncomingMessage, at: URL): Promise<string> {
    const challenge = parseChallenge(res.headers['www-authenticate'] as string | undefined)
    drain(res)
    const realm = challenge?.scheme === 'bearer' ? challenge.params.realm : undefined
    let url: URL | undefined
    try {
      url = realm ? new URL(realm) : undefined
    } catch {
      url = undefined
    }
    if (!challenge || !url) {
      throw new AirlockError('REGISTRY_AUTH', `${this.registry} redirected to ${at.host}, which asks for credentials airlock does not send to another host`, {subject: this.registry, hint: `pull from ${at.host} directly (name it in the spec), with credentials for it`})
    }
    const scopes = (challenge.params.scope ?? '').split(' ').filter(Boolean)
    const key = `${at.origin} ${scopes.join(' ')}`
    const cached = this.tokens.get(key)
    if (cached && cached.expiresAt > Date.now()) return cached.value
    const value = await this.fetchToken(url, challenge, scopes, undefined, at.host)
    this.tokens.set(key, {value: value.token, expiresAt: Date.now() + ttlMs(value.expiresIn)})
    return value.token
  }

  /** A token from a token service, by GET (credentials as Basic) or by OAuth2 POST for an identity token. */
  private async fetchToken(url: URL, challenge: Challenge, wanted: string[], creds: Credentials | undefined, repository: string): Promise<{token: string; expiresIn?: number}> {
    const value = await this.transport.retry(`token from ${url.host}`, this.registry, async () => {
      const tr = creds?.identityToken ? await this.exchange(url, challenge, wanted, creds.identityToken) : await this.tokenGet(url, challenge, wanted, creds)
      throwIfRetryable(tr, `token from ${url.host}`)
      if (tr.statusCode === 401 || tr.statusCode === 403) {
        drain(tr)
        throw creds ? this.refused(creds) : await this.missing(repository)
      }
      if (tr.statusCode !== 200) {
        drain(tr)
        throw new AirlockError('REGISTRY_AUTH', `the token service ${url.host} of ${this.registry} answered HTTP ${tr.statusCode}`, {subject: this.registry, hint: 'try again later, or check the credentials'})
      }
      const chunks: Buffer[] = []
      let n = 0
      for await (const c of tr) {
        n += (c as Buffer).length
        if (n > 1 << 20) throw new AirlockError('REGISTRY_AUTH', `the token service of ${this.registry} sent more than 1 MiB`, {subject: this.registry})
        chunks.push(c as Buffer)
      }
      try {
        return JSON.parse(Buffer.concat(chunks).toString('utf8')) as {token?: string; access_token?: string; expires_in?: number}
      } catch (error) {
        throw new AirlockError('REGISTRY_AUTH', `the token service ${url.host} of ${this.registry} answered something that is not JSON`, {subject: this.registry, hint: 'the realm in the registry\'s WWW-Authenticate may point at a login page; check the registry address', cause: error})
      }
    })
    const token = value.token ?? value.access_token
    if (!token) throw new AirlockError('REGISTRY_AUTH', `the token service of ${this.registry} returned no token`, {subject: this.registry})
    return {token, ...(value.expires_in === undefined ? {} : {expiresIn: value.expires_in})}
  }

  /** The token request of docker's token spec: GET with service and scopes, Basic credentials when there are any. */
  private async tokenGet(realm: URL, challenge: Challenge, scopes: string[], creds: Credentials | undefined): Promise<IncomingMessage> {
    const url = new URL(realm)
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service)
    for (const s of scopes) url.searchParams.append('scope', s)
    const headers = creds ? {authorization: basic(creds)} : {}
    return (await this.transport.follow('GET', url, headers)).res
  }

  /** An identity (refresh) token is exchanged by OAuth2 POST to the same realm, as docker does it (ACR, GCR). */
  private async exchange(realm: URL, challenge: Challenge, scopes: string[], refreshToken: string): Promise<IncomingMessage> {
    const form = new URLSearchParams({grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'airlock'})
    if (challenge.params.service) form.set('service', challenge.params.service)
    if (scopes.length > 0) form.set('scope', scopes.join(' '))
    const body = Buffer.from(form.toString())
    return (await this.transport.follow('POST', realm, {'content-type': 'application/x-www-form-urlencoded', 'content-length': body.length}, body)).res
  }

  /** The registry still says 401 (or 403) after authenticating; `challenge` is its WWW-Authenticate. */
  async rejected(repository: string, status: number, challenge?: string): Promise<AirlockError> {
    const creds = await this.credentials(repository)
    // a token that was issued but lacks the action (Harbor, GitLab, Docker Hub say error="insufficient_scope") is a permission matter, not a login one
    const scopeShort = creds !== undefined && parseChallenge(challenge)?.params.error === 'insufficient_scope'
    if (status === 403 || scopeShort) {
      return new AirlockError('REGISTRY_AUTH', `${this.registry} denied access to ${repository}${creds ? ` for ${who(creds)} (credentials from ${creds.source})` : ''}`, {
        subject: this.registry,
        hint: 'the account lacks permission on this repository (pull, or push for images push)',
      })
    }
    return creds ? this.refused(creds) : await this.missing(repository)
  }

  private refused(creds: Credentials): AirlockError {
    return new AirlockError('REGISTRY_AUTH', `${this.registry} refused the credentials of ${who(creds)} read from ${creds.source}`, {
      subject: this.registry,
      hint: `log in again (skopeo login ${this.registry} or docker login ${this.registry}) or fix that entry`,
    })
  }

  private async missing(repository: string): Promise<AirlockError> {
    const {notes} = await this.lookup(repository)
    const helpers = notes.length > 0 ? `; ${notes.join('; ')}` : ''
    return new AirlockError('REGISTRY_AUTH', `${this.registry} requires credentials for ${repository}; none were found in ${credentialFiles(this.env).join(', ')}${helpers}`, {
      subject: this.registry,
      hint: notes.length > 0 ? `install or fix that credential helper, or log in: skopeo login ${this.registry} (or point REGISTRY_AUTH_FILE at an auth.json)` : `log in first: skopeo login ${this.registry} (or docker login), or point REGISTRY_AUTH_FILE at an auth.json`,
    })
  }
}

/** How long a token is used: its expires_in (60 s when absent, as the token spec says) less 10 s, at least 5 s. */
function ttlMs(expiresIn: number | undefined): number {
  return Math.max((expiresIn ?? 60) - 10, 5) * 1000
}

function who(c: Credentials): string {
  return c.username && !c.identityToken ? c.username : 'an identity token'
}

function basic(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`
}
