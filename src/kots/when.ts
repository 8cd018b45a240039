/**
 * KOTS renders a `when` (of a group or an item) as a Go template, then compares the text with
 * "false" (pkg/kotsadmconfig NeedsConfiguration, IsRequiredItem). Most Configs write conditions in
 * a handful of forms over ConfigOption values; those are evaluated here so that a required item
 * under a condition that holds is required, as KOTS will require it. Anything else (license fields,
 * Distribution, pipelines, sprig functions) is `undecided`: the caller says so instead of guessing.
 *
 * Forms: `repl{{ EXPR }}` or `{{repl EXPR }}` as the whole text, with EXPR one of
 * `ConfigOptionEquals "item" "value"`, `ConfigOptionNotEquals "item" "value"`,
 * `eq|ne (ConfigOption "item") "value"` (either order), `and|or X Y...`, `not X`, `true`, `false`,
 * where X is `(EXPR)`.
 */
export type WhenResult = 'true' | 'false' | 'undecided'

/** The value ConfigOption returns for an item, `undefined` when no such item exists, `null` when it cannot be known here. */
export type OptionLookup = (item: string) => string | undefined | null

type Token = {kind: 'string'; text: string} | {kind: 'word'; text: string} | {kind: 'open'} | {kind: 'close'}

const DELIMITED = [/^repl\{\{-?\s*([\s\S]*?)\s*-?\}\}$/, /^\{\{-?\s*repl\s+([\s\S]*?)\s*-?\}\}$/]

class Undecided extends Error {}

function tokenize(text: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  while (i < text.length) {
    const c = text[i] as string
    if (/\s/.test(c)) {
      i++
    } else if (c === '(') {
      tokens.push({kind: 'open'})
      i++
    } else if (c === ')') {
      tokens.push({kind: 'close'})
      i++
    } else if (c === '"' || c === '`') {
      const end = c === '`' ? text.indexOf('`', i + 1) : findQuoteEnd(text, i + 1)
      if (end < 0) throw new Undecided('unterminated string')
      const raw = text.slice(i, end + 1)
      tokens.push({kind: 'string', text: c === '`' ? raw.slice(1, -1) : (JSON.parse(raw) as string)})
      i = end + 1
    } else {
      const m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(text.slice(i))
      if (!m) throw new Undecided(`unexpected ${c}`)
      tokens.push({kind: 'word', text: m[0]})
      i += m[0].length
    }
  }
  return tokens
}

function findQuoteEnd(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] === '\\') i++
    else if (text[i] === '"') return i
  }
  return -1
}

type Value = boolean | string | undefined

/** Evaluates a `when` as KOTS would, for the forms above. */
export function evaluateWhen(when: unknown, lookup: OptionLookup): WhenResult {
  if (when === undefined || when === null || when === true || when === '') return 'true'
  if (when === false) return 'false'
  const text = String(when).trim()
  if (text === 'false') return 'false'
  if (!text.includes('{{')) return 'true' // any rendered text other than "false" keeps the item
  const inner = DELIMITED.map((re) => re.exec(text)?.[1]).find((x) => x !== undefined)
  if (inner === undefined) return 'undecided'
  try {
    const tokens = tokenize(inner)
    let pos = 0
    const option = (name: string): string => {
      const v = lookup(name)
      if (v === null) throw new Undecided(`${name} is not known here`)
      return v ?? ''
    }
    const argument = (): Value => {
      const t = tokens[pos]
      if (!t) throw new Undecided('missing argument')
      if (t.kind === 'string') {
        pos++
        return t.text
      }
      if (t.kind === 'open') {
        pos++
        const v = call()
        if (tokens[pos]?.kind !== 'close') throw new Undecided('unbalanced parentheses')
        pos++
        return v
      }
      if (t.kind === 'word' && (t.text === 'true' || t.text === 'false')) {
        pos++
        return t.text === 'true'
      }
      throw new Undecided('unsupported argument')
    }
    const strings = (n: number): string[] =>
      Array.from({length: n}, () => {
        const v = argument()
        if (typeof v !== 'string') throw new Undecided('a string was expected')
        return v
      })
    const call = (): Value => {
      const t = tokens[pos]
      if (!t || t.kind !== 'word') return argument()
      pos++
      switch (t.text) {
        case 'true':
          return true
        case 'false':
          return false
        case 'ConfigOptionEquals':
        case 'ConfigOptionNotEquals': {
          const [name, value] = strings(2) as [string, string]
          const v = lookup(name)
          if (v === null) throw new Undecided(`${name} is not known here`)
          // KOTS: an item that does not exist makes both functions false
          if (v === undefined) return false
          return t.text === 'ConfigOptionEquals' ? v === value : v !== value
        }
        case 'ConfigOption':
          return option(strings(1)[0] as string)
        case 'eq':
        case 'ne': {
          const a = argument()
          const b = argument()
          return t.text === 'eq' ? a === b : a !== b
        }
        case 'not':
          return !truthy(argument())
        case 'and':
        case 'or': {
          const args: Value[] = []
          while (pos < tokens.length && tokens[pos]?.kind !== 'close') args.push(argument())
          if (args.length < 2) throw new Undecided(`${t.text} needs two arguments`)
          return t.text === 'and' ? args.every(truthy) : args.some(truthy)
        }
        default:
          throw new Undecided(`${t.text} is not evaluated here`)
      }
    }
    const result = call()
    if (pos !== tokens.length) return 'undecided'
    // Go's template prints a bool as true/false and a string as itself; only the text "false" hides
    return (typeof result === 'boolean' ? String(result) : (result ?? '')) === 'false' ? 'false' : 'true'
  } catch (error) {
    if (error instanceof Undecided || error instanceof SyntaxError) return 'undecided'
    throw error
  }
}

function truthy(v: Value): boolean {
  return typeof v === 'boolean' ? v : v !== undefined && v !== ''
}
