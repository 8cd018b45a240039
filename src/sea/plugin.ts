import {Errors, Plugin, type Command, type Interfaces} from '@oclif/core'

export type CommandMap = Record<string, Command.Class>
export type CommandLoaders = Record<string, () => Promise<Command.Class>>

/**
 * oclif's root plugin, with its commands given by the caller instead of read from disk: the manifest
 * as data (so `--version` and `--help` never evaluate a command module), and the commands either as
 * one map (`loadCommands`, evaluated on first use) or as one loader per command (running a command
 * evaluates that command's modules alone). `node bin/run.js` (src/cli.ts) and the single executable
 * (src/sea/app.ts) both start through it.
 *
 * `_manifest`, `loadCommandsFromTarget` and `findCommand` are what Plugin.load() and a command's
 * `load()` call (checked against @oclif/core 4.14); the first two are private in oclif's typings.
 * Without a manifest, oclif builds one from the loaded classes, as it does in development.
 */
export async function loadEmbeddedPlugin(pjson: Interfaces.PJSON, root: string, commands: (() => Promise<CommandMap>) | CommandLoaders, manifest?: Interfaces.Manifest): Promise<Plugin> {
  const plugin = new Plugin({root, pjson, isRoot: true, ignoreManifest: manifest === undefined, errorOnManifestCreate: true})
  const internals = plugin as unknown as {
    commandCache?: CommandMap
    loadCommandsFromTarget(): Promise<CommandMap>
    _manifest(): Promise<Interfaces.Manifest>
  }
  if (typeof commands === 'function') {
    internals.loadCommandsFromTarget = async () => (internals.commandCache ??= await commands())
  } else {
    const loaders = commands
    internals.loadCommandsFromTarget = async () => (internals.commandCache ??= Object.fromEntries(await Promise.all(Object.entries(loaders).map(async ([id, load]) => [id, await load()] as const))))
    ;(plugin as unknown as {findCommand(id: string, opts?: {must?: boolean}): Promise<Command.Class | undefined>}).findCommand = async (id, opts = {}) => {
      const load = Object.hasOwn(loaders, id) ? loaders[id] : undefined
      const cmd = load ? await load() : undefined
      if (!cmd) {
        if (opts.must) Errors.error(`command ${id} not found`)
        return undefined
      }
      cmd.id = id
      cmd.plugin = plugin
      return cmd
    }
  }
  if (manifest) {
    internals._manifest = async () => {
      plugin.hasManifest = true
      plugin.commandIDs = Object.keys(manifest.commands)
      return manifest
    }
  }
  await plugin.load()
  return plugin
}

/** The manifest oclif makes from a command map, as `oclif manifest` writes it: for embedding. */
export async function manifestFor(pjson: Interfaces.PJSON, commands: CommandMap): Promise<Interfaces.Manifest> {
  const plugin = await loadEmbeddedPlugin(pjson, process.cwd(), async () => commands)
  return plugin.manifest
}
