import type {Finding, InspectReport, Severity} from './findings.js'

const MARK: Record<Severity, string> = {ok: 'ok', info: 'info', warn: 'WARN', fail: 'FAIL'}

/** Table cells must not break the Markdown table. */
function cell(text: string | undefined): string {
  return (text ?? '').replaceAll('|', '\\|').replaceAll('\n', ' ')
}

/** The review as Markdown: what was read, then every check with its severity, worst first. */
export function renderReviewMarkdown(report: InspectReport, options: {title: string; provenance?: string[]; verifyCommands?: string[]}): string {
  const lines = [`# ${options.title}`, '', `Verdict: **${report.verdict.toUpperCase()}** (${report.counts.fail} fail, ${report.counts.warn} warn, ${report.counts.ok} ok, ${report.counts.info} info)`, '']
  if (options.provenance && options.provenance.length > 0) {
    lines.push('## How these were made', '', ...options.provenance.map((p) => `- ${p}`), '')
  }
  lines.push('## Objects', '', '| file | kind | subject | names | key | signature | valid | fingerprint |', '| --- | --- | --- | --- | --- | --- | --- | --- |')
  for (const o of report.objects) {
    const valid = o.notBefore ? `${o.notBefore} to ${o.notAfter}` : ''
    lines.push(`| ${cell(o.source)} | ${o.kind}${o.ca ? ' (CA)' : ''}${o.encrypted ? ' (encrypted)' : ''} | ${cell(o.subject)} | ${cell(o.sans?.join(', '))} | ${cell(o.key)} | ${cell(o.signature)} | ${valid} | ${cell(o.fingerprint)} |`)
  }
  lines.push('', '## Findings', '', '| severity | check | file | finding |', '| --- | --- | --- | --- |')
  for (const f of sortFindings(report.findings)) lines.push(`| ${MARK[f.severity]} | ${f.check} | ${cell(f.subject)} | ${cell(f.message)}${f.hint ? ` (${cell(f.hint)})` : ''} |`)
  if (options.verifyCommands && options.verifyCommands.length > 0) {
    lines.push('', '## Check it yourself', '', '```sh', ...options.verifyCommands, '```')
  }
  return `${lines.join('\n')}\n`
}

const ORDER: Record<Severity, number> = {fail: 0, warn: 1, info: 2, ok: 3}

export function sortFindings(findings: Finding[]): Finding[] {
  return [...findings].sort((a, b) => ORDER[a.severity] - ORDER[b.severity])
}
