import type {ConfigValues} from '../kots/index.js'
import type {Distribution} from './distribution.js'
import type {DnsFacts} from './dns.js'

/**
 * `skip`: nothing to check here (not OpenShift, no such requirement). `unchecked`: the facts cannot
 * decide it (a kubectl dump holds no access reviews, DNS is resolved only live): for a check of fail
 * severity that is never an OK verdict (exit 5, see README "Exit codes").
 */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip' | 'unchecked'

export interface CheckResult {
  id: string
  title: string
  /** what an unmet requirement costs: `fail` blocks the install, `warn` is advice */
  severity: 'fail' | 'warn'
  status: CheckStatus
  observed: string
  expected: string
  /** what to do; present whenever the status is not pass */
  hint?: string
  /** one line per node, namespace or permission at fault */
  details?: string[]
}

export interface CheckOptions {
  edition: string
  distribution: Distribution
  configValues?: ConfigValues
  /** `--domain`: the platform domain, over the ConfigValues' domain item */
  domain?: string
  /** the platform names as resolved from this machine; absent when the facts are not live */
  dns?: DnsFacts
}
