import type {PkiObject} from './read.js'

/* The shape of a review: what was read, and every check made with its severity. */

export type Severity = 'ok' | 'info' | 'warn' | 'fail'
export type Verdict = 'pass' | 'warn' | 'fail'

export interface Finding {
  check: string
  severity: Severity
  /** the file (and #block) the finding is about */
  subject: string
  message: string
  hint?: string
}

export interface InspectedObject {
  source: string
  kind: PkiObject['kind']
  subject?: string
  issuer?: string
  serial?: string
  notBefore?: string
  notAfter?: string
  sans?: string[]
  key?: string
  signature?: string
  ca?: boolean
  /** certificates: SHA-256 of the DER; keys and CSRs: SHA-256 of the public key (SPKI) */
  fingerprint?: string
  encrypted?: boolean
  /** key files: permission bits, octal */
  mode?: string
}

export interface InspectReport {
  verdict: Verdict
  /** the certificate reviewed as the server certificate, when one was given */
  leaf?: string
  objects: InspectedObject[]
  findings: Finding[]
  counts: Record<Severity, number>
}
