import {spawn} from 'node:child_process'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'

export interface Run {
  code: number
  stdout: string
  stderr: string
}

/** Runs the openssl CLI: the reference every file airlock writes must satisfy. */
export function openssl(args: string[], options: {cwd?: string; env?: NodeJS.ProcessEnv} = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', args, {cwd: options.cwd, env: {...process.env, ...options.env}, stdio: ['ignore', 'pipe', 'pipe']})
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.stderr.on('data', (c: Buffer) => err.push(c))
    child.once('error', reject)
    child.once('close', (code) => resolve({code: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8')}))
  })
}

export async function opensslOk(args: string[], options: {cwd?: string; env?: NodeJS.ProcessEnv} = {}): Promise<string> {
  const run = await openssl(args, options)
  if (run.code !== 0) throw new Error(`openssl ${args.join(' ')} failed (${run.code}): ${run.stderr}`)
  return run.stdout + run.stderr
}

/** A CA made by openssl alone, for certificates airlock did not write. */
export async function opensslCa(dir: string, name = 'ca'): Promise<{cert: string; key: string}> {
  const cert = join(dir, `${name}.crt`)
  const key = join(dir, `${name}.key`)
  await opensslOk(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '30', '-subj', `/CN=OpenSSL Test ${name}`, '-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
  return {cert, key}
}

/**
 * A server certificate signed by the openssl CA: `-sha1`, `-days -1`, a 1024-bit key, no SAN or the
 * wrong names are how the bad ones of the review tests are made.
 */
export async function opensslLeaf(dir: string, ca: {cert: string; key: string}, options: {name: string; bits?: number; sans?: string[]; days?: number; digest?: string; eku?: string; serial?: string}): Promise<{cert: string; key: string; csr: string}> {
  const key = join(dir, `${options.name}.key`)
  const csr = join(dir, `${options.name}.csr`)
  const cert = join(dir, `${options.name}.crt`)
  const ext = join(dir, `${options.name}.ext`)
  await opensslOk(['req', '-new', '-newkey', `rsa:${options.bits ?? 2048}`, '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=wallaroo.example.com'])
  const lines = ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', `extendedKeyUsage=${options.eku ?? 'serverAuth'}`]
  if (options.sans && options.sans.length > 0) lines.push(`subjectAltName=${options.sans.join(',')}`)
  await writeFile(ext, `${lines.join('\n')}\n`)
  await opensslOk(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, ...(options.serial ? ['-set_serial', options.serial] : ['-CAcreateserial']), '-out', cert, '-days', String(options.days ?? 90), `-${options.digest ?? 'sha256'}`, '-extfile', ext])
  return {cert, key, csr}
}
