import {readdir, rm} from 'node:fs/promises'
import {createRequire} from 'node:module'
import {join} from 'node:path'
import type {AddressInfo} from 'node:net'

import {makeTempDir, registerCleanup} from './cleanup.js'

interface S3rverInstance {
  run(): Promise<AddressInfo>
  close(): Promise<void>
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance

// s3rver ships no type declarations; it is loaded as the CommonJS module it is.
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass

export interface TestS3 {
  endpoint: string
  bucket: string
  /** the folder s3rver keeps objects in (tests damage objects here) */
  directory: string
  /** credentials s3rver accepts, as the AWS SDK reads them from the environment */
  env: NodeJS.ProcessEnv
  /** the file on disk that holds `key`'s bytes */
  objectFile(key: string): Promise<string>
  stop(): Promise<void>
}

/** A real S3-compatible server (s3rver) on 127.0.0.1, a random port and a temp folder, with one bucket. */
export async function startS3(bucket = 'airlock-test'): Promise<TestS3> {
  const directory = await makeTempDir()
  const server = new S3rver({address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{name: bucket}]})
  const address = await server.run()
  const stop = registerCleanup(`s3rver on ${address.port}`, async () => {
    await server.close()
    await rm(directory, {recursive: true, force: true})
  })
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket,
    directory,
    env: {AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null'},
    async objectFile(key: string) {
      // s3rver stores KEY as <bucket>/KEY._S3rver_object
      const path = join(directory, bucket, `${key}._S3rver_object`)
      await readdir(join(path, '..'))
      return path
    },
    stop,
  }
}
