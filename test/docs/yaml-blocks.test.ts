import assert from 'node:assert/strict'
import {readdir, readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {parseAllDocuments} from 'yaml'

import {renderManifests} from '../../src/manifests/index.js'
import {loadProfile} from '../../src/profile/index.js'
import {REPO_ROOT} from '../support/paths.js'

/** Every ```yaml block a reader may copy parses, with no duplicate keys (the yaml library rejects them by default). */
function yamlBlocks(markdown: string): {line: number; text: string}[] {
  const blocks: {line: number; text: string}[] = []
  const lines = markdown.split('\n')
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*```ya?ml\s*$/.test(lines[i] ?? '')) continue
    const start = i + 1
    let j = start
    while (j < lines.length && !/^\s*```\s*$/.test(lines[j] ?? '')) j++
    blocks.push({line: start + 1, text: lines.slice(start, j).join('\n')})
    i = j
  }
  return blocks
}

function assertParses(source: string, markdown: string): number {
  const blocks = yamlBlocks(markdown)
  for (const b of blocks) {
    for (const doc of parseAllDocuments(b.text)) {
      assert.deepEqual(doc.errors.map((e) => e.message), [], `${source}:${b.line}: a YAML block does not parse`)
    }
  }
  return blocks.length
}

describe('docs: every YAML block parses', () => {
  it('README.md and docs/*.md', async () => {
    const files = ['README.md', ...(await readdir(join(REPO_ROOT, 'docs'))).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]
    let count = 0
    for (const f of files) count += assertParses(f, await readFile(join(REPO_ROOT, f), 'utf8'))
    assert.ok(count > 0, 'no YAML blocks found')
  })

  it('the rendered nodepools.md, for every platform (the OpenShift MachineSet example is one document per pool)', async () => {
    const profile = await loadProfile('wallaroo-2025.1')
    for (const platform of ['generic', 'eks', 'gke', 'aks', 'openshift'] as const) {
      const r = await renderManifests({profile, platform, ...(platform === 'generic' ? {provisioner: 'rancher.io/local-path'} : {})})
      const md = r.files.find((f) => f.path === 'nodepools.md')?.content ?? ''
      assert.ok(assertParses(`nodepools.md (${platform})`, md) >= 2)
    }
  })
})
