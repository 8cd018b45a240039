import {mkdir, writeFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {create} from 'tar'

/**
 * A KOTS `kind: Config` as an application ships it (kots.io/v1beta1 groups and items), with the items
 * our profile writes; `overrides` renames or retypes items to build the mismatching cases.
 */
export function appConfigYaml(options: {rename?: Record<string, string>; extra?: string} = {}): string {
  const n = (name: string) => options.rename?.[name] ?? name
  return `apiVersion: kots.io/v1beta1
kind: Config
metadata:
  name: config-sample
spec:
  groups:
    - name: network
      title: Network
      items:
        - name: ${n('wallaroo_domain')}
          title: Domain
          type: text
          required: true
        - name: ${n('ingress_mode')}
          title: Ingress
          type: select_one
          default: internal
          items:
            - {name: internal, title: Internal load balancer}
            - {name: external, title: External load balancer}
            - {name: none, title: None}
    - name: services
      title: Services
      items:
        - name: ${n('jupyter_mode')}
          type: select_one
          default: single
          items:
            - {name: single, title: One lab}
            - {name: multiple, title: One lab per user}
        - {name: ${n('enable_alerting')}, type: bool, default: "1"}
        - {name: ${n('enable_model_validation')}, type: bool, default: "1"}
        - {name: ${n('enable_plateau')}, type: bool, default: "1"}
        - {name: ${n('enable_model_insights')}, type: bool, default: "1"}
        - {name: admin_password, type: password}
        - {name: notes_heading, type: label, title: Notes}
${options.extra ?? ''}`
}

/**
 * An .airgap laid out as KOTS writes one: a gzip tar holding airgap.yaml, the app's manifests in a
 * nested app.tar.gz, and image blobs beside them.
 */
export async function writeAirgap(dir: string, configYaml: string, name = 'app.airgap'): Promise<string> {
  const stage = join(dir, 'airgap-stage')
  const app = join(dir, 'app-stage')
  const files: Record<string, string | Buffer> = {
    [join(app, 'manifests/config.yaml')]: configYaml,
    [join(app, 'manifests/deployment.yaml')]: 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n---\napiVersion: kots.io/v1beta1\nkind: Application\nmetadata: {name: app}\n',
    [join(stage, 'airgap.yaml')]: 'apiVersion: kots.io/v1beta1\nkind: Airgap\nspec: {appSlug: app, channelName: Stable}\n',
    [join(stage, 'images/docker-archive/app/1.0/blob')]: Buffer.alloc(256 * 1024, 1),
  }
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(path), {recursive: true})
    await writeFile(path, content)
  }
  await create({gzip: true, cwd: app, file: join(stage, 'app.tar.gz')}, ['manifests'])
  const out = join(dir, name)
  await create({gzip: true, cwd: stage, file: out}, ['airgap.yaml', 'app.tar.gz', 'images'])
  return out
}
