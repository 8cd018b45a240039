import {parseYaml} from '../util/yaml.js'
import {z} from 'zod'

import {formatYamlPath} from '../spec/load.js'
import {AirlockError} from '../ui/errors.js'
import {readTemplate} from '../util/templates.js'

const platformSchema = z.strictObject({
  title: z.string().min(1),
  provisioner: z.string().min(1).optional(),
  parameters: z.record(z.string(), z.string()).default({}),
})

const platformsSchema = z.strictObject({platforms: z.record(z.string(), platformSchema)})

export type PlatformDefaults = z.infer<typeof platformSchema>

const SOURCE = 'templates/manifests/platforms.yaml'

/** The per-platform defaults (CSI provisioner, its parameters), as data in templates/manifests/. */
export async function loadPlatforms(): Promise<Record<string, PlatformDefaults>> {
  const raw = await readTemplate('manifests/platforms.yaml')
  const result = platformsSchema.safeParse(parseYaml(raw.toString('utf8'), {source: SOURCE, code: 'INPUT_INVALID'}))
  if (!result.success) {
    const issue = result.error.issues[0]
    const path = formatYamlPath(issue?.path ?? [])
    throw new AirlockError('INPUT_INVALID', `${SOURCE}: ${path}: ${issue?.message}`, {subject: `${SOURCE}#${path}`, hint: 'the shipped templates were changed; restore them'})
  }
  return result.data.platforms
}
