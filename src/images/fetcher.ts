import {randomBytes} from 'node:crypto'
import {mkdir, rm, stat} from 'node:fs/promises'
import {join} from 'node:path'
import pLimit from 'p-limit'

import {readChunks, type EntrySource} from '../bundle/entry.js'
import {blobPath, digestHex} from '../oci/digest.js'
import type {RegistryPool} from '../registry/client.js'
import {fromFsError} from '../ui/errors.js'
import {renameDurably} from '../util/fs.js'

/** Where a blob's bytes come from: a registry repository, or a local OCI layout folder. */
export type BlobOrigin = {kind: 'registry'; registry: string; repository: string} | {kind: 'layout'; dir: string}

interface Wanted {
  digest: string
  size: number
  origin: BlobOrigin
  /** "image docker.io/library/x:1 blob sha256:..." */
  label: string
  urls?: string[]
}

export interface FetchStats {
  blobs: number
  downloaded: number
  downloadedBytes: number
  fromCache: number
}

/**
 * Gets blobs onto local disk ahead of the tar writer. Each blob is registered once (the first image
 * that needs it names it in errors). `entry()` gives the writer an EntrySource whose open() starts the
 * next few downloads (bounded by `concurrency`) and then streams this blob from its file; a blob
 * that is not in the --cache is deleted once written. Nothing is ever held in memory.
 */
export class BlobFetcher {
  private readonly wanted = new Map<string, Wanted>()
  private readonly ready = new Map<string, Promise<string>>()
  private readonly order: string[] = []
  private readonly limit
  private failure: unknown
  readonly stats: FetchStats = {blobs: 0, downloaded: 0, downloadedBytes: 0, fromCache: 0}

  constructor(
    private readonly pool: RegistryPool,
    private readonly workDir: string,
    private readonly concurrency: number,
    private readonly cacheDir?: string,
  ) {
    this.limit = pLimit(Math.max(1, concurrency))
  }

  /** `urls`: where a non-distributable layer may be fetched from when its registry does not hold it */
  register(digest: string, size: number, origin: BlobOrigin, label: string, urls?: string[]): void {
    if (this.wanted.has(digest)) return
    this.wanted.set(digest, {digest, size, origin, label, ...(urls?.length ? {urls} : {})})
  }

  /** The local file holding the blob's verified bytes, downloading it if needed (once). */
  ensure(digest: string): Promise<string> {
    let p = this.ready.get(digest)
    if (!p) {
      const w = this.wanted.get(digest)
      if (!w) throw new Error(`blob ${digest} was never registered`)
      p = this.limit(() => this.obtain(w))
      p.catch((error: unknown) => {
        this.failure ??= error
      })
      this.ready.set(digest, p)
    }
    return p
  }

  private cachePath(digest: string): string | undefined {
    return this.cacheDir ? join(this.cacheDir, blobPath(digest)) : undefined
  }

  private isTemp(path: string): boolean {
    return path.startsWith(this.workDir)
  }

  private async obtain(w: Wanted): Promise<string> {
    if (this.failure) throw this.failure
    if (w.origin.kind === 'layout') return join(w.origin.dir, blobPath(w.digest, w.label))
    const cached = this.cachePath(w.digest)
    if (cached) {
      const info = await stat(cached).catch(() => undefined)
      if (info?.isFile() && info.size === w.size) {
        this.stats.fromCache++
        return cached
      }
    }
    const dir = cached ? join(this.cacheDir as string, 'blobs', 'sha256') : join(this.workDir, 'blobs')
    await mkdir(dir, {recursive: true}).catch((error: unknown) => {
      throw fromFsError(error, dir, 'folder')
    })
    const temp = join(dir, `.${digestHex(w.digest)}.${randomBytes(4).toString('hex')}.partial`)
    try {
      await this.pool.client(w.origin.registry).fetchBlob(w.origin.repository, w.digest, w.size, temp, w.label, w.urls)
      const final = cached ?? join(dir, digestHex(w.digest))
      await renameDurably(temp, final)
      this.stats.downloaded++
      this.stats.downloadedBytes += w.size
      return final
    } catch (error) {
      await rm(temp, {force: true})
      throw error
    }
  }

  /** A bundle entry for a registered blob; the order entries are made in is the order prefetched. */
  entry(digest: string, path: string): EntrySource {
    const w = this.wanted.get(digest)
    if (!w) throw new Error(`blob ${digest} was never registered`)
    const position = this.order.length
    this.order.push(digest)
    this.stats.blobs++
    return {
      path,
      size: w.size,
      sha256: digestHex(digest),
      role: 'image-blob',
      label: w.label,
      open: async () => {
        if (this.failure) throw this.failure
        // Keep `concurrency` downloads running ahead of the blob being written.
        for (const next of this.order.slice(position, position + this.concurrency + 1)) void this.ensure(next).catch(() => {})
        const file = await this.ensure(digest)
        return this.stream(file)
      },
    }
  }

  private async *stream(file: string): AsyncGenerator<Buffer> {
    try {
      yield* readChunks(file)
    } finally {
      if (this.isTemp(file)) await rm(file, {force: true})
    }
  }
}
