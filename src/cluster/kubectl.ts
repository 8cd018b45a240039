import {execFile} from 'node:child_process'

/**
 * `kubectl version --client -o json` on this machine: the admin installs with the kubectl found on
 * PATH, so that is the one checked. null when there is none; a kubectl that runs but answers
 * nonsense is reported as its raw output rather than guessed at.
 */
export function probeKubectl(env: NodeJS.ProcessEnv = process.env): Promise<{gitVersion: string} | null> {
  return new Promise((resolve) => {
    execFile('kubectl', ['version', '--client', '-o', 'json'], {env, timeout: 10_000, maxBuffer: 1 << 20}, (error, stdout) => {
      if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') return resolve(null)
      try {
        const parsed = JSON.parse(stdout) as {clientVersion?: {gitVersion?: string}}
        const gitVersion = parsed.clientVersion?.gitVersion
        resolve(gitVersion ? {gitVersion} : {gitVersion: stdout.trim().slice(0, 80) || 'unknown'})
      } catch {
        resolve({gitVersion: stdout.trim().slice(0, 80) || 'unknown'})
      }
    })
  })
}
