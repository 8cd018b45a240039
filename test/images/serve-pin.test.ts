import assert from 'node:assert/strict'
import {open, readFile, rename, stat, symlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {locateBundleEntries} from '../../src/images/bundle-read.js'
import {parseTrust} from '../../src/signing/trust.js'
import {splitBundle} from '../../src/transport/parts.js'
import {openRandomAccess} from '../../src/transport/random-access.js'
import {buildTestBundle, makeKeys} from '../support/bundles.js'
import {makeTempDir} from '../support/cleanup.js'

/** Waits until `file` last changed more than two seconds ago: a file changed more recently is never pinned. */
async function settled(file: string): Promise<void> {
  const age = Date.now() - (await stat(file)).ctimeMs
  if (age < 2100) await new Promise((r) => setTimeout(r, 2100 - age))
}

async function writeByte(file: string, at: number, value: number): Promise<void> {
  const h = await open(file, 'r+')
  try {
    await h.write(Buffer.from([value]), 0, 1, at)
  } finally {
    await h.close()
  }
}

// What lets images serve send a verified blob without hashing it again: the pin of the bundle's files
describe('images serve: the bundle file pinned at verification', function () {
  this.timeout(20_000)

  it('sees any write to a pinned file, even of the same byte, and a file renamed over its path', async () => {
    const dir = await makeTempDir('serve-pin')
    const file = join(dir, 'bundle.tar')
    const bytes = Buffer.alloc(3 << 20, 7)
    await writeFile(file, bytes)
    const other = join(dir, 'other.tar')
    await writeFile(other, bytes)
    await settled(file)
    const bundle = await openRandomAccess(file)
    try {
      const pin = await bundle.pin?.()
      assert.ok(pin, 'a settled local file is pinned')
      await pin.checkPaths()
      await pin.check(0, bundle.size)
      // the same value written back still moves ctime: the pin cannot tell, so it refuses
      await writeByte(file, 2 << 20, 7)
      await assert.rejects(pin.check(1 << 20, 100), (e: {code: string; subject: string}) => e.code === 'DIGEST_MISMATCH' && e.subject === file)
      // the same write while the bundle was being verified: serve stops before listening
      await assert.rejects(pin.checkPaths(), (e: {code: string; subject: string}) => e.code === 'DIGEST_MISMATCH' && e.subject === file)

      const again = await openRandomAccess(other)
      try {
        const pinned = await again.pin?.()
        assert.ok(pinned)
        // what verify reads by path is no longer the file these handles read
        await writeFile(join(dir, 'swap.tar'), bytes)
        await rename(join(dir, 'swap.tar'), other)
        await assert.rejects(pinned.checkPaths(), (e: {code: string}) => e.code === 'DIGEST_MISMATCH')
      } finally {
        await again.close()
      }
    } finally {
      await bundle.close()
    }
  })

  it('refuses to serve a file other than the one verified: a path pointed elsewhere for verification and back again', async () => {
    const dir = await makeTempDir('serve-pin-swap')
    const keys = await makeKeys(dir)
    const real = await buildTestBundle(dir, keys)
    const decoy = join(dir, 'decoy.tar')
    await writeFile(decoy, await readFile(real))
    // the path served is a link (a release folder pointing at its current bundle): pointing it
    // elsewhere and back changes neither file, so neither ctime tells
    const file = join(dir, 'current.tar')
    const pointAt = async (target: string) => {
      await symlink(target, `${file}.next`)
      await rename(`${file}.next`, file)
    }
    await pointAt(real)
    await settled(real)
    const trust = parseTrust(await readFile(keys.pub, 'utf8'), keys.pub)
    const bundle = await openRandomAccess(file)
    try {
      const pin = await bundle.pin?.()
      assert.ok(pin)
      // the verified pass over the pinned file itself is accepted
      const honest = await locateBundleEntries(bundle, file, {trust})
      assert.ok(honest.readFrom, 'a plain file reports the file it verified')
      await pin.checkPaths(honest.readFrom)
      // someone who can write the folder points the path at another file (here the same bytes,
      // which a real swap would not have) while it is verified, then back
      await pointAt(decoy)
      const swapped = await locateBundleEntries(bundle, file, {trust})
      await pointAt(real)
      await assert.rejects(pin.checkPaths(swapped.readFrom), (e: {code: string; subject: string; message: string}) => e.code === 'DIGEST_MISMATCH' && e.subject === file && /replaced while it was verified/.test(e.message))
    } finally {
      await bundle.close()
    }
  })

  it('pins a split bundle: its index and every part, and reads across the part boundaries', async () => {
    const dir = await makeTempDir('serve-pin')
    const file = join(dir, 'split.tar')
    const whole = Buffer.alloc(3_000_000)
    for (let i = 0; i < whole.length; i++) whole[i] = (i * 13) % 253
    await writeFile(file, whole)
    const split = await splitBundle(file, 1 << 20)
    await settled(split.index)
    const bundle = await openRandomAccess(split.index)
    try {
      const into = Buffer.alloc(1_500_000)
      await bundle.readInto?.(into, 1_000_000)
      assert.ok(into.equals(whole.subarray(1_000_000, 2_500_000)))
      const pin = await bundle.pin?.()
      assert.ok(pin)
      await pin.checkPaths()
      // a part no blob in [0, 1 MiB) touches changes: only ranges it holds are refused
      await writeByte(split.parts[2]!.path, 10, 1)
      await pin.check(0, 1 << 20)
      await assert.rejects(pin.check((2 << 20) + 5, 10), (e: {subject: string}) => e.subject === split.parts[2]!.path)
      // an index rewritten while the parts were verified: they may not be the parts verified
      const pin2 = await bundle.pin?.()
      assert.equal(pin2, undefined, 'a part changed just now is not pinned again')
      await assert.rejects(pin.check((2 << 20) + 5, 10), 'and trying does not move the first pin')
      await writeFile(split.index, await readFile(split.index))
      await assert.rejects(pin.checkPaths(), (e: {subject: string}) => e.subject === split.index)
    } finally {
      await bundle.close()
    }
  })

  it('pins nothing of a file changed in the last seconds: its blobs are hashed as they are sent', async () => {
    const dir = await makeTempDir('serve-pin')
    const file = join(dir, 'fresh.tar')
    await writeFile(file, Buffer.alloc(1 << 20, 1))
    const bundle = await openRandomAccess(file)
    try {
      assert.equal(await bundle.pin?.(), undefined)
    } finally {
      await bundle.close()
    }
  })

  it('reads into a caller buffer the same bytes as read() (parts: see serve.test.ts), and no further than the end', async () => {
    const dir = await makeTempDir('serve-pin')
    const whole = Buffer.alloc(723_456)
    for (let i = 0; i < whole.length; i++) whole[i] = (i * 7) % 251
    const file = join(dir, 'b.tar')
    await writeFile(file, whole)
    const bundle = await openRandomAccess(file)
    try {
      const into = Buffer.alloc(500_000)
      await bundle.readInto?.(into, 200_000)
      assert.ok(into.equals(whole.subarray(200_000, 700_000)))
      const chunks: Buffer[] = []
      for await (const c of bundle.read(200_000, 500_000)) chunks.push(c)
      assert.ok(Buffer.concat(chunks).equals(into))
      await assert.rejects(bundle.readInto?.(Buffer.alloc(10), whole.length - 5) ?? Promise.reject(new Error('no readInto')), (e: {code: string}) => e.code === 'TRUNCATED')
    } finally {
      await bundle.close()
    }
  })
})
