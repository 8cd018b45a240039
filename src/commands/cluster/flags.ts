import {Flags} from '@oclif/core'

import type {LiveOptions} from '../../cluster/live.js'

export const DEFAULT_PROFILE = 'wallaroo-2025.1'

/** How to reach the live cluster: the same resolution kubectl uses (KUBECONFIG, ~/.kube/config). */
export const connectionFlags = {
  kubeconfig: Flags.string({description: 'kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)', helpGroup: 'CLUSTER'}),
  context: Flags.string({description: 'kubeconfig context to use (default: the current context)', helpGroup: 'CLUSTER'}),
  'request-timeout': Flags.integer({description: 'seconds to wait for each API request', default: 30, min: 1, helpGroup: 'CLUSTER'}),
}

export function liveOptions(flags: {kubeconfig?: string; context?: string; 'request-timeout': number}): LiveOptions {
  return {
    ...(flags.kubeconfig ? {kubeconfig: flags.kubeconfig} : {}),
    ...(flags.context ? {context: flags.context} : {}),
    timeoutMs: flags['request-timeout'] * 1000,
  }
}
