import type {ClusterFacts} from '../../src/cluster/facts.js'
import {isActivePod, toNamespaceFacts, toNodeFacts, toOpenShiftVersion, toStorageClassFacts} from '../../src/cluster/normalize.js'
import {loadFixture, type ClusterFixture, type FixtureName} from '../support/kube-api.js'

/** The facts a live read of this fixture gives, built without a server so that check tests stay pure and fast. */
export function factsFrom(fixture: ClusterFixture, extra: Partial<ClusterFacts> = {}): ClusterFacts {
  const pods: Record<string, number> = {}
  for (const p of fixture.pods.items) {
    const a = isActivePod(p)
    if (a) pods[a.namespace] = (pods[a.namespace] ?? 0) + 1
  }
  const openshift = fixture.clusterversion ? toOpenShiftVersion(fixture.clusterversion) : undefined
  return {
    apiVersion: 'airlock.dev/v1',
    kind: 'ClusterSnapshot',
    format: 1,
    source: {kind: 'live', takenAt: '2025-02-03T10:41:02Z', context: 'test', server: 'https://127.0.0.1'},
    server: {gitVersion: String(fixture.version.gitVersion)},
    apiGroups: fixture.apiGroups,
    ...(openshift ? {openshift} : {}),
    nodes: fixture.nodes.items.map(toNodeFacts),
    namespaces: fixture.namespaces.items.map(toNamespaceFacts),
    storageClasses: fixture.storageclasses.items.map(toStorageClassFacts),
    podsPerNamespace: pods,
    accessReviews: [
      {group: '', resource: 'namespaces', verb: 'create', allowed: true},
      {group: 'rbac.authorization.k8s.io', resource: 'clusterroles', verb: 'create', allowed: true},
      {group: 'rbac.authorization.k8s.io', resource: 'clusterroles', verb: 'bind', allowed: true},
      {group: 'rbac.authorization.k8s.io', resource: 'clusterroles', verb: 'escalate', allowed: true},
      {group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings', verb: 'create', allowed: true},
      {group: 'storage.k8s.io', resource: 'storageclasses', verb: 'create', allowed: true},
    ],
    kubectl: {gitVersion: 'v1.31.4'},
    ...extra,
  }
}

export function fixtureFacts(name: FixtureName, extra: Partial<ClusterFacts> = {}): ClusterFacts {
  return factsFrom(loadFixture(name), extra)
}
