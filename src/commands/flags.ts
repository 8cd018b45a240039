import {Flags} from '@oclif/core'

import {configureS3Reads} from '../transport/s3-input.js'
import {AirlockError} from '../ui/errors.js'

/**
 * Passphrases come from an environment variable named on the command line, never from the command
 * line itself, where `ps` and shell history would show them.
 */
export function passphraseFromEnv(name: string | undefined): string | undefined {
  if (!name) return undefined
  const value = process.env[name]
  if (value === undefined || value === '') {
    throw new AirlockError('PASSPHRASE_REQUIRED', `the environment variable ${name} named by --passphrase-env is not set or empty`, {subject: '--passphrase-env', hint: `export ${name}=... first`})
  }
  return value
}

/** `--set KEY=VALUE`, repeated; the first `=` splits, so values may contain `=`. */
export function parseSetFlags(values: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const item of values ?? []) {
    const at = item.indexOf('=')
    if (at <= 0) throw new AirlockError('USAGE', `--set ${item}: expected KEY=VALUE`, {subject: `--set ${item}`, hint: 'e.g. --set files.app=./app.airgap or --set kots.cores=16'})
    out[item.slice(0, at)] = item.slice(at + 1)
  }
  return out
}

/** How to reach S3 or an S3-compatible store: the same for every command that reads or writes s3:// (credentials come from the SDK's standard chain only). */
export const s3Flags = {
  endpoint: Flags.string({description: 'S3-compatible endpoint URL (MinIO, Ceph, ...); uses path-style addressing'}),
  region: Flags.string({description: 'AWS region (default: AWS_REGION, the profile, or us-east-1 with --endpoint)'}),
}

/** publish, fetch and build --out s3://: the multipart part size and the requests in flight. */
export const s3TransferFlags = {
  ...s3Flags,
  'part-size': Flags.string({default: '64M', description: 'bytes per part / per ranged request (5M or more; K/M/G = 1024-based)'}),
  concurrency: Flags.integer({default: 8, min: 1, max: 64, description: 'requests in flight at once'}),
}

/** Readers of a bundle that may be s3://BUCKET/KEY: the connection flags and the ranged GETs in flight. */
export const s3ReadFlags = {
  ...s3Flags,
  's3-concurrency': Flags.integer({default: 4, min: 1, max: 64, description: 'ranged GETs in flight when the bundle is s3://BUCKET/KEY (memory: this x 8 MiB)'}),
}

/** Applies a reader's S3 flags for every read of the bundle this command makes. */
export function useS3ReadFlags(flags: {endpoint?: string; region?: string; 's3-concurrency'?: number}): void {
  configureS3Reads({endpoint: flags.endpoint, region: flags.region, concurrency: flags['s3-concurrency']})
}
