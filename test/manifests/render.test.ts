import assert from 'node:assert/strict'

import {PLATFORMS, flagPermission, renderManifests, type RenderedManifests} from '../../src/manifests/index.js'
import {loadProfile, type LoadedProfile} from '../../src/profile/index.js'
import {validateObjects} from './k8s-schemas.js'
import {rejectsWithCode} from '../support/assert.js'

const EXPECTED_PROVISIONER: Record<string, string> = {
  eks: 'ebs.csi.aws.com',
  gke: 'pd.csi.storage.gke.io',
  aks: 'disk.csi.azure.com',
  openshift: 'openshift-storage.rbd.csi.ceph.com',
}

function file(r: RenderedManifests, path: string): string {
  const f = r.files.find((x) => x.path === path)
  assert.ok(f, path)
  return f.content
}

const expectReject = rejectsWithCode

describe('manifests: render', () => {
  let profile: LoadedProfile
  before(async () => {
    profile = await loadProfile('wallaroo-2025.1')
  })

  for (const platform of PLATFORMS.filter((p) => p !== 'generic')) {
    it(`${platform}: namespace and StorageClass pass the Kubernetes schemas, with ${EXPECTED_PROVISIONER[platform]}`, async () => {
      const r = await renderManifests({profile, platform})
      const [ns] = validateObjects(file(r, 'namespace.yaml')) as [{metadata: {name: string; labels: Record<string, string>}}]
      assert.equal(ns.metadata.name, 'wallaroo')
      assert.equal(ns.metadata.labels['app.kubernetes.io/part-of'], 'wallaroo')
      const [sc] = validateObjects(file(r, 'storageclass.yaml')) as [Record<string, unknown>]
      assert.equal((sc.metadata as {name: string}).name, 'wallaroo-standard')
      assert.equal(sc.provisioner, EXPECTED_PROVISIONER[platform])
      assert.equal(sc.volumeBindingMode, 'WaitForFirstConsumer')
      assert.equal(sc.allowVolumeExpansion, true)
      assert.equal(r.summary.provisioner, EXPECTED_PROVISIONER[platform])
    })
  }

  it('generic needs --provisioner; with it, the StorageClass carries no provider parameters', async () => {
    await expectReject(renderManifests({profile, platform: 'generic'}), 'USAGE', '--provisioner')
    const r = await renderManifests({profile, platform: 'generic', provisioner: 'rancher.io/local-path'})
    const [sc] = validateObjects(file(r, 'storageclass.yaml'))
    assert.equal(sc?.provisioner, 'rancher.io/local-path')
    assert.equal(sc?.parameters, undefined)
  })

  it('a --provisioner on a cloud platform replaces the driver and drops its parameters', async () => {
    const r = await renderManifests({profile, platform: 'openshift', provisioner: 'csi.vsphere.vmware.com'})
    const [sc] = validateObjects(file(r, 'storageclass.yaml'))
    assert.equal(sc?.provisioner, 'csi.vsphere.vmware.com')
    assert.equal(sc?.parameters, undefined)
    const odf = await renderManifests({profile, platform: 'openshift'})
    assert.equal((validateObjects(file(odf, 'storageclass.yaml'))[0]?.parameters as Record<string, string>).clusterID, 'openshift-storage')
  })

  it('bad inputs name their flag, or the spec path the bundle passes', async () => {
    await expectReject(renderManifests({profile, platform: 'nomad'}), 'USAGE', '--platform')
    await expectReject(renderManifests({profile, platform: 'eks', provisioner: 'bad driver!'}), 'USAGE', '--provisioner')
    await expectReject(renderManifests({profile, platform: 'eks', namespace: 'Not_OK'}), 'USAGE', '--namespace')
    await expectReject(renderManifests({profile, platform: 'eks', pools: {persistant: ['n1']}}), 'USAGE', '--pool persistant')
    await expectReject(renderManifests({profile, platform: 'eks', pools: {general: ['n1;rm -rf /']}}), 'USAGE', '--pool general')
    await expectReject(renderManifests({profile, platform: 'generic', names: {provisioner: 'spec.yaml#spec.manifests.provisioner'}}), 'USAGE', 'spec.yaml#spec.manifests.provisioner')
  })

  it('a --namespace override is a valid Namespace too', async () => {
    const r = await renderManifests({profile, platform: 'aks', namespace: 'platform-prod'})
    assert.equal((validateObjects(file(r, 'namespace.yaml'))[0]?.metadata as {name: string}).name, 'platform-prod')
  })

  it('nodepools.md gives every pool\'s label and taint for eksctl, gcloud, az and OpenShift', async () => {
    const md = file(await renderManifests({profile, platform: 'gke', pools: {pipelines: ['gpu-1']}}), 'nodepools.md')
    assert.match(md, /eksctl create nodegroup/)
    assert.match(md, /taints:\n\s+- \{key: wallaroo\.ai\/persistent, value: "true", effect: NoSchedule\}/)
    assert.match(md, /gcloud container node-pools create pipelines .*--node-taints='wallaroo\.ai\/pipelines=true:NoSchedule'/)
    assert.match(md, /az aks nodepool add .*--name persistent --labels 'wallaroo\.ai\/node-purpose=persistent' --node-taints 'wallaroo\.ai\/persistent=true:NoSchedule'/)
    assert.match(md, /\| pipelines \| .* \| gpu-1 \|/)
    // general has no taint: no taint flag on its lines
    assert.doesNotMatch(md, /node-pools create general .*--node-taints/)
  })

  describe('rbac-review.md', () => {
    it('lists every ClusterRole and permission, flagging the powerful ones', async () => {
      const r = await renderManifests({profile, platform: 'eks'})
      const md = file(r, 'rbac-review.md')
      for (const role of profile.profile.rbac.clusterRoles) assert.ok(md.includes(role), role)
      const total = profile.profile.rbac.rules.reduce((n, rule) => n + rule.resources.length, 0)
      assert.equal(r.summary.rbac.permissions, total)
      const flagged = new Set(r.summary.rbac.flagged)
      for (const resource of ['clusterroles.rbac.authorization.k8s.io', 'secrets', 'nodes/proxy', 'tokenreviews.authentication.k8s.io', 'modelconfigs.wallaroo.ai', 'pipelines.wallaroo.ai']) {
        assert.ok(flagged.has(resource), `${resource} is flagged`)
        assert.match(md, new RegExp(`\\*\\*FLAG\\*\\* \\| \`${resource.split('.')[0]?.replace('/', '\\/')}`))
      }
      for (const resource of ['endpoints', 'metrics', 'horizontalpodautoscalers.autoscaling', 'nodes']) assert.ok(!flagged.has(resource), `${resource} is not flagged`)
    })

    it('creating or changing workloads is flagged as creating pods', () => {
      for (const resource of ['jobs.batch', 'cronjobs.batch', 'replicasets.apps', 'deployments.apps', 'statefulsets.apps', 'daemonsets.apps', 'deployments']) {
        assert.ok(flagPermission(resource, ['create']).some((f) => /as good as creating pods/.test(f)), resource)
        assert.ok(flagPermission(resource, ['patch']).some((f) => /as good as creating pods/.test(f)), resource)
      }
      assert.deepEqual(flagPermission('jobs.batch', ['get', 'list']), [])
      assert.deepEqual(flagPermission('jobs.batch/status', ['update']), [])
    })

    it('the flag rules: bind/escalate, secrets, nodes/proxy, tokenreviews, wildcards on custom resources', () => {
      assert.equal(flagPermission('clusterroles.rbac.authorization.k8s.io', ['bind']).length, 1)
      assert.equal(flagPermission('clusterroles.rbac.authorization.k8s.io', ['get', 'list']).length, 0)
      assert.equal(flagPermission('secrets', ['list']).length, 1)
      assert.equal(flagPermission('nodes/proxy', ['get']).length, 1)
      assert.equal(flagPermission('nodes', ['get']).length, 0)
      assert.equal(flagPermission('tokenreviews.authentication.k8s.io', ['create']).length, 1)
      assert.match(flagPermission('widgets.example.com', ['*']).join(), /custom resources/)
      assert.match(flagPermission('deployments.apps', ['*']).join(), /wildcard verbs/)
    })

    it('the other ways to reach pods, tokens and nodes: exec, attach, ephemeral containers, port-forward, tokens, impersonation, volumes, CSRs, webhooks', () => {
      const flagged: [string, string[], RegExp][] = [
        ['pods/exec', ['create'], /runs commands in running pods/],
        ['pods/attach', ['get'], /runs commands in running pods/],
        ['pods/ephemeralcontainers', ['patch'], /as good as exec/],
        ['pods/portforward', ['create'], /past network policies/],
        ['serviceaccounts/token', ['create'], /mints tokens/],
        ['serviceaccounts', ['impersonate'], /impersonate/],
        ['users', ['impersonate'], /impersonate/],
        ['persistentvolumes', ['create'], /hostPath/],
        ['certificatesigningrequests.certificates.k8s.io/approval', ['update'], /client certificates/],
        ['mutatingwebhookconfigurations.admissionregistration.k8s.io', ['create'], /every object written/],
        ['nodes', ['patch'], /labels and taints/],
      ]
      for (const [resource, verbs, re] of flagged) assert.match(flagPermission(resource, verbs).join('; '), re, resource)
      for (const [resource, verbs] of [['pods/log', ['get']], ['serviceaccounts', ['get', 'list']], ['persistentvolumes', ['get', 'list']], ['pods/exec', ['list']]] as [string, string[]][]) {
        assert.deepEqual(flagPermission(resource, verbs), [], resource)
      }
    })
  })
})
