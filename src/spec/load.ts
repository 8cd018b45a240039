import {createHash} from 'node:crypto'
import {dirname, resolve} from 'node:path'
import {LineCounter} from 'yaml'
import type {z} from 'zod'

import {AirlockError} from '../ui/errors.js'
import {readSmallFile} from '../util/fs.js'
import {specSchema, type BundleSpec} from './schema.js'
import {parseYaml, parseYamlDocument, yamlToJS} from '../util/yaml.js'

export interface LoadedSpec {
  spec: BundleSpec
  path: string
  /** folder that relative `files[].source` paths are resolved against */
  baseDir: string
  sha256: string
}

/** `['spec', 'images', 3, 'ref']` -> `spec.images[3].ref`, the way a reader of the YAML names it. */
export function formatYamlPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`
    else out += out ? `.${String(part)}` : String(part)
  }
  return out || '(root)'
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`
  if (issue.code === 'invalid_type' && issue.input === undefined) return `required: expected ${issue.expected}`
  return issue.message
}

/**
 * `--set KEY=VALUE` overrides, applied before validation so that a bad value is reported like one
 * written in the file. `files.<id>=PATH` replaces the source of the file entry with that id (a path
 * given on the command line is taken from the current folder); any other KEY is a dotted path under
 * `spec` (`kots.cores=16`), its VALUE read as YAML so numbers and booleans keep their type.
 */
export function applyOverrides(doc: unknown, overrides: Record<string, string>, source: string): unknown {
  const root = (doc ?? {}) as {spec?: Record<string, unknown>}
  for (const [key, value] of Object.entries(overrides)) {
    const parts = key.split('.')
    if (parts.some((p) => p === '' || p === '__proto__' || p === 'constructor' || p === 'prototype')) {
      throw new AirlockError('USAGE', `--set ${key}: not a valid path`, {subject: `--set ${key}`, hint: 'use a dotted path under spec, e.g. kots.cores=16 or files.app=./app.airgap'})
    }
    root.spec ??= {}
    if (parts[0] === 'files' && parts.length === 2) {
      const files = (Array.isArray(root.spec.files) ? root.spec.files : []) as {id?: string; source?: string}[]
      const entry = files.find((f) => f && f.id === parts[1])
      if (!entry) {
        const ids = files.map((f) => f?.id).filter(Boolean)
        throw new AirlockError('SPEC_INVALID', `--set ${key}: ${source} has no spec.files entry with id "${parts[1]}"`, {
          subject: `--set ${key}`,
          hint: ids.length > 0 ? `ids in this spec: ${ids.join(', ')}` : 'give the file entry an id: field',
        })
      }
      entry.source = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : resolve(value)
      continue
    }
    let node = root.spec as Record<string, unknown>
    for (const part of parts.slice(0, -1)) {
      if (typeof node[part] !== 'object' || node[part] === null) node[part] = {}
      node = node[part] as Record<string, unknown>
    }
    node[parts.at(-1) as string] = parseYaml(value, {source: `--set ${key}`, code: 'USAGE', hint: 'the value is read as YAML: quote it if it is meant as text, e.g. --set \'kots.note="a: b"\''})
  }
  return root
}

/** Parses and validates spec text; `source` names the file in every error. */
export function parseSpec(text: string, source: string, overrides: Record<string, string> = {}): BundleSpec {
  const lines = new LineCounter()
  const where = {source, code: 'SPEC_INVALID' as const}
  const doc = parseYamlDocument(text, where, {lineCounter: lines})
  const result = specSchema.safeParse(applyOverrides(yamlToJS(doc, where), overrides, source))
  if (result.success) return result.data
  const messages = result.error.issues.slice(0, 10).map((issue) => {
    const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0] ?? ''] : issue.path
    const node = doc.getIn(path as unknown[], true) as {range?: [number, number]} | undefined
    const where = node?.range ? ` (line ${lines.linePos(node.range[0]).line})` : ''
    return `${formatYamlPath(issue.path)}: ${describeIssue(issue)}${where}`
  })
  const first = result.error.issues[0]
  throw new AirlockError('SPEC_INVALID', `${source} is not a valid bundle spec:\n  ${messages.join('\n  ')}`, {
    subject: first ? `${source}#${formatYamlPath(first.path)}` : source,
    hint: 'see the bundle spec in the README; bundles/demo.yaml is a working example',
  })
}

export async function loadSpec(path: string, overrides: Record<string, string> = {}): Promise<LoadedSpec> {
  const data = await readSmallFile(path, {what: 'bundle spec', maxBytes: 4 << 20})
  const spec = parseSpec(data.toString('utf8'), path, overrides)
  return {spec, path, baseDir: dirname(resolve(path)), sha256: createHash('sha256').update(data).digest('hex')}
}
