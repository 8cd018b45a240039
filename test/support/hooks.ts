import {existsSync} from 'node:fs'

// first: it points TMPDIR at the run's own temp root before any test file asks for a temp folder
import {beginTest, endRun, endTest} from './cleanup.js'
import {REPO_ROOT} from './paths.js'

interface HookContext {
  currentTest?: {fullTitle(): string}
}

export const mochaHooks = {
  /** CLI tests run the built bin/run.js, as users do; fail early and clearly when it was not built. */
  beforeAll(): void {
    if (!existsSync(`${REPO_ROOT}/dist/commands/index.js`)) {
      throw new Error('dist/ is missing: run `npm run build` (or `npm run test:all`, which builds first)')
    }
  },
  beforeEach(): void {
    beginTest()
  },
  async afterEach(this: HookContext): Promise<void> {
    await endTest(this.currentTest?.fullTitle() ?? 'a test')
  },
  async afterAll(): Promise<void> {
    await endRun()
  },
}
