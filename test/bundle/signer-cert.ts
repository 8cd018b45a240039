/* Signer certificates made by the real openssl, with the extensions a code-signing leaf carries (or lacks). */
import {execFileSync} from 'node:child_process'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import type {OpensslCa} from '../support/openssl-ca.js'

export async function issueSignerCert(dir: string, ca: OpensslCa, keyPath: string, name: string, ext = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=codeSigning']): Promise<string> {
  const csr = join(dir, `${name}.csr`)
  const crt = join(dir, `${name}.crt`)
  const extFile = join(dir, `${name}.ext`)
  await writeFile(extFile, `${ext.join('\n')}\n`)
  execFileSync('openssl', ['req', '-new', '-key', keyPath, '-out', csr, '-subj', `/CN=${name}`], {stdio: ['ignore', 'ignore', 'pipe']})
  execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', ca.caCert, '-CAkey', ca.caKey, '-CAcreateserial', '-out', crt, '-days', '30', '-extfile', extFile], {cwd: dir, stdio: ['ignore', 'ignore', 'pipe']})
  return crt
}
