/** The object identifiers airlock writes or recognises, by the names openssl prints. */
export const OID = {
  rsaEncryption: '1.2.840.113549.1.1.1',
  ecPublicKey: '1.2.840.10045.2.1',
  prime256v1: '1.2.840.10045.3.1.7',
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  extensionRequest: '1.2.840.113549.1.9.14',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  nameConstraints: '2.5.29.30',
  certificatePolicies: '2.5.29.32',
  policyMappings: '2.5.29.33',
  policyConstraints: '2.5.29.36',
  inhibitAnyPolicy: '2.5.29.54',
  rsassaPss: '1.2.840.113549.1.1.10',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  ecdsaWithSHA384: '1.2.840.10045.4.3.3',
  ecdsaWithSHA512: '1.2.840.10045.4.3.4',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  anyExtendedKeyUsage: '2.5.29.37.0',
} as const

/** Signature algorithms: the hash each uses (undefined: the algorithm carries no separate hash). */
export const SIGNATURE_ALGORITHMS: Record<string, {name: string; hash?: string}> = {
  '1.2.840.113549.1.1.2': {name: 'md2WithRSAEncryption', hash: 'md2'},
  '1.2.840.113549.1.1.4': {name: 'md5WithRSAEncryption', hash: 'md5'},
  '1.2.840.113549.1.1.5': {name: 'sha1WithRSAEncryption', hash: 'sha1'},
  '1.2.840.113549.1.1.10': {name: 'rsassaPss'},
  '1.2.840.113549.1.1.11': {name: 'sha256WithRSAEncryption', hash: 'sha256'},
  '1.2.840.113549.1.1.12': {name: 'sha384WithRSAEncryption', hash: 'sha384'},
  '1.2.840.113549.1.1.13': {name: 'sha512WithRSAEncryption', hash: 'sha512'},
  '1.2.840.113549.1.1.14': {name: 'sha224WithRSAEncryption', hash: 'sha224'},
  '1.2.840.10045.4.1': {name: 'ecdsa-with-SHA1', hash: 'sha1'},
  '1.2.840.10045.4.3.1': {name: 'ecdsa-with-SHA224', hash: 'sha224'},
  '1.2.840.10045.4.3.2': {name: 'ecdsa-with-SHA256', hash: 'sha256'},
  '1.2.840.10045.4.3.3': {name: 'ecdsa-with-SHA384', hash: 'sha384'},
  '1.2.840.10045.4.3.4': {name: 'ecdsa-with-SHA512', hash: 'sha512'},
  '1.2.840.10040.4.3': {name: 'dsa-with-SHA1', hash: 'sha1'},
  '2.16.840.1.101.3.4.3.2': {name: 'dsa-with-SHA256', hash: 'sha256'},
  '1.3.101.112': {name: 'ED25519'},
  '1.3.101.113': {name: 'ED448'},
}

/** Hashes no signature may rely on any more: collisions are practical (SHAttered, Flame). */
export const BROKEN_HASHES = new Set(['md2', 'md5', 'sha1'])

export const EKU_NAMES: Record<string, string> = {
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
  '1.3.6.1.5.5.7.3.3': 'codeSigning',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
  '1.3.6.1.5.5.7.3.8': 'timeStamping',
  '1.3.6.1.5.5.7.3.9': 'OCSPSigning',
  '2.5.29.37.0': 'anyExtendedKeyUsage',
}

export const KEY_USAGE_BITS = ['digitalSignature', 'nonRepudiation', 'keyEncipherment', 'dataEncipherment', 'keyAgreement', 'keyCertSign', 'cRLSign', 'encipherOnly', 'decipherOnly'] as const
export type KeyUsageName = (typeof KEY_USAGE_BITS)[number]
