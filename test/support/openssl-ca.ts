import {execFileSync} from 'node:child_process'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'

/**
 * A CA and a leaf made by the real openssl, for trust and interop tests: what a site's own PKI hands
 * airlock is made by tools like this, not by airlock.
 */
export interface OpensslCa {
  caCert: string
  caKey: string
}

function run(args: string[], cwd: string): void {
  execFileSync('openssl', args, {cwd, stdio: ['ignore', 'ignore', 'pipe']})
}

export async function makeOpensslCa(dir: string, name = 'ca', days = 30): Promise<OpensslCa> {
  run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', String(days), '-subj', `/CN=${name} test CA`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir)
  return {caCert: join(dir, `${name}.crt`), caKey: join(dir, `${name}.key`)}
}

/**
 * Issues a certificate for an existing key, optionally one that expired in 2021.
 */
export async function issueWithOpenssl(dir: string, ca: OpensslCa, keyPath: string, name: string, options: {subject?: string; expired?: boolean; ca?: boolean; serverName?: string} = {}): Promise<string> {
  const csr = join(dir, `${name}.csr`)
  const crt = join(dir, `${name}.crt`)
  const ext = join(dir, `${name}.ext`)
  run(['req', '-new', '-key', keyPath, '-out', csr, '-subj', options.subject ?? `/CN=${name}`], dir)
  // a signer certificate (no serverName) carries the codeSigning EKU that signer trust requires
  const lines = options.ca
    ? ['basicConstraints=critical,CA:TRUE,pathlen:0', 'keyUsage=critical,keyCertSign,cRLSign', 'subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid']
    : ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', 'subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid', ...(options.serverName ? ['extendedKeyUsage=serverAuth', `subjectAltName=DNS:${options.serverName}`] : ['extendedKeyUsage=codeSigning'])]
  await writeFile(ext, `${lines.join('\n')}\n`)
  // `openssl ca` (not `x509 -req`) because OpenSSL 3.0 can set an explicit validity window only there
  const db = join(dir, `${name}.db`)
  const cnf = join(dir, `${name}.cnf`)
  await writeFile(db, '')
  await writeFile(cnf, `[ca]\ndefault_ca=d\n[d]\ndatabase=${db}\nnew_certs_dir=${dir}\nrand_serial=yes\ndefault_md=sha256\npolicy=p\nunique_subject=no\n[p]\ncommonName=supplied\n`)
  const validity = options.expired ? ['-startdate', '20200101000000Z', '-enddate', '20210101000000Z'] : ['-days', '30']
  run(['ca', '-batch', '-notext', '-config', cnf, '-cert', ca.caCert, '-keyfile', ca.caKey, '-in', csr, '-out', crt, '-extfile', ext, ...validity], dir)
  return crt
}
