import type {RequirementProfile} from '../profile/index.js'

export interface RbacRow {
  /** as written in the profile, e.g. `jobs.batch/status` */
  resource: string
  name: string
  group: string
  subresource?: string
  verbs: string[]
  /** why a reviewer should look twice; empty when nothing stands out */
  flags: string[]
}

/** `clusterroles.rbac.authorization.k8s.io` -> resource clusterroles, group rbac.authorization.k8s.io. */
export function parseResource(resource: string): {name: string; group: string; subresource?: string} {
  const [main = '', subresource] = resource.split('/', 2)
  const dot = main.indexOf('.')
  return {name: dot < 0 ? main : main.slice(0, dot), group: dot < 0 ? '' : main.slice(dot + 1), ...(subresource ? {subresource} : {})}
}

/** Workload resources whose controllers create pods from a template: holding them is holding pod creation. */
const WORKLOADS = new Set(['jobs', 'cronjobs', 'replicasets', 'deployments', 'statefulsets', 'daemonsets', 'replicationcontrollers'])

const BUILTIN_GROUP = /(^|\.)k8s\.io$|^(apps|batch|autoscaling|extensions|policy)$/

/**
 * The permissions a reviewer must weigh, from Kubernetes' own RBAC good-practice guidance: each one lets
 * its holder reach beyond what its name suggests. These are Kubernetes facts, so they live in code;
 * what a platform asks for is data in its profile.
 */
export function flagPermission(resource: string, verbs: string[]): string[] {
  const {name, group, subresource} = parseResource(resource)
  const v = new Set(verbs)
  const any = (...list: string[]) => v.has('*') || list.some((x) => v.has(x))
  const flags: string[] = []
  if ((name === 'clusterroles' || name === 'roles') && any('bind', 'escalate')) {
    flags.push('bind/escalate: can grant permissions it does not hold itself (privilege escalation)')
  }
  if (name === 'secrets' && any('get', 'list', 'watch')) flags.push('reads Secrets: every credential and service-account token in scope')
  if (name === 'secrets' && any('create', 'update', 'patch')) flags.push('writes Secrets: can replace credentials others rely on')
  if (name === 'nodes' && subresource === 'proxy') flags.push('nodes/proxy reaches the kubelet API: can run commands in any pod on a node')
  if (name === 'tokenreviews' && any('create')) flags.push('tokenreviews: validates any bearer token presented to it')
  if (v.has('*')) {
    flags.push(group && !BUILTIN_GROUP.test(group) ? 'wildcard verbs on custom resources: every current and future verb' : 'wildcard verbs: every current and future verb')
  }
  if (name === '*' || group === '*') flags.push('wildcard resources: every current and future resource')
  if (name === 'pods' && !subresource && any('create')) flags.push('creates pods: a pod can mount any Secret or service account of its namespace')
  if (WORKLOADS.has(name) && !subresource && any('create', 'update', 'patch')) {
    flags.push(`${any('create') ? 'creates' : 'changes'} ${name}: as good as creating pods (the controller makes pods from its template, which can mount any Secret or service account of the namespace)`)
  }
  if ((name === 'rolebindings' || name === 'clusterrolebindings') && any('create', 'update', 'patch')) flags.push('writes role bindings: can hand roles to any subject')
  if (name === 'pods' && (subresource === 'exec' || subresource === 'attach') && any('create', 'get')) flags.push(`pods/${subresource}: runs commands in running pods, with their service accounts and mounted Secrets`)
  if (name === 'pods' && subresource === 'ephemeralcontainers' && any('update', 'patch')) flags.push('pods/ephemeralcontainers: adds a container to a running pod, as good as exec')
  if (name === 'pods' && subresource === 'portforward' && any('create', 'get')) flags.push('pods/portforward: reaches any port of any pod, past network policies')
  if (name === 'serviceaccounts' && subresource === 'token' && any('create')) flags.push('serviceaccounts/token: mints tokens for any service account in scope')
  if (['users', 'groups', 'serviceaccounts', 'uids', 'userextras'].includes(name) && any('impersonate')) flags.push('impersonate: acts as another user, group or service account, with all of its permissions')
  if (name === 'persistentvolumes' && !subresource && any('create')) flags.push('creates persistent volumes: a hostPath volume reaches the node\'s filesystem')
  if (name === 'certificatesigningrequests' && (subresource === 'approval' || subresource === undefined) && any('update', 'patch', 'approve')) flags.push('approves certificate requests: can issue client certificates the API server trusts')
  if ((name === 'mutatingwebhookconfigurations' || name === 'validatingwebhookconfigurations') && any('create', 'update', 'patch')) flags.push('writes admission webhooks: sees, and may change, every object written to the cluster')
  if (name === 'nodes' && !subresource && any('update', 'patch')) flags.push('changes nodes: labels and taints decide where every pod runs')
  if (name === 'namespaces' && any('delete')) flags.push('deletes namespaces: and everything in them')
  return flags
}

export function reviewRules(profile: RequirementProfile): RbacRow[] {
  return profile.rbac.rules.flatMap((rule) => rule.resources.map((resource) => ({resource, ...parseResource(resource), verbs: rule.verbs, flags: flagPermission(resource, rule.verbs)})))
}

export function renderRbacReview(profile: RequirementProfile): string {
  const rows = reviewRules(profile)
  const flagged = rows.filter((r) => r.flags.length > 0)
  const title = `${profile.metadata.platform} ${profile.metadata.version}`
  const cell = (s: string) => s.replaceAll('|', '\\|')
  return [
    `# RBAC review: ${title}`,
    '',
    `The platform creates these ClusterRoles: ${profile.rbac.clusterRoles.map((r) => `\`${r}\``).join(', ') || '(none listed)'}.`,
    `Together they hold the ${rows.length} permissions below; **${flagged.length}** are flagged for a reviewer.`,
    'A ClusterRole can only be created by an identity that holds every permission it grants, or `escalate`.',
    '',
    '| | resource | API group | verbs | why it matters |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.flags.length ? '**FLAG**' : ''} | \`${cell(r.name)}${r.subresource ? `/${cell(r.subresource)}` : ''}\` | ${r.group ? `\`${cell(r.group)}\`` : 'core'} | ${r.verbs.map((x) => `\`${cell(x)}\``).join(', ')} | ${cell(r.flags.join('; '))} |`),
    '',
    '## Flagged permissions',
    '',
    ...(flagged.length ? flagged.map((r) => `- \`${r.resource}\` (${r.verbs.join(', ')}): ${r.flags.join('; ')}`) : ['None.']),
    '',
    '## What the installing identity must be allowed to do',
    '',
    '| API group | resource | verb |',
    '| --- | --- | --- |',
    ...profile.rbac.installer.map((p) => `| ${p.group ? `\`${p.group}\`` : 'core'} | \`${p.resource}\` | \`${p.verb}\` |`),
    '',
    'Check each with `kubectl auth can-i VERB RESOURCE` as that identity before installing.',
    '',
    '## Reviewer checklist',
    '',
    '- [ ] The cluster is dedicated to the platform (these ClusterRoles reach every namespace).',
    '- [ ] Each flagged permission is accepted, with the reason recorded.',
    '- [ ] The installing identity holds the permissions above, and no more than needed.',
    '',
  ].join('\n')
}
