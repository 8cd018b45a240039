import {isAbsolute, join, resolve} from 'node:path'
import {readFile} from 'node:fs/promises'

import {AirlockError, fromFsError} from '../ui/errors.js'
import {downloadToFile} from '../sources/http.js'
import {loadProfile} from '../profile/index.js'
import {bufferEntry, fileEntry} from './entry.js'
import type {InventoryEntry} from './format.js'
import {baseCarries, omitCarried} from './since.js'
import type {BuildContext, Contribution} from './build-context.js'

/** spec.files: local paths (relative to the spec), https:// URLs; each lands at files/<as>. */
export async function contributeFiles(ctx: BuildContext): Promise<Contribution | undefined> {
  const files = ctx.loaded.spec.spec.files
  if (files.length === 0) return undefined
  const ca = ctx.options.caFile ? await readFile(ctx.options.caFile, 'utf8').catch((error: unknown) => {
    throw fromFsError(error, ctx.options.caFile ?? '', 'CA file')
  }) : undefined
  const pending: {i: number; path: string; local: string; role: 'file' | 'executable'; subject: string; expected?: string}[] = []
  const omitted: InventoryEntry[] = []
  for (const [i, file] of files.entries()) {
    const subject = `spec.files[${i}].source`
    const path = `files/${file.as}`
    const role = file.executable ? 'executable' as const : 'file' as const
    const pinned = file.sha256?.replace(/^sha256:/, '')
    if (/^https:\/\//i.test(file.source) && pinned && baseCarries(ctx.since, path, pinned)) {
      // pinned by digest and carried by the --since bundle: no need to download it at all
      ctx.progress(`${path}: carried by ${ctx.since?.file}`)
      omitted.push({path, size: ctx.since?.sizes.get(path) ?? 0, sha256: pinned, role})
      continue
    }
    let local: string
    if (/^https:\/\//i.test(file.source)) {
      ctx.progress(`downloading ${file.source}`)
      local = join(ctx.workDir, `file-${i}`)
      await downloadToFile(file.source, local, {ca, sha256: file.sha256, subject: `${ctx.loaded.path}#${subject}`})
    } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(file.source)) {
      throw new AirlockError('SPEC_INVALID', `${ctx.loaded.path}#${subject}: ${file.source.split(':')[0]}:// sources are not supported here`, {subject: `${ctx.loaded.path}#${subject}`, hint: 'use a local path or an https:// URL'})
    } else {
      local = isAbsolute(file.source) ? file.source : resolve(ctx.loaded.baseDir, file.source)
    }
    // hashed below, all at once: large files go to worker threads and are read side by side
    pending.push({i, path, local, role, subject, expected: pinned})
  }
  const entries = await Promise.all(
    pending.map(async ({i, path, local, role, subject, expected}) => {
      let entry
      try {
        entry = await fileEntry(path, local, role)
      } catch (error) {
        if (error instanceof AirlockError && error.code === 'FILE_NOT_FOUND') {
          const id = files[i]?.id
          throw new AirlockError('FILE_NOT_FOUND', `${ctx.loaded.path}#${subject}: ${local} does not exist`, {
            subject: `${ctx.loaded.path}#${subject}`,
            hint: id ? `give its path at build time: --set files.${id}=PATH (paths in the spec are relative to the spec file)` : 'paths are relative to the spec file; fix the path or build the file first',
          })
        }
        throw error
      }
      if (expected && expected !== entry.sha256) {
        throw new AirlockError('DIGEST_MISMATCH', `${local} has sha256:${entry.sha256}, the spec expects sha256:${expected}`, {subject: `${ctx.loaded.path}#spec.files[${i}].sha256`, hint: 'the file changed; check it and update sha256 in the spec'})
      }
      return entry
    }),
  )
  const split = omitCarried(ctx.since, entries)
  return {entries: split.kept, omitted: [...omitted, ...split.omitted]}
}

/** spec.profile: templates/profiles/<name>.yaml, validated, copied byte for byte as requirements.yaml. */
export async function contributeProfile(ctx: BuildContext): Promise<Contribution | undefined> {
  const name = ctx.loaded.spec.spec.profile
  if (!name) return undefined
  let loaded
  try {
    loaded = await loadProfile(name)
  } catch (error) {
    if (error instanceof AirlockError && error.code === 'PROFILE_INVALID' && error.subject === name) {
      throw new AirlockError('SPEC_INVALID', `${ctx.loaded.path}#spec.profile: no profile named ${name}`, {subject: `${ctx.loaded.path}#spec.profile`, hint: error.hint})
    }
    throw error
  }
  return {
    entries: [bufferEntry('requirements.yaml', loaded.raw, 'requirements')],
    profile: {name, sha256: loaded.sha256},
  }
}
