import {createHash} from 'node:crypto'
import {dirname, resolve} from 'node:path'
import {LineCounter, parseDocument} from 'yaml'
import type {z} from 'zod'

import {AirlockError} from '../ui/errors.js'
import {readSmallFile} from '../util/fs.js'
import {specSchema, type BundleSpec} from './schema.js'

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

/** Parses and validates spec text; `source` names the file in every error. */
export function parseSpec(text: string, source: string): BundleSpec {
  const lines = new LineCounter()
  const doc = parseDocument(text, {lineCounter: lines, prettyErrors: true})
  if (doc.errors.length > 0) {
    const first = doc.errors[0]
    const pos = first?.linePos?.[0]
    throw new AirlockError('SPEC_INVALID', `${source}${pos ? `:${pos.line}:${pos.col}` : ''}: not valid YAML: ${first?.message.split('\n')[0]}`, {subject: source, hint: 'fix the YAML syntax at that line'})
  }
  const result = specSchema.safeParse(doc.toJS())
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

export async function loadSpec(path: string): Promise<LoadedSpec> {
  const data = await readSmallFile(path, {what: 'bundle spec', maxBytes: 4 << 20})
  const spec = parseSpec(data.toString('utf8'), path)
  return {spec, path, baseDir: dirname(resolve(path)), sha256: createHash('sha256').update(data).digest('hex')}
}
