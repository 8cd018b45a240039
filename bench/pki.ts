/*
 * Key + CSR for a domain: airlock's makeCsr (Node crypto keys, forge-asn1 DER, Node signing), in
 * process, against `openssl req -new -newkey` run side by side (which includes process start-up,
 * about 5-10 ms, shown separately). Run: npx tsx bench/pki.ts [iterations]
 */
import {spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {makeCsr} from '../src/pki/issue.js'

const n = Number(process.argv[2] ?? 10)
const dir = mkdtempSync(join(tmpdir(), 'bench-pki-'))
const time = async (fn: () => unknown): Promise<number> => {
  const start = performance.now()
  for (let i = 0; i < n; i++) await fn()
  return (performance.now() - start) / n
}
const startup = await time(() => spawnSync('openssl', ['version']))
for (const [type, newkey] of [['ecdsa-p256', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']], ['rsa-3072', ['-newkey', 'rsa:3072']]] as const) {
  const ours = await time(() => makeCsr({domain: 'wallaroo.example.com', sans: ['10.0.0.5'], keyType: type}))
  const theirs = await time(() => spawnSync('openssl', ['req', '-new', ...newkey, '-nodes', '-keyout', join(dir, 'k'), '-out', join(dir, 'c'), '-subj', '/CN=wallaroo.example.com', '-addext', 'subjectAltName=DNS:wallaroo.example.com,IP:10.0.0.5']))
  console.log(`${type.padEnd(11)} airlock ${ours.toFixed(1)} ms  openssl ${theirs.toFixed(1)} ms (start-up ${startup.toFixed(1)} ms)  ratio ${(ours / theirs).toFixed(2)}`)
}
rmSync(dir, {recursive: true, force: true})
