/*
 * airlock images push vs skopeo copy oci:... docker://... per image, into two fresh registries,
 * side by side. Run: npx tsx bench/images-push.ts [MB]
 */
import {execFile} from 'node:child_process'
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {makeKeys} from '../test/support/bundles.js'
import {BIN} from '../test/support/paths.js'
import {cleanupAll, startRegistry, tempDir} from '../test/support/registry.js'
import {seedImages, timed} from './images-common.js'

const run = promisify(execFile)
const totalMb = Number(process.argv[2] ?? 1024)

async function main(): Promise<void> {
  const s = await seedImages(totalMb)
  const dir = await tempDir('bench-push')
  const keys = await makeKeys(dir)
  const spec = join(dir, 'spec.yaml')
  await writeFile(spec, `apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: bench, version: 1.0.0}\nspec:\n  images:\n${s.refs.map((r) => `    - ${r}`).join('\n')}\n`)
  const bundle = join(dir, 'bundle.tar')
  await run(process.execPath, [BIN, 'bundle', 'build', spec, '--key', keys.key, '--out', bundle, '--insecure-registry', s.registry.host, '--quiet'])
  // The reference reads the same layout, unpacked (skopeo cannot read a tar by offset).
  await mkdir(join(dir, 'x'))
  await run('tar', ['xf', bundle, '-C', join(dir, 'x')])
  const layout = join(dir, 'x', 'bench-1.0.0', 'images')

  const [a, b] = await Promise.all([startRegistry(), startRegistry()])
  const airlock = await timed(process.execPath, [BIN, 'images', 'push', bundle, '--registry', a.host, '--insecure-registry', a.host, '--no-verify', '--quiet'])
  const verified = await timed(process.execPath, [BIN, 'images', 'push', bundle, '--registry', a.host, '--insecure-registry', a.host, '--trust', keys.pub, '--quiet'])
  let refSeconds = 0
  let refRss = 0
  for (const ref of s.refs) {
    const name = ref.replace(s.registry.host, b.host)
    const t = await timed('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:${ref}`, `docker://${name}`])
    refSeconds += t.seconds
    refRss = Math.max(refRss, t.peakRssMb)
  }
  const line = (name: string, secs: number, rss: number) => `${name.padEnd(40)} ${secs.toFixed(2).padStart(8)} s  ${rss.toFixed(0).padStart(5)} MB peak RSS`
  console.log(`images-push: ${s.refs.length} images, ${totalMb} MB of layers (40% shared base layers)`)
  console.log(line('airlock images push (--no-verify)', airlock.seconds, airlock.peakRssMb))
  console.log(line('airlock images push, 2nd run (verify)', verified.seconds, verified.peakRssMb))
  console.log(line('skopeo copy oci: docker:// per image', refSeconds, refRss))
  console.log(`ratio airlock / skopeo: ${(airlock.seconds / refSeconds).toFixed(2)} (target <= 1.0)`)
}

main()
  .catch((error: unknown) => {
    console.error(error)
    process.exitCode = 1
  })
  .finally(() => cleanupAll())
