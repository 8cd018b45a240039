import {spawn} from 'node:child_process'
import {rm} from 'node:fs/promises'

import {makeTempDir, reportLeak} from './cleanup.js'
import {BIN} from './paths.js'

export {makeTempDir, removeTempDir} from './cleanup.js'

export interface CliResult {
  code: number
  stdout: string
  stderr: string
  /** stdout parsed as JSON when it is JSON */
  json?: any // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** Runs the built CLI as a user would, with stdin closed unless `input` is given. */
export function runCli(args: string[], options: {cwd?: string; env?: NodeJS.ProcessEnv; input?: Buffer | string} = {}): Promise<CliResult> {
  return runProcess(process.execPath, [process.env.AIRLOCK_TEST_BIN ?? BIN, ...args], {...options, env: {...process.env, ...options.env}})
}

/** Any program, with its output collected and stdout parsed as JSON when it is JSON. */
export function runProcess(program: string, args: string[], options: {cwd?: string; env?: NodeJS.ProcessEnv; input?: Buffer | string} = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {cwd: options.cwd, env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe']})
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.stderr.on('data', (c: Buffer) => err.push(c))
    child.once('error', reject)
    child.stdin.on('error', () => {})
    if (options.input !== undefined) child.stdin.end(options.input)
    else child.stdin.end()
    child.once('close', (code) => {
      const stdout = Buffer.concat(out).toString('utf8')
      let json
      try {
        json = JSON.parse(stdout)
      } catch {
        json = undefined
      }
      const stderr = Buffer.concat(err).toString('utf8')
      // a file handle left to the garbage collector is a leak in the CLI, whichever test ran it
      if (/Closing file descriptor \d+ on garbage collection|DEP0137/.test(stderr)) reportLeak(`a file handle closed on garbage collection in: ${args.slice(1).join(' ')}`)
      resolve({code: code ?? -1, stdout, stderr, json})
    })
  })
}

/** A fresh temp folder for `fn`, removed when it returns or throws. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await makeTempDir()
  try {
    return await fn(dir)
  } finally {
    await rm(dir, {recursive: true, force: true})
  }
}
