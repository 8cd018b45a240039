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

  it('DigitalOcean, MicroK8s and kURL nodes (labels as their captured nodes carry them) get their own name and how to add nodes', () => {
    const shaped = (labels: Record<string, string>, providerID?: string) => {
      const facts = fixtureFacts('kind')
      for (const n of facts.nodes) {
        delete n.providerID
        Object.assign(n.labels, labels)
        if (providerID) n.providerID = `${providerID}${n.name}`
      }
      delete facts.server
      return facts
    }
    const doks = detectDistribution(shaped({'doks.digitalocean.com/node-pool': 'pool-yd23sqk7u', 'doks.digitalocean.com/version': '1.31.1-do.5'}, 'digitalocean://2197'))
    assert.equal(doks.id, 'digitalocean')
    assert.match(addNodesHint(doks.id), /doctl kubernetes cluster node-pool create/)
    assert.equal(detectDistribution(shaped({}, 'digitalocean://2197')).id, 'digitalocean')
    const micro = detectDistribution(shaped({'microk8s.io/cluster': 'true'}))
    assert.equal(micro.id, 'microk8s')
    assert.match(addNodesHint(micro.id), /microk8s add-node/)
    const kurl = detectDistribution(shaped({'kurl.sh/cluster': 'true', 'node-role.kubernetes.io/control-plane': ''}))
    assert.equal(kurl.id, 'kurl')
    assert.match(addNodesHint(kurl.id), /kURL join command/)
  })

  it('OpenShift on a cloud is OpenShift, not the cloud', () => {
    const facts = fixtureFacts('openshift-4.18')
    facts.nodes[0]!.providerID = 'aws:///us-east-1a/i-0abc'
    facts.nodes[0]!.labels['eks.amazonaws.com/nodegroup'] = 'x'
    assert.equal(detectDistribution(facts).id, 'openshift')
  })
})
