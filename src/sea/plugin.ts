import {Plugin, type Command, type Interfaces} from '@oclif/core'

export type CommandMap = Record<string, Command.Class>

/**
 * oclif's root plugin for a CLI with no files on disk. oclif would read `<root>/oclif.manifest.json`
 * and import the explicit command map from `<root>/dist/commands/index.js`; here both come from the
 * caller instead: the manifest as data (so `--version` and `--help` never evaluate a command module),
 * the map through `loadCommands` (evaluated on the first command actually run).
 *
 * `_manifest` and `loadCommandsFromTarget` are private in oclif's typings (checked against
 * @oclif/core 4.14); they are the two places Plugin.load() and findCommand() touch the disk. Without
 * a manifest, oclif builds one from the loaded classes, as it does in development.
 */
export async function loadEmbeddedPlugin(pjson: Interfaces.PJSON, root: string, loadCommands: () => Promise<CommandMap>, manifest?: Interfaces.Manifest): Promise<Plugin> {
  const plugin = new Plugin({root, pjson, isRoot: true, ignoreManifest: manifest === undefined, errorOnManifestCreate: true})
  const internals = plugin as unknown as {
    commandCache?: CommandMap
    loadCommandsFromTarget(): Promise<CommandMap>
    _manifest(): Promise<Interfaces.Manifest>
  }
  internals.loadCommandsFromTarget = async () => (internals.commandCache ??= await loadCommands())
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
