import {loadProfile, parseProfile, type LoadedProfile} from '../profile/index.js'
import {AirlockError} from '../ui/errors.js'
import {readSmallFile} from '../util/fs.js'
import {listTemplates} from '../util/templates.js'

/**
 * `--profile NAME|FILE`: a shipped profile by name, or a profile file by path (anything with a `/` or
 * a .yaml/.yml ending). Without one, the single profile shipped in templates/profiles/ is used, so the
 * code never names a platform; with several shipped, the user must choose.
 */
export async function resolveProfile(ref: string | undefined): Promise<LoadedProfile> {
  if (ref && (ref.includes('/') || /\.ya?ml$/i.test(ref))) {
    const raw = await readSmallFile(ref, {what: 'profile', maxBytes: 4 << 20})
    return parseProfile(raw, ref)
  }
  if (ref) return loadProfile(ref)
  const names = await shippedProfiles()
  if (names.length === 1 && names[0]) return loadProfile(names[0])
  throw new AirlockError('USAGE', names.length === 0 ? 'no requirement profile is shipped: pass --profile FILE' : `several profiles are shipped (${names.join(', ')}): choose one with --profile`, {
    subject: '--profile',
    hint: 'pass --profile NAME (templates/profiles/NAME.yaml) or --profile path/to/profile.yaml',
  })
}

async function shippedProfiles(): Promise<string[]> {
  const files = await listTemplates('profiles')
  return files.filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -'.yaml'.length))
}
