/** Edit distance (Levenshtein), for "did you mean" suggestions on item and pool names. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({length: b.length + 1}, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      row[j] = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost)
    }
    prev = row
  }
  return prev[b.length] ?? 0
}

/**
 * Up to `max` of `candidates` closest to `name`. Case and the separators `_ - .` are ignored, and so is
 * word order (`enable_plateau` finds `plateau_enabled`); names sharing nothing useful are left out.
 */
export function closestNames(name: string, candidates: Iterable<string>, max = 3): string[] {
  const norm = (s: string) => s.toLowerCase().replace(/[-_.]/g, '')
  const words = (s: string) => s.toLowerCase().split(/[-_.\s]+/).filter(Boolean).sort().join(' ')
  const target = norm(name)
  const limit = Math.max(3, Math.floor(target.length / 2))
  const scored = [...new Set(candidates)]
    .map((c) => {
      const n = norm(c)
      const contains = n.length > 2 && (n.includes(target) || target.includes(n))
      const d = Math.min(editDistance(target, n), editDistance(words(name), words(c)), contains ? 1 : Infinity)
      return {c, d}
    })
    .filter((x) => x.d <= limit)
    .sort((x, y) => x.d - y.d || x.c.localeCompare(y.c))
  const best = scored[0]?.d ?? 0
  return scored.filter((x) => x.d <= best + 2).slice(0, max).map((x) => x.c)
}
