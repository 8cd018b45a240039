/**
 * A step that later tests build on (a CA before the certificate it issues, a bundle before its
 * parts): run once, by its own test or by the first test that needs it, so that any test passes when
 * run alone (`--grep`) and a failed step fails every test that needs it with its own message.
 */
export function step<T>(fn: () => Promise<T>): () => Promise<T> {
  let done: Promise<T> | undefined
  return () => (done ??= fn())
}
