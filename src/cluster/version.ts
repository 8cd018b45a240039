/**
 * Version strings as clusters report them: `v1.31.4-eks-2d5f260`, `v1.30.5-gke.1014001`,
 * `v1.31.2+k3s1`, `v1.30.6+rke2r1`, `4.18.3` (OpenShift), `containerd://1.7.22`. Only major.minor.patch
 * matter for the checks; the vendor suffix is kept for display and distribution detection.
 */
export interface Version {
  major: number
  minor: number
  patch: number
}

export function parseVersion(text: string | undefined): Version | undefined {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(text?.trim() ?? '')
  if (!m) return undefined
  return {major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0)}
}

/** <0, 0, >0 like a sort comparator. */
export function compareVersions(a: Version, b: Version): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch
}

export function formatVersion(v: Version): string {
  return `${v.major}.${v.minor}.${v.patch}`
}

/** `containerd://1.7.22-1` -> {name: containerd, version: 1.7.22-1}. */
export function parseRuntime(text: string | undefined): {name: string; version: string} | undefined {
  const m = /^([a-z0-9.-]+):\/\/(.*)$/i.exec(text?.trim() ?? '')
  return m ? {name: (m[1] as string).toLowerCase(), version: m[2] as string} : undefined
}
