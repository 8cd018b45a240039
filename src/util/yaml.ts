import {LineCounter, parseAllDocuments, parseDocument, type Document} from 'yaml'

import {AirlockError, type ErrorCode} from '../ui/errors.js'

/*
 * The one way airlock parses YAML it did not write: spec files, --set values, profiles, KOTS Config
 * and ConfigValues, requirements, snapshots. Every reader gets the same limits, so none of them can
 * be made to hang, exhaust memory or crash with an error that is not ours:
 *  - a size cap on the text;
 *  - a cap on alias uses (yaml's maxAliasCount), which stops "billion laughs" alias bombs;
 *  - syntax errors and the alias cap become an AirlockError with the reader's code and the source.
 */

export const MAX_YAML_BYTES = 4 << 20
/** far above any real spec or KOTS file, far below what an alias bomb needs */
export const MAX_YAML_ALIASES = 100

export interface YamlWhere {
  /** the file, `--set KEY`, or `APP.airgap!path` */
  source: string
  code: ErrorCode
  hint?: string
}

export interface YamlParseOptions {
  lineCounter?: LineCounter
  prettyErrors?: boolean
  maxBytes?: number
}

function checkSize(text: string, where: YamlWhere, max = MAX_YAML_BYTES): void {
  const bytes = Buffer.byteLength(text)
  if (bytes > max) throw new AirlockError(where.code, `${where.source} is ${bytes} bytes of YAML, more than the ${max} it may have`, {subject: where.source, hint: where.hint})
}

function syntaxError(doc: Document, where: YamlWhere, lines?: LineCounter): AirlockError {
  const first = doc.errors[0]
  const pos = first?.linePos?.[0] ?? (lines && first?.pos ? lines.linePos(first.pos[0]) : undefined)
  return new AirlockError(where.code, `${where.source}${pos ? `:${pos.line}:${pos.col}` : ''}: not valid YAML: ${first?.message.split('\n')[0]}`, {subject: where.source, hint: where.hint ?? 'fix the YAML syntax at that line'})
}

/** One YAML document, syntax-checked; use yamlToJS for its value. */
export function parseYamlDocument(text: string, where: YamlWhere, options: YamlParseOptions = {}): Document {
  checkSize(text, where, options.maxBytes)
  const doc = parseDocument(text, {lineCounter: options.lineCounter, prettyErrors: options.prettyErrors ?? true})
  if (doc.errors.length > 0) throw syntaxError(doc, where, options.lineCounter)
  return doc
}

/** A parsed document's value, with aliases expanded at most MAX_YAML_ALIASES times. */
export function yamlToJS(doc: Document, where: YamlWhere): unknown {
  try {
    return doc.toJS({maxAliasCount: MAX_YAML_ALIASES})
  } catch (error) {
    if (error instanceof AirlockError) throw error
    throw new AirlockError(where.code, `${where.source}: YAML aliases expand too far (${(error as Error).message}); more than ${MAX_YAML_ALIASES} alias uses is refused`, {
      subject: where.source,
      hint: where.hint ?? 'write the values out instead of through many aliases; this is what an alias bomb looks like',
      cause: error,
    })
  }
}

/** Text to a value in one step. */
export function parseYaml(text: string, where: YamlWhere, options: YamlParseOptions = {}): unknown {
  return yamlToJS(parseYamlDocument(text, where, options), where)
}

/**
 * Every document of a multi-document stream, each as `{value}` or `{error}`: a reader looking for
 * one kind among many (a KOTS Config among an app's manifests) skips what it cannot read, while an
 * alias bomb or an oversized text is still refused outright.
 */
export function parseYamlDocuments(text: string, where: YamlWhere, options: YamlParseOptions = {}): Array<{value: unknown} | {error: AirlockError}> {
  checkSize(text, where, options.maxBytes)
  const docs = parseAllDocuments(text)
  const list = Array.isArray(docs) ? docs : [docs]
  return list.map((doc) => (doc.errors.length > 0 ? {error: syntaxError(doc, where)} : {value: yamlToJS(doc, where)}))
}
