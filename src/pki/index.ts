/*
 * PKI for the platform's domain: keys (Node crypto), PKCS#10 requests, a private CA, issued server
 * certificates (DER assembled with node-forge's asn1, signed by Node crypto), and the review.
 */
export {createCa, createCsr, issueCertificate, loadIssuer, makeCa, makeCsr, issueFromCsr, issueForDomain, validityWindow, fileBaseFor} from './issue.js'
export type {CaResult, CsrResult, IssueResult, IssuedCertificate, Issuer, MadeCa, MadeCsr} from './issue.js'
export {inspectFiles, inspectObjects} from './inspect.js'
export {hostMatches} from './san.js'
export type {Finding, InspectReport, InspectedObject, Severity, Verdict} from './findings.js'
export {renderReviewMarkdown, sortFindings} from './review.js'
export {TLS_KEY_TYPES, DEFAULT_TLS_KEY_TYPE, type TlsKeyType} from './keys.js'
