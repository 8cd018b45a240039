/** Kept apart from the PKI code so that commands can offer these as flag options without loading it. */
export type TlsKeyType = 'rsa-3072' | 'rsa-4096' | 'ecdsa-p256' | 'ecdsa-p384'
export const TLS_KEY_TYPES: TlsKeyType[] = ['rsa-3072', 'rsa-4096', 'ecdsa-p256', 'ecdsa-p384']
export const DEFAULT_TLS_KEY_TYPE: TlsKeyType = 'rsa-3072'
