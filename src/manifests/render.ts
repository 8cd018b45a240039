import {createHash} from 'node:crypto'
import {stringify} from 'yaml'

import type {LoadedProfile} from '../profile/index.js'
import {closestNames} from '../kots/suggest.js'
import {AirlockError} from '../ui/errors.js'
import {renderNodepoolsReference, renderNodepoolsScript, type PoolAssignment} from './nodepools.js'
import {loadPlatforms} from './platforms.js'
import {renderRbacReview, reviewRules} from './rbac.js'

export const PLATFORMS = ['generic', 'eks', 'gke', 'aks', 'openshift'] as const
export type Platform = (typeof PLATFORMS)[number]

const NODE_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/
/** CSI driver names are DNS subdomains; in-tree ones look like kubernetes.io/aws-ebs */
const PROVISIONER = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?)?$/i

export interface InputNames {
  platform: string
  provisioner: string
  namespace: string
  pool: string
}

export const MANIFEST_FLAG_NAMES: InputNames = {platform: '--platform', provisioner: '--provisioner', namespace: '--namespace', pool: '--pool'}

export interface ManifestsInput {
  profile: LoadedProfile
  platform: string
  provisioner?: string
  namespace?: string
  /** pool name -> node names */
  pools?: Record<string, string[]>
  names?: Partial<InputNames>
}

export interface RenderedFile {
  path: string
  content: string
  mode: number
}

export interface ManifestsSummary {
  platform: string
  namespace: string
  storageClass: string
  provisioner: string
  pools: {name: string; label: string; taint?: string; nodes: string[]}[]
  rbac: {clusterRoles: string[]; permissions: number; flagged: string[]}
}

export interface RenderedManifests {
  files: RenderedFile[]
  summary: ManifestsSummary
}

/** The objects and scripts a cluster needs before the platform installs, all from the profile. */
export async function renderManifests(input: ManifestsInput): Promise<RenderedManifests> {
  const names = {...MANIFEST_FLAG_NAMES, ...input.names}
  const {profile} = input.profile
  if (!(PLATFORMS as readonly string[]).includes(input.platform)) {
    throw new AirlockError('USAGE', `${names.platform}: ${input.platform} is not one of ${PLATFORMS.join(', ')}`, {subject: names.platform, hint: `choose one of ${PLATFORMS.join(', ')}`})
  }
  const defaults = (await loadPlatforms())[input.platform]
  const provisioner = input.provisioner ?? defaults?.provisioner
  if (!provisioner) {
    throw new AirlockError('USAGE', `platform ${input.platform} has no default storage provisioner: ${names.provisioner} is required`, {
      subject: names.provisioner,
      hint: 'name the cluster\'s CSI driver (kubectl get csidrivers), e.g. rancher.io/local-path, csi.vsphere.vmware.com, driver.longhorn.io',
    })
  }
  if (!PROVISIONER.test(provisioner) || provisioner.length > 253) {
    throw new AirlockError('USAGE', `${names.provisioner}: ${provisioner} is not a provisioner name`, {subject: names.provisioner, hint: 'a CSI driver name such as ebs.csi.aws.com'})
  }
  // A provider's parameters mean nothing to another driver: keep them only with the default driver.
  const parameters = input.provisioner === undefined || input.provisioner === defaults?.provisioner ? (defaults?.parameters ?? {}) : {}
  const namespace = input.namespace ?? profile.namespace.name
  if (!DNS_LABEL.test(namespace)) {
    throw new AirlockError('USAGE', `${names.namespace}: ${namespace} is not a valid namespace name`, {subject: names.namespace, hint: 'lower-case letters, digits and "-", at most 63'})
  }
  const assignments = assignPools(input.profile, input.pools ?? {}, names.pool)
  const partOf = profile.namespace.partOfLabel
  const labels = partOf ? {[partOf.key]: partOf.value} : undefined

  const namespaceObject = {apiVersion: 'v1', kind: 'Namespace', metadata: {name: namespace, ...(labels ? {labels} : {})}}
  const storageClassObject = {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: {name: profile.storageClass.name, ...(labels ? {labels} : {})},
    provisioner,
    ...(Object.keys(parameters).length ? {parameters} : {}),
    reclaimPolicy: 'Delete',
    volumeBindingMode: profile.storageClass.volumeBindingMode,
    allowVolumeExpansion: profile.storageClass.allowVolumeExpansion,
  }
  const header = (what: string) => `# ${what} for ${profile.metadata.platform} ${profile.metadata.version} (airlock manifests render, platform ${input.platform})\n`
  const files: RenderedFile[] = [
    {path: 'namespace.yaml', content: header('The install namespace') + stringify(namespaceObject), mode: 0o644},
    {path: 'storageclass.yaml', content: header('The StorageClass') + stringify(storageClassObject), mode: 0o644},
    {path: 'nodepools.sh', content: renderNodepoolsScript(profile, assignments), mode: 0o755},
    {path: 'nodepools.md', content: renderNodepoolsReference(profile, assignments, input.platform), mode: 0o644},
    {path: 'rbac-review.md', content: renderRbacReview(profile), mode: 0o644},
  ]
  const rows = reviewRules(profile)
  return {
    files,
    summary: {
      platform: input.platform,
      namespace,
      storageClass: profile.storageClass.name,
      provisioner,
      pools: assignments.map(({pool, nodes}) => ({
        name: pool.name,
        label: `${pool.label.key}=${pool.label.value}`,
        ...(pool.taint ? {taint: `${pool.taint.key}=${pool.taint.value}:${pool.taint.effect}`} : {}),
        nodes,
      })),
      rbac: {clusterRoles: profile.rbac.clusterRoles, permissions: rows.length, flagged: rows.filter((r) => r.flags.length > 0).map((r) => r.resource)},
    },
  }
}

/** Every pool of the profile, each with the nodes given for it; a pool name not in the profile is an error. */
function assignPools(loaded: LoadedProfile, given: Record<string, string[]>, flag: string): PoolAssignment[] {
  const pools = loaded.profile.nodePools
  const known = pools.map((p) => p.name)
  for (const [name, nodes] of Object.entries(given)) {
    if (!known.includes(name)) {
      const near = closestNames(name, known)
      throw new AirlockError('USAGE', `${flag} ${name}: no such pool in ${loaded.source} (pools: ${known.join(', ')})`, {subject: `${flag} ${name}`, hint: near.length ? `did you mean ${near.join(', ')}?` : `use one of ${known.join(', ')}`})
    }
    for (const node of nodes) {
      if (!NODE_NAME.test(node)) {
        throw new AirlockError('USAGE', `${flag} ${name}: ${JSON.stringify(node)} is not a valid node name`, {subject: `${flag} ${name}`, hint: 'node names are lower-case DNS names, as `kubectl get nodes` prints them'})
      }
    }
  }
  return pools.map((pool) => ({pool, nodes: [...new Set(given[pool.name] ?? [])]}))
}

/** `general=node-1,node-2` as typed on the command line. */
export function parsePoolFlags(list: string[], flag = '--pool'): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const s of list) {
    const eq = s.indexOf('=')
    if (eq <= 0) throw new AirlockError('USAGE', `${flag} ${s}: expected POOL=NODE[,NODE...]`, {subject: `${flag} ${s}`, hint: `e.g. ${flag} general=node-1,node-2`})
    const name = s.slice(0, eq)
    const nodes = s.slice(eq + 1).split(',').map((n) => n.trim()).filter(Boolean)
    out[name] = [...(out[name] ?? []), ...nodes]
  }
  return out
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}
