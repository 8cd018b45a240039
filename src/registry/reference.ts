import {AirlockError} from '../ui/errors.js'

/** A fully normalised image reference, the way docker names it. */
export interface ImageReference {
  /** registry host[:port] as the user writes it: docker.io, quay.io, 127.0.0.1:5000 */
  registry: string
  /** repository path inside the registry: library/nginx, org/team/app */
  repository: string
  tag?: string
  digest?: string
}

export const DOCKER_HUB = 'docker.io'
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io'])

// The grammar of github.com/distribution/reference, written out piece by piece.
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/
const TAG = /^\w[\w.-]{0,127}$/
const DIGEST = /^sha256:[0-9a-f]{64}$/
const DOMAIN = /^(?:localhost|(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[0-9a-fA-F:.]+\])(?::\d{1,5})?$/
const MAX_NAME = 255

function invalid(text: string, why: string, subject: string): AirlockError {
  return new AirlockError('REFERENCE_INVALID', `${subject}: "${text}" is not an image reference: ${why}`, {
    subject,
    hint: 'write [registry[:port]/]path[:tag][@sha256:<64 hex>], e.g. nginx:1.25, quay.io/org/app@sha256:...',
  })
}

/**
 * Parses and normalises a reference: `nginx` is `docker.io/library/nginx:latest`. The first path
 * component is a registry only when it looks like a host (a dot, a port, or `localhost`), as docker
 * decides it. `subject` (a spec path) is named in every error.
 */
export function parseReference(text: string, subject: string = text): ImageReference {
  if (text.trim() !== text || text === '') throw invalid(text, 'empty or surrounded by spaces', subject)
  let rest = text
  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at >= 0) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
    if (!DIGEST.test(digest)) throw invalid(text, `"${digest}" is not sha256: followed by 64 lower-case hex digits`, subject)
  }
  let tag: string | undefined
  const colon = rest.lastIndexOf(':')
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!TAG.test(tag)) throw invalid(text, `"${tag}" is not a valid tag`, subject)
  }
  const parts = rest.split('/')
  let registry = DOCKER_HUB
  const first = parts[0] ?? ''
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['))) {
    if (!DOMAIN.test(first)) throw invalid(text, `"${first}" is not a registry host[:port]`, subject)
    registry = DOCKER_HUB_ALIASES.has(first.toLowerCase()) ? DOCKER_HUB : first
    parts.shift()
  }
  if (parts.length === 0 || parts.some((p) => !COMPONENT.test(p))) {
    const bad = parts.find((p) => !COMPONENT.test(p)) ?? ''
    throw invalid(text, `path component "${bad}" must be lower-case letters and digits separated by ".", "_", "__" or "-"`, subject)
  }
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift('library')
  const repository = parts.join('/')
  if (registry.length + 1 + repository.length > MAX_NAME) throw invalid(text, `the name is longer than ${MAX_NAME} characters`, subject)
  if (!tag && !digest) tag = 'latest'
  return {registry, repository, ...(tag ? {tag} : {}), ...(digest ? {digest} : {})}
}

/** `registry/repository[:tag][@digest]` */
export function formatReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`
}

/** The host the API is served from: Docker Hub's API is not at docker.io itself. */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? 'registry-1.docker.io' : registry
}
