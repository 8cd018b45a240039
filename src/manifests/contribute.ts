import type {BuildContext, Contribution} from '../bundle/build-context.js'
import {bufferEntry} from '../bundle/entry.js'
import {loadProfile} from '../profile/index.js'
import {AirlockError} from '../ui/errors.js'
import {renderManifests} from './render.js'

/** spec.manifests: the prerequisite objects, scripts and reviews under manifests/. */
export async function contributeManifests(ctx: BuildContext): Promise<Contribution | undefined> {
  const spec = ctx.loaded.spec.spec.manifests
  if (!spec) return undefined
  const at = (field: string) => `${ctx.loaded.path}#spec.manifests.${field}`
  const profileName = ctx.loaded.spec.spec.profile
  if (!profileName) {
    throw new AirlockError('SPEC_INVALID', `${ctx.loaded.path}#spec.profile: spec.manifests needs a requirement profile`, {subject: `${ctx.loaded.path}#spec.profile`, hint: 'name one from templates/profiles/, e.g. profile: NAME'})
  }
  ctx.progress('rendering the prerequisite manifests')
  const rendered = await renderManifests({
    profile: await loadProfile(profileName),
    platform: spec.platform,
    provisioner: spec.provisioner,
    namespace: spec.namespace,
    pools: spec.pools,
    names: {platform: at('platform'), provisioner: at('provisioner'), namespace: at('namespace'), pool: at('pools')},
  })
  return {
    entries: rendered.files.map((f) => ({...bufferEntry(`manifests/${f.path}`, f.content, 'manifests'), mode: f.mode})),
    extensions: {manifests: {...rendered.summary, files: rendered.files.map((f) => `manifests/${f.path}`)}},
  }
}
