import {spawn} from 'node:child_process'
import {readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

/** One process run: wall seconds, and from /usr/bin/time its peak RSS and CPU (user + sys). */
export interface Sample {
  seconds: number
  rssMb: number
  cpuSeconds: number
}

/** Runs `cmd args` under /usr/bin/time; throws with the tail of its stderr when it fails. */
export async function measure(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Sample> {
  const out = join(tmpdir(), `airlock-bench-time-${process.pid}-${Math.random().toString(36).slice(2)}`)
  const started = process.hrtime.bigint()
  // stdout is thrown away (cat of a bundle, sha256sum lines), stderr kept for the error message
  const child = spawn('/usr/bin/time', ['-o', out, '-f', '%M %U %S', cmd, ...args], {stdio: ['ignore', 'ignore', 'pipe'], env: {...process.env, ...env}})
  let stderr = ''
  child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)))
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', resolve)
  })
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const timing = await readFile(out, 'utf8').catch(() => '')
  await rm(out, {force: true})
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${code}): ${stderr}`)
  const [rss, user, sys] = timing.trim().split(/\s+/).slice(-3).map(Number)
  return {seconds, rssMb: (rss ?? 0) / 1024, cpuSeconds: (user ?? 0) + (sys ?? 0)}
}

/** The airlock a bench measures: $AIRLOCK (e.g. the single executable) or the script. */
export function airlockCommand(bin: string): [string, string[]] {
  return process.env.AIRLOCK ? [process.env.AIRLOCK, []] : [process.execPath, [bin]]
}
