import {existsSync} from 'node:fs'

import {REPO_ROOT} from './paths.js'

/** CLI tests run the built bin/run.js, as users do; fail early and clearly when it was not built. */
export const mochaHooks = {
  beforeAll(): void {
    if (!existsSync(`${REPO_ROOT}/dist/commands/index.js`)) {
      throw new Error('dist/ is missing: run `npm run build` (or `npm run test:all`, which builds first)')
    }
  },
}
