/*
 * The one retry policy for remote stores, registries and S3 alike: a bounded number of attempts,
 * exponential backoff with jitter (so parallel transfers that failed together do not retry together),
 * a server's Retry-After honoured up to the cap, and the number of attempts carried to the error the
 * user sees. Each transport says only which failures are worth another attempt; the AWS SDK's own
 * retries are off (maxAttempts 1) so that attempts are counted here, once.
 */

export interface RetryPolicy {
  /** attempts in all, the first included */
  attempts: number
  /** the wait after the first failure, in ms; doubled after each further one */
  backoffMs: number
  /** no single wait is longer than this */
  maxBackoffMs: number
}

function envNumber(name: string, fallback: number, min: number): number {
  const v = Number(process.env[name])
  return Number.isFinite(v) && v >= min ? v : fallback
}

/** The policy in force: 5 attempts, 250 ms doubling to at most 30 s; AIRLOCK_RETRY_ATTEMPTS and AIRLOCK_RETRY_BACKOFF_MS change it. */
export function retryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  return {
    attempts: Math.floor(overrides.attempts ?? envNumber('AIRLOCK_RETRY_ATTEMPTS', 5, 1)),
    backoffMs: overrides.backoffMs ?? envNumber('AIRLOCK_RETRY_BACKOFF_MS', 250, 0),
    maxBackoffMs: overrides.maxBackoffMs ?? 30_000,
  }
}

/** The wait after failed attempt `n` (1-based): the doubled base times a random factor in [0.5, 1.5), or the server's wish, capped. */
export function backoffMs(policy: RetryPolicy, n: number, retryAfterMs?: number): number {
  if (retryAfterMs !== undefined && retryAfterMs >= 0) return Math.min(retryAfterMs, policy.maxBackoffMs)
  return Math.min(policy.backoffMs * 2 ** (n - 1) * (0.5 + Math.random()), policy.maxBackoffMs)
}

export interface RetryOptions {
  policy?: RetryPolicy
  /** whether this failure may be tried again (the caller knows its protocol) */
  retryable(error: unknown): boolean
  /** a wait the server asked for (Retry-After), in ms */
  retryAfterMs?(error: unknown): number | undefined
}

const attemptsMade = new WeakMap<object, number>()

/** Runs `attempt` until it succeeds, fails with something not retryable, or the policy's attempts are spent. */
export async function withRetries<T>(attempt: (n: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const policy = options.policy ?? retryPolicy()
  for (let n = 1; ; n++) {
    try {
      return await attempt(n)
    } catch (error) {
      if (n >= policy.attempts || !options.retryable(error)) {
        if (typeof error === 'object' && error !== null) attemptsMade.set(error, n)
        throw error
      }
      await new Promise((r) => setTimeout(r, backoffMs(policy, n, options.retryAfterMs?.(error))))
    }
  }
}

/** How many attempts ended in `error` (1 when it was not retried, or did not come through withRetries). */
export function attemptsOf(error: unknown): number {
  return typeof error === 'object' && error !== null ? (attemptsMade.get(error) ?? 1) : 1
}

/** " (after N attempts)" for an error that was retried, else "": appended to the message the user sees. */
export function afterAttempts(error: unknown): string {
  const n = attemptsOf(error)
  return n > 1 ? ` (after ${n} attempts)` : ''
}
