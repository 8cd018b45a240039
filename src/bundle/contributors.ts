import type {Contributor} from './build-context.js'
import {contributeFiles, contributeProfile} from './contribute-files.js'
import {contributeKots} from '../kots/contribute.js'
import {contributeManifests} from '../manifests/contribute.js'
import {contributeSelf} from '../sea/contribute-self.js'
import {contributeImages} from '../images/contribute.js'
import {contributeTls} from '../pki/contribute.js'

/**
 * The build steps, in the order their entries are written. Each reads its own part of the spec and
 * returns entries with known sizes and digests; none writes into the bundle itself.
 */
export const CONTRIBUTORS: Contributor[] = [
  contributeProfile,
  contributeFiles,
  contributeSelf,
  contributeImages,
  contributeKots,
  contributeManifests,
  contributeTls,
]
