import {renderTable as table} from '../ui/table.js'
import type {CheckResult, CheckStatus} from './checks.js'
import type {Distribution} from './distribution.js'
import type {ClusterFacts} from './facts.js'
import type {NodeRole} from './schedulable.js'

export interface ClusterReport {
  /** true when nothing failed and every check of fail severity was decided (warnings allowed) */
  ok: boolean
  /** ready: exit 0; not-ready: a check failed, exit 1; incomplete: none failed but a fail-severity check could not be decided, exit 5 */
  verdict: 'ready' | 'not-ready' | 'incomplete'
  profile: {name: string; version: string; source: string; sha256: string}
  source: ClusterFacts['source']
  distribution: Distribution
  kubernetesVersion?: string
  edition: string
  nodes: {total: number; workers: number; excluded: NodeRole[]}
  cores: {whole: number; allocatable: number}
  summary: Record<CheckStatus, number>
  checks: CheckResult[]
}

const MARK: Record<CheckStatus, string> = {pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP', unchecked: 'UNCHECKED'}

export function verdictOf(r: ClusterReport): ClusterReport['verdict'] {
  return r.verdict
}

/** Statuses whose hint the reader needs: everything that did not pass and was not simply not applicable. */
function needsAction(c: CheckResult): boolean {
  return c.status === 'fail' || c.status === 'warn' || c.status === 'unchecked'
}

function sourceLine(r: ClusterReport): string {
  const s = r.source
  if (s.kind === 'live') return `live: ${s.context ?? ''} ${s.server ?? ''}`.trim()
  return `${s.kind === 'snapshot' ? 'snapshot' : 'kubectl dump'} ${s.file ?? ''}${s.kind === 'snapshot' ? ` (taken ${s.takenAt})` : ''}`
}

function headline(r: ClusterReport): string {
  const s = r.summary
  const word = r.verdict === 'ready' ? 'OK' : r.verdict === 'not-ready' ? 'NOT READY' : 'INCOMPLETE (required checks could not be decided)'
  return `${word}: ${s.fail} failed, ${s.unchecked} could not be checked, ${s.warn} warnings, ${s.pass} passed, ${s.skip} not applicable`
}

/** The terminal view: one row per check, then what to do about each one that did not pass. */
export function renderTable(r: ClusterReport): string {
  const lines = [
    `cluster      ${sourceLine(r)}`,
    `platform     ${r.distribution.name}${r.kubernetesVersion ? ` ${r.kubernetesVersion}` : ''}${r.distribution.evidence.length ? ` (${r.distribution.evidence[0]})` : ''}`,
    `profile      ${r.profile.name} (${r.profile.source}), edition ${r.edition}`,
    `nodes        ${r.nodes.workers} schedulable workers of ${r.nodes.total}, ${r.cores.whole} cores`,
    '',
    table(
      ['STATUS', 'CHECK', 'OBSERVED', 'EXPECTED'],
      r.checks.map((c) => [MARK[c.status], c.id, c.observed, c.expected]),
    ),
  ]
  const todo = r.checks.filter(needsAction)
  if (todo.length) {
    lines.push('', 'What to do:')
    for (const c of todo) {
      lines.push(`  ${MARK[c.status]} ${c.id}: ${c.hint ?? ''}`)
      for (const d of c.details ?? []) lines.push(`       - ${d}`)
    }
  }
  lines.push('', headline(r))
  return lines.join('\n')
}

function xml(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&apos;')
}

function caseBody(c: CheckResult): string {
  return [`observed: ${c.observed}`, `expected: ${c.expected}`, ...(c.hint ? [`hint: ${c.hint}`] : []), ...(c.details ?? []).map((d) => `- ${d}`)].join('\n')
}

/**
 * JUnit XML as CI servers read it: a failed check is a <failure>, a skipped one <skipped>; a warning
 * passes but carries its text in <system-out> so it shows in the CI view.
 */
export function renderJunit(r: ClusterReport): string {
  const cases = r.checks.map((c) => {
    const open = `    <testcase classname="cluster.${xml(r.profile.name)}" name="${xml(c.id)}: ${xml(c.title)}">`
    const body =
      c.status === 'fail'
        ? `\n      <failure message="${xml(c.observed)}" type="${c.severity}">${xml(caseBody(c))}</failure>\n    `
        : c.status === 'unchecked' && c.severity === 'fail'
          ? `\n      <failure message="${xml(`could not be checked: ${c.observed}`)}" type="unchecked">${xml(caseBody(c))}</failure>\n    `
          : c.status === 'skip' || c.status === 'unchecked'
          ? `\n      <skipped message="${xml(c.observed)}"/>\n    `
          : c.status === 'warn'
            ? `\n      <system-out>${xml(`WARNING\n${caseBody(c)}`)}</system-out>\n    `
            : ''
    return `${open}${body}</testcase>`
  })
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="airlock cluster verify" tests="${r.checks.length}" failures="${failures(r)}" skipped="${r.checks.length - failures(r) - passing(r)}">`,
    `  <testsuite name="${xml(`${r.distribution.name}: ${sourceLine(r)}`)}" tests="${r.checks.length}" failures="${failures(r)}" skipped="${r.checks.length - failures(r) - passing(r)}" timestamp="${xml(r.source.takenAt)}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n')
}

function failures(r: ClusterReport): number {
  return r.checks.filter((c) => c.status === 'fail' || (c.status === 'unchecked' && c.severity === 'fail')).length
}

function passing(r: ClusterReport): number {
  return r.checks.filter((c) => c.status === 'pass' || c.status === 'warn').length
}

function md(s: string): string {
  return s.replaceAll('|', '\\|').replaceAll('\n', ' ')
}

/** A report a site can attach to a ticket for the vendor or security: facts, verdicts, what to do. */
export function renderMarkdown(r: ClusterReport): string {
  const lines = [
    `# Cluster readiness: ${r.profile.name}`,
    '',
    `**${headline(r)}**`,
    '',
    '| | |',
    '| --- | --- |',
    `| cluster | ${md(sourceLine(r))} |`,
    `| platform | ${md(r.distribution.name)}${r.kubernetesVersion ? ` ${md(r.kubernetesVersion)}` : ''} |`,
    `| detected from | ${md(r.distribution.evidence.join('; ') || 'no distribution markers')} |`,
    `| profile | ${md(r.profile.name)} ${md(r.profile.version)} (sha256 ${r.profile.sha256.slice(0, 16)}...) |`,
    `| edition | ${md(r.edition)} |`,
    `| nodes | ${r.nodes.workers} schedulable workers of ${r.nodes.total}, ${r.cores.whole} cores |`,
    '',
    '| status | check | observed | expected |',
    '| --- | --- | --- | --- |',
    ...r.checks.map((c) => `| ${MARK[c.status]} | \`${c.id}\` ${md(c.title)} | ${md(c.observed)} | ${md(c.expected)} |`),
  ]
  const todo = r.checks.filter((c) => needsAction(c) && c.hint)
  if (todo.length) {
    lines.push('', '## What to do', '')
    for (const c of todo) {
      lines.push(`- **${MARK[c.status]} \`${c.id}\`**: ${md(c.hint ?? '')}`)
      for (const d of c.details ?? []) lines.push(`  - ${md(d)}`)
    }
  }
  if (r.nodes.excluded.length) {
    lines.push('', '## Nodes not counted', '')
    for (const n of r.nodes.excluded) lines.push(`- ${md(n.name)}: ${md(n.reason ?? '')}`)
  }
  lines.push('')
  return lines.join('\n')
}
