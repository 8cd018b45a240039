import {readRecordFile} from './record.js'

/** A part the store acknowledged: its ETag, length and CRC32 (base64, as S3 lists it). */
export interface RecordedPart {
  etag: string
  size: number
  crc32: string
}

/**
 * What `bundle build --out s3:// --resume` keeps beside the spec while its upload is open, so a rerun
 * can continue it: the upload, the build's `created` clock (reused, so the rerun makes the same
 * bytes), an identity of those bytes, and every part the store has acknowledged with its size and
 * CRC32. No AWS SDK here: the build reads it before it knows whether it will upload anything.
 */
export interface BuildUploadRecord {
  version: 1
  url: string
  endpoint: string | null
  uploadId: string
  partSize: number
  /** the build clock (manifest `created`, every tar mtime) of the interrupted build */
  created: string
  /**
   * SHA-256 over SHA256SUMS, its signature, signer.pem, the root folder, the clock and the
   * compression: every byte of the tar follows from these (the writer checks each entry against its
   * listed digest while it streams), so equal identities mean equal bytes, part for part.
   */
  identity: string
  /** acknowledged parts by number: ETag, length, CRC32 (base64, as S3 lists it) */
  parts: Record<string, RecordedPart>
}

export function buildUploadRecordPath(specPath: string): string {
  return `${specPath}.s3-upload.json`
}

export function readBuildUploadRecord(path: string): Promise<BuildUploadRecord | undefined> {
  return readRecordFile<BuildUploadRecord>(path, (r) => typeof r.uploadId === 'string' && typeof r.identity === 'string' && typeof r.created === 'string' && typeof r.parts === 'object' && r.parts !== null)
}
