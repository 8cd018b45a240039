/*
 * airlock bundle build vs the reference pipeline (skopeo copy of every image into one OCI layout,
 * tar cf, sha256sum), side by side on the same local registry. Run: npx tsx bench/images-build.ts [MB]
 */
import {rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {makeKeys} from '../test/support/bundles.js'
import {BIN} from '../test/support/paths.js'
import {cleanupAll, tempDir} from '../test/support/registry.js'
import {seedImages, timed} from './images-common.js'

const totalMb = Number(process.argv[2] ?? 1024)

async function main(): Promise<void> {
  const s = await seedImages(totalMb)
  const dir = await tempDir('bench-build')
  const keys = await makeKeys(dir)
  const spec = join(dir, 'spec.yaml')
  await writeFile(spec, `apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: bench, version: 1.0.0}\nspec:\n  images:\n${s.refs.map((r) => `    - ${r}`).join('\n')}\n`)

  const airlock = await timed(process.execPath, [BIN, 'bundle', 'build', spec, '--key', keys.key, '--out', join(dir, 'bundle.tar'), '--insecure-registry', s.registry.host, '--concurrency', '4', '--quiet'])
  await rm(join(dir, 'bundle.tar'))

  const layout = join(dir, 'ref-layout')
  let refSeconds = 0
  let refRss = 0
  for (const [i, ref] of s.refs.entries()) {
    const t = await timed('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `oci:${layout}:img${i}`])
    refSeconds += t.seconds
    refRss = Math.max(refRss, t.peakRssMb)
  }
  const tar = await timed('tar', ['cf', join(dir, 'ref.tar'), '-C', dir, 'ref-layout'])
  const sum = await timed('sha256sum', [join(dir, 'ref.tar')])
  refSeconds += tar.seconds + sum.seconds

  const line = (name: string, secs: number, rss: number) => `${name.padEnd(34)} ${secs.toFixed(2).padStart(8)} s  ${rss.toFixed(0).padStart(5)} MB peak RSS`
  console.log(`images-build: ${s.refs.length} images, ${totalMb} MB of layers (40% shared base layers)`)
  console.log(line('airlock bundle build', airlock.seconds, airlock.peakRssMb))
  console.log(line('skopeo copy + tar cf + sha256sum', refSeconds, refRss))
  console.log(`ratio airlock / reference: ${(airlock.seconds / refSeconds).toFixed(2)} (target <= 1.0), airlock peak RSS ${airlock.peakRssMb.toFixed(0)} MB (target <= 200)`)
}

main()
  .catch((error: unknown) => {
    console.error(error)
    process.exitCode = 1
  })
  .finally(() => cleanupAll())
