import {createHash} from 'node:crypto'
import {parseYamlDocument, yamlToJS} from '../util/yaml.js'

import {formatYamlPath} from '../spec/load.js'
import {AirlockError} from '../ui/errors.js'
import {readTemplate} from '../util/templates.js'
import {profileSchema, type RequirementProfile} from './schema.js'

export type {NodePool, RequirementProfile, ServiceSpec} from './schema.js'

export interface LoadedProfile {
  profile: RequirementProfile
  /** the YAML as shipped, byte for byte (it becomes requirements.yaml) */
  raw: Buffer
  sha256: string
  source: string
}

/** Validates profile text; every error names the source and the field, e.g. `cluster.nodes.min`. */
export function parseProfile(raw: Buffer, source: string): LoadedProfile {
  const where = {source, code: 'PROFILE_INVALID' as const}
  const result = profileSchema.safeParse(yamlToJS(parseYamlDocument(raw.toString('utf8'), where), where))
  if (!result.success) {
    const issue = result.error.issues[0]
    const path = issue ? formatYamlPath(issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0] ?? ''] : issue.path) : '(root)'
    throw new AirlockError('PROFILE_INVALID', `${source}: ${path}: ${issue?.code === 'unrecognized_keys' ? 'unknown key' : issue?.message}`, {
      subject: `${source}#${path}`,
      hint: 'compare with templates/profiles/wallaroo-2025.1.yaml',
    })
  }
  return {profile: result.data, raw, sha256: createHash('sha256').update(raw).digest('hex'), source}
}

/** A profile shipped in templates/profiles/<name>.yaml. */
export async function loadProfile(name: string): Promise<LoadedProfile> {
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(name)) throw new AirlockError('USAGE', `invalid profile name ${name}`, {subject: name})
  const raw = await readTemplate(`profiles/${name}.yaml`).catch((error: unknown) => {
    if (error instanceof AirlockError && error.code === 'FILE_NOT_FOUND') {
      throw new AirlockError('PROFILE_INVALID', `no profile named ${name}`, {subject: name, hint: 'profiles live in templates/profiles/<name>.yaml'})
    }
    throw error
  })
  return parseProfile(raw, `templates/profiles/${name}.yaml`)
}

/** The services a cluster of `cores` may run: N between tiers takes the lower tier. */
export function tierFor(profile: RequirementProfile, cores: number): number | undefined {
  const tiers = [...profile.services.tiers].sort((a, b) => a - b)
  return tiers.filter((t) => t <= cores).at(-1)
}
