import {createReadStream} from 'node:fs'
import {open, stat} from 'node:fs/promises'

import {openPartsIndex, partsIndexFor, streamParts} from '../transport/parts.js'
import {isS3Url, s3ReadSettings} from '../transport/s3-input.js'
import {AirlockError, fromFsError} from '../ui/errors.js'
import {isGzipMagic, readFileHead} from '../util/fs.js'
import {READ_CHUNK} from './entry.js'

/** A file, `-`, a split bundle's first part or index, or `s3://BUCKET/KEY`. */
export type BundleInput = string

/**
 * The bundle's bytes as one stream: a file, `-` for stdin, or a bundle split into parts (the first
 * part or the `.split.json` index; each part is checked against the index as it is read). Gzip is
 * recognised by its magic bytes, not by the name, so a renamed file still reads. An `s3://` object
 * is read in place by ranged GETs (several in flight, memory bounded), never downloaded whole: only
 * the byte source differs, every check of the walk is the same.
 */
export async function openBundleStream(input: BundleInput): Promise<AsyncIterable<Buffer>> {
  if (input === '-') return closing(sniffGzip(process.stdin, input), () => {})
  if (isS3Url(input)) {
    // the AWS SDK is loaded only when a bundle is in S3
    const {openS3Stream} = await import('../transport/s3-object.js')
    const object = await openS3Stream(input, s3ReadSettings())
    return closing(sniffGzip(object, input), () => void object.return(undefined))
  }
  const index = await partsIndexFor(input)
  if (index) {
    const parts = streamParts(await openPartsIndex(index))
    return closing(sniffGzip(parts, input), () => void parts.return(undefined))
  }
  let regular: boolean
  try {
    const info = await stat(input)
    if (info.isDirectory()) throw Object.assign(new Error('dir'), {code: 'EISDIR'})
    regular = info.isFile()
  } catch (error) {
    throw fromFsError(error, input, 'bundle')
  }
  // a pipe (`<(curl ...)`) can be read once only: gzip is recognised in the stream itself
  if (!regular || (await isGzipFile(input))) {
    const raw = createReadStream(input, {highWaterMark: READ_CHUNK})
    return closing(sniffGzip(raw, input), () => raw.destroy())
  }
  return readFileReusingBuffers(input)
}

async function isGzipFile(path: string): Promise<boolean> {
  return isGzipMagic(await readFileHead(path, 2, 'bundle'))
}

const POOL = 4

/**
 * A plain file read through a small ring of buffers, one read always ahead: no allocation per chunk,
 * so memory stays flat and the garbage collector idle however large the bundle. A chunk handed out
 * is overwritten POOL-1 reads later; every consumer (tar walk, hashing, extraction) is done with it
 * long before, since each awaits its chunk before asking for the next.
 */
async function* readFileReusingBuffers(path: string): AsyncGenerator<Buffer> {
  const handle = await open(path, 'r')
  const ring = Array.from({length: POOL}, () => Buffer.allocUnsafe(READ_CHUNK))
  let slot = 0
  let position = 0
  const readNext = () => {
    const buffer = ring[slot++ % POOL] as Buffer
    const at = position
    const read = handle.read(buffer, 0, buffer.length, at).then(({bytesRead}) => buffer.subarray(0, bytesRead))
    read.catch(() => {})
    return read
  }
  try {
    let ahead = readNext()
    for (;;) {
      const chunk = await ahead
      if (chunk.length === 0) return
      position += chunk.length
      ahead = readNext()
      yield chunk
    }
  } catch (error) {
    throw fromFsError(error, path, 'bundle')
  } finally {
    await handle.close()
  }
}

/** A reader that stops early (inspect reads four entries) must still release the file. */
async function* closing(inner: AsyncGenerator<Buffer>, release: () => void): AsyncGenerator<Buffer> {
  try {
    yield* inner
  } finally {
    release()
  }
}

async function* sniffGzip(raw: AsyncIterable<Buffer>, input: string): AsyncGenerator<Buffer> {
  const it = raw[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  let first: Buffer | undefined
  try {
    const r = await it.next()
    if (!r.done) first = r.value
  } catch (error) {
    throw fromFsError(error, input, 'bundle')
  }
  if (!first) return
  const rest = async function* () {
    yield first as Buffer
    for (;;) {
      const r = await it.next()
      if (r.done) return
      yield r.value
    }
  }
  if (first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b) {
    // loaded here: a plain bundle never needs zlib, and loading it costs a few ms of every start
    const {createGunzip} = await import('node:zlib')
    const gunzip = createGunzip({chunkSize: 1 << 20})
    const feeding = (async () => {
      try {
        for await (const chunk of rest()) {
          if (!gunzip.write(chunk)) await new Promise((r) => gunzip.once('drain', r))
        }
        gunzip.end()
      } catch (error) {
        gunzip.destroy(error as Error)
      }
    })()
    try {
      for await (const chunk of gunzip) yield chunk as Buffer
    } catch (error) {
      throw new AirlockError('TRUNCATED', `${input}: the gzip stream is damaged or cut short: ${(error as Error).message}`, {subject: input, hint: 'copy the bundle again', cause: error})
    }
    await feeding
    return
  }
  yield* rest()
}
