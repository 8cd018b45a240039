import {createReadStream} from 'node:fs'
import {Parser, type ReadEntry} from 'tar'

import {AirlockError, fromFsError} from '../ui/errors.js'
import {isGzipMagic, readFileHead, readSmallFile} from '../util/fs.js'
import {parseYamlDocuments} from '../util/yaml.js'

/** One item of a KOTS `kind: Config` (kots.io/v1beta1), reduced to what validation needs. */
export interface AppConfigItem {
  name: string
  type: string
  group: string
  required: boolean
  /** the Config's own `default` and `value` (templates unrendered); KOTS reads the value only when the ConfigValues do not set the item */
  default: string
  value: string
  /**
   * KOTS takes the Config's own value for it and ignores ConfigValues (pkg/template isReadOnly):
   * `readonly: true`, or a type that is not editable
   */
  readonly: boolean
  hidden: boolean
  /** the item or its group has `when: false`: KOTS skips it (pkg/kotsadmconfig NeedsConfiguration) */
  skipped: boolean
  /** the item's or its group's `when` is a template, evaluated against the values (see when.ts) */
  conditional: boolean
  /** the `when` texts as written, the group's first: both must hold for the item to count */
  when: unknown[]
  /** a repeatable item: ConfigValues entries point at it with `repeatableItem`; it is set once it has any */
  repeatable: boolean
  /** the Config itself gives a repeatable item entries (`valuesByGroup`), so it is never unset */
  repeatableDefaults: boolean
  /** choices of select_one / radio / dropdown items */
  options: string[]
}

export interface AppConfig {
  /** the file, or `APP.airgap!path/inside` */
  source: string
  items: Map<string, AppConfigItem>
}

export const SELECT_TYPES = new Set(['select_one', 'radio', 'dropdown'])
/**
 * The item types KOTS lets ConfigValues set (pkg/template isReadOnly, `EditableItemTypes`; an empty
 * type is text), plus `radio` and `dropdown`, the choices KOTS 1.114 added to replace select_one (the
 * user picks one and ConfigOption returns it). Every other type (label, heading) takes the Config's
 * own value.
 */
export const EDITABLE_TYPES = new Set(['', 'text', 'textarea', 'password', 'file', 'bool', 'select', 'select_one', 'select_many', 'radio', 'dropdown'])

/** `when` as KOTS reads it after templating: the literal false skips, the literal true (or none) keeps, a template is undecided here. */
export function whenState(when: unknown): 'true' | 'false' | 'template' {
  if (when === undefined || when === null || when === true || when === '' || String(when).trim() === 'true') return 'true'
  if (when === false || String(when).trim() === 'false') return 'false'
  return 'template'
}

const MAX_YAML_BYTES = 4 << 20
const MAX_NESTED_ARCHIVE_BYTES = 512 << 20
const MAX_NESTING = 2

/**
 * The application's Config from a YAML file or from inside an `.airgap` (a gzip tar of the app's
 * manifests, which may hold them in a nested app.tar.gz). Archives are read as streams: nothing is
 * written to disk, so entry names never become paths, and only YAML entries are held in memory.
 */
export async function loadAppConfig(path: string): Promise<AppConfig> {
  if (await isArchive(path)) return readConfigFromArchive(path)
  const raw = await readSmallFile(path, {what: 'application Config', maxBytes: MAX_YAML_BYTES})
  const config = parseConfigDocuments(raw.toString('utf8'), path)
  if (!config) {
    throw new AirlockError('INPUT_INVALID', `${path} holds no kind: Config (kots.io/v1beta1)`, {subject: path, hint: 'pass the application\'s KOTS Config YAML or its .airgap bundle'})
  }
  return config
}

async function isArchive(path: string): Promise<boolean> {
  const head = await readFileHead(path, 512, 'application Config')
  return isGzipMagic(head) || (head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar')
}

/** Parses every YAML document of `text`; returns the Config it holds, if any. Bad YAML is an error only when nothing else could be the Config. */
export function parseConfigDocuments(text: string, source: string): AppConfig | undefined {
  for (const doc of parseYamlDocuments(text, {source, code: 'INPUT_INVALID'})) {
    if ('error' in doc) continue
    const obj = doc.value as Record<string, unknown> | null
    if (obj && typeof obj === 'object' && obj.kind === 'Config' && typeof obj.apiVersion === 'string' && obj.apiVersion.startsWith('kots.io/')) {
      return {source, items: configItems(obj, source)}
    }
  }
  return undefined
}

function configItems(obj: Record<string, unknown>, source: string): Map<string, AppConfigItem> {
  const spec = obj.spec as {groups?: unknown} | undefined
  const groups = spec?.groups
  if (!Array.isArray(groups)) {
    throw new AirlockError('INPUT_INVALID', `${source}: spec.groups: a list of groups is required in a kind: Config`, {subject: `${source}#spec.groups`})
  }
  const items = new Map<string, AppConfigItem>()
  groups.forEach((group: {name?: unknown; items?: unknown; when?: unknown}, g) => {
    if (!Array.isArray(group?.items)) return
    const groupWhen = whenState(group.when)
    group.items.forEach((item: Record<string, unknown>, i) => {
      if (typeof item?.name !== 'string' || item.name === '') {
        throw new AirlockError('INPUT_INVALID', `${source}: spec.groups[${g}].items[${i}].name: every item needs a name`, {subject: `${source}#spec.groups[${g}].items[${i}].name`})
      }
      const choices = Array.isArray(item.items) ? (item.items as {name?: unknown}[]).map((c) => c?.name).filter((n): n is string => typeof n === 'string') : []
      const type = typeof item.type === 'string' ? item.type : ''
      const itemWhen = whenState(item.when)
      items.set(item.name, {
        name: item.name,
        type: type || 'text',
        group: typeof group.name === 'string' ? group.name : `#${g}`,
        required: item.required === true,
        default: text(item.default),
        value: text(item.value),
        readonly: item.readonly === true || !EDITABLE_TYPES.has(type),
        hidden: item.hidden === true,
        skipped: groupWhen === 'false' || itemWhen === 'false',
        // a templated group `when` decides for all of its items, as an item's own `when` does
        conditional: groupWhen === 'template' || itemWhen === 'template',
        when: [group.when, item.when].filter((w) => w !== undefined && w !== null),
        repeatable: item.repeatable === true,
        repeatableDefaults: hasEntries(item.valuesByGroup),
        options: choices,
      })
    })
  })
  return items
}

/** `default: "1"`, `default: 1` and `default: true` all reach KOTS as text. */
function text(v: unknown): string {
  return v === undefined || v === null ? '' : String(v)
}

function hasEntries(valuesByGroup: unknown): boolean {
  if (typeof valuesByGroup !== 'object' || valuesByGroup === null) return false
  return Object.values(valuesByGroup).some((g) => typeof g === 'object' && g !== null && Object.keys(g).length > 0)
}

async function readConfigFromArchive(path: string): Promise<AppConfig> {
  let found: AppConfig | undefined
  const scanned: string[] = []
  const visit = (entry: ReadEntry, prefix: string, depth: number): Promise<void> | undefined => {
    const name = `${prefix}${entry.path}`
    if (entry.type !== 'File' || found) return undefined
    if (/\.ya?ml$/i.test(entry.path) && entry.size <= MAX_YAML_BYTES) {
      return entry.concat().then((buf) => {
        scanned.push(name)
        found ??= parseConfigDocuments(buf.toString('utf8'), `${path}!${name}`)
      })
    }
    if (depth < MAX_NESTING && /\.(tar\.gz|tgz|tar)$/i.test(entry.path) && entry.size <= MAX_NESTED_ARCHIVE_BYTES && !/^images\//.test(entry.path)) {
      return parseArchiveStream(entry, `${name}!`, depth + 1, visit)
    }
    return undefined
  }
  await parseArchiveStream(createReadStream(path), '', 0, visit).catch((error: unknown) => {
    if (error instanceof AirlockError) throw error
    const mapped = fromFsError(error, path, 'application archive')
    if (mapped !== error) throw mapped
    throw new AirlockError('INPUT_INVALID', `${path} is not a readable tar or gzip tar: ${(error as Error).message}`, {subject: path, hint: 'pass the application\'s .airgap bundle or its Config YAML', cause: error})
  })
  if (!found) {
    throw new AirlockError('INPUT_INVALID', `${path}: no kind: Config (kots.io/v1beta1) among its ${scanned.length} YAML file(s)`, {subject: path, hint: 'is this the application\'s .airgap? Pass the Config YAML instead'})
  }
  return found
}

type Visitor = (entry: ReadEntry, prefix: string, depth: number) => Promise<void> | undefined

/** Streams a (gzip) tar through node-tar's parser; entries no one reads are drained, never buffered. */
function parseArchiveStream(source: NodeJS.ReadableStream | ReadEntry, prefix: string, depth: number, visit: Visitor): Promise<void> {
  return new Promise((resolve, reject) => {
    const pending: Promise<void>[] = []
    const parser = new Parser({strict: true, maxDecompressionRatio: 200})
    parser.on('entry', (entry: ReadEntry) => {
      const work = visit(entry, prefix, depth)
      // handled at once: a rejection waiting for 'end' would be reported as unhandled first
      if (work) pending.push(work.catch((error: unknown) => {
        parser.abort(error as Error)
        throw error
      }))
      else entry.resume()
    })
    parser.on('error', reject)
    parser.on('end', () => {
      Promise.all(pending).then(() => resolve(), reject)
    })
    const stream = source as NodeJS.ReadableStream
    stream.on('error', reject)
    stream.pipe(parser as unknown as NodeJS.WritableStream)
  })
}
