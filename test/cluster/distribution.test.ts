import {strict as assert} from 'node:assert'

import {addNodesHint, detectDistribution} from '../../src/cluster/distribution.js'
import {FIXTURES} from '../support/kube-api.js'
import {fixtureFacts} from './fixture-facts.js'

const EXPECTED = {eks: 'eks', gke: 'gke', aks: 'aks', 'openshift-4.18': 'openshift', k3s: 'k3s', rke2: 'rke2', kind: 'kind'} as const

describe('distribution detection', () => {
  for (const name of FIXTURES) {
    it(`${name}: from the live facts, and from nodes alone (a kubectl dump)`, () => {
      const live = detectDistribution(fixtureFacts(name))
      assert.equal(live.id, EXPECTED[name])
      assert.ok(live.evidence.length > 0)
      const facts = fixtureFacts(name)
      delete facts.server
      delete facts.apiGroups
      delete facts.openshift
      assert.equal(detectDistribution(facts).id, EXPECTED[name], 'labels, provider IDs or kubelet versions suffice')
    })
  }

  it('a plain cluster with no markers is generic', () => {
    const facts = fixtureFacts('kind')
    facts.nodes.forEach((n) => delete n.providerID)
    assert.equal(detectDistribution(facts).id, 'generic')
    assert.match(addNodesHint('generic'), /add worker nodes/)
  })

  it('OpenShift on a cloud is OpenShift, not the cloud', () => {
    const facts = fixtureFacts('openshift-4.18')
    facts.nodes[0]!.providerID = 'aws:///us-east-1a/i-0abc'
    facts.nodes[0]!.labels['eks.amazonaws.com/nodegroup'] = 'x'
    assert.equal(detectDistribution(facts).id, 'openshift')
  })
})
