import type {ClusterFacts} from './facts.js'
import {compareVersions, parseVersion, type Version} from './version.js'

export interface OpenShiftVersion {
  version?: Version
  text: string
  /** where it was read: the ClusterVersion, or what it was inferred from */
  from: string
  inferred: boolean
}

/** `Red Hat Enterprise Linux CoreOS 416.94.202406251923-0 (Ootpa)`: 416 is OpenShift 4.16, 47 is 4.7. */
const RHCOS = /Red Hat Enterprise Linux CoreOS (4)(\d{1,2})\.\d+\.\d+/
/**
 * Each OpenShift 4 minor ships one Kubernetes minor, 13 apart since 4.1 (1.14): 4.7 runs 1.20, 4.16
 * runs 1.29, 4.17 runs 1.30, 4.18 runs 1.31.
 */
const KUBE_TO_OPENSHIFT_MINOR = -13

/**
 * The OpenShift version: the ClusterVersion's when the facts hold one (live, snapshot, or a dump
 * that includes `clusterversions`), else inferred from the nodes, oldest first: the RHCOS build in
 * `osImage`, then the kubelet's Kubernetes minor. An inferred version says so; the patch level of an
 * inferred version is unknown, so only major.minor is compared.
 */
export function openShiftVersion(facts: ClusterFacts): OpenShiftVersion | undefined {
  if (facts.openshift) return {version: parseVersion(facts.openshift.version), text: facts.openshift.version, from: 'ClusterVersion', inferred: false}
  const fromOs = facts.nodes
    .map((n) => ({node: n.name, m: RHCOS.exec(n.nodeInfo.osImage ?? '')}))
    .filter((x): x is {node: string; m: RegExpExecArray} => x.m !== null)
    .map((x) => ({node: x.node, v: {major: Number(x.m[1]), minor: Number(x.m[2]), patch: 0}}))
    .sort((a, b) => compareVersions(a.v, b.v))[0]
  if (fromOs) return {version: fromOs.v, text: `${fromOs.v.major}.${fromOs.v.minor}`, from: `inferred from node ${fromOs.node} osImage (RHCOS); no ClusterVersion in the facts`, inferred: true}
  const kubelet = facts.nodes
    .map((n) => ({node: n.name, v: parseVersion(n.nodeInfo.kubeletVersion)}))
    .filter((x): x is {node: string; v: Version} => x.v !== undefined && x.v.major === 1)
    .sort((a, b) => compareVersions(a.v, b.v))[0]
  if (kubelet) {
    const v = {major: 4, minor: kubelet.v.minor + KUBE_TO_OPENSHIFT_MINOR, patch: 0}
    return {version: v, text: `${v.major}.${v.minor}`, from: `inferred from node ${kubelet.node} kubelet 1.${kubelet.v.minor}; no ClusterVersion in the facts`, inferred: true}
  }
  return undefined
}
