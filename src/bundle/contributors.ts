import type {Contributor} from './build-context.js'

/**
 * The build steps, in the order their entries are written. Each reads its own part of the spec and
 * returns entries with known sizes and digests; none writes into the bundle itself. Each is loaded
 * only when a build runs, so the libraries behind them never slow down another command's start.
 */
export const CONTRIBUTORS: (() => Promise<Contributor>)[] = [
  async () => (await import('./contribute-files.js')).contributeProfile,
  async () => (await import('./contribute-files.js')).contributeFiles,
  async () => (await import('../sea/contribute-self.js')).contributeSelf,
  async () => (await import('../images/contribute.js')).contributeImages,
  async () => (await import('../kots/contribute.js')).contributeKots,
  async () => (await import('../manifests/contribute.js')).contributeManifests,
  async () => (await import('../pki/contribute.js')).contributeTls,
]
