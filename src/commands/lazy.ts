import type {Command} from '@oclif/core'

/*
 * Every command, by id, as a loader: running one command evaluates that command's modules only (and
 * their dependencies), not the other commands' (zod, the Kubernetes client, the S3 SDK, ...). In the
 * single executable esbuild turns each import() into a lazy initialiser of the bundled module.
 * src/commands/index.ts derives oclif's explicit map (for `oclif manifest` and packaging) from it.
 */
export const COMMAND_LOADERS: Record<string, () => Promise<Command.Class>> = {
  'bundle:build': async () => (await import('./bundle/build.js')).default,
  'bundle:extract': async () => (await import('./bundle/extract.js')).default,
  'bundle:fetch': async () => (await import('./bundle/fetch.js')).default,
  'bundle:inspect': async () => (await import('./bundle/inspect.js')).default,
  'bundle:publish': async () => (await import('./bundle/publish.js')).default,
  'bundle:split': async () => (await import('./bundle/split.js')).default,
  'bundle:verify': async () => (await import('./bundle/verify.js')).default,
  'certs:ca': async () => (await import('./certs/ca.js')).default,
  'certs:csr': async () => (await import('./certs/csr.js')).default,
  'certs:inspect': async () => (await import('./certs/inspect.js')).default,
  'certs:issue': async () => (await import('./certs/issue.js')).default,
  'cluster:snapshot': async () => (await import('./cluster/snapshot.js')).default,
  'cluster:verify': async () => (await import('./cluster/verify.js')).default,
  'images:list': async () => (await import('./images/list.js')).default,
  'images:push': async () => (await import('./images/push.js')).default,
  'images:serve': async () => (await import('./images/serve.js')).default,
  'keys:generate': async () => (await import('./keys/generate.js')).default,
  'kots:config': async () => (await import('./kots/config.js')).default,
  'manifests:render': async () => (await import('./manifests/render.js')).default,
}
