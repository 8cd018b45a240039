/**
 * Where a command that reads a bundle finds it in S3: `s3://BUCKET/KEY` in place of a file. The
 * connection settings (--endpoint, --region, --concurrency) are the command's, set once when it
 * parses its flags; every reader of the bundle in that process (the verifying walk, the random-access
 * reads of images push and serve) then opens the object the same way. This module does not load the
 * AWS SDK: commands given a plain file never pay for it.
 */
export interface S3ReadSettings {
  endpoint?: string
  region?: string
  /** ranged GETs in flight for one sequential read */
  concurrency: number
}

let settings: S3ReadSettings = {concurrency: 4}

export function isS3Url(input: string): boolean {
  return input.startsWith('s3://')
}

export function configureS3Reads(next: Partial<S3ReadSettings>): void {
  settings = {...settings, ...Object.fromEntries(Object.entries(next).filter(([, v]) => v !== undefined))}
}

export function s3ReadSettings(): S3ReadSettings {
  return settings
}
