/*
 * Explicit command discovery: oclif loads this map instead of scanning the disk, which starts faster
 * and lets a single-file executable carry every command.
 */
import BundleBuild from './bundle/build.js'
import BundleExtract from './bundle/extract.js'
import BundleFetch from './bundle/fetch.js'
import BundleInspect from './bundle/inspect.js'
import BundlePublish from './bundle/publish.js'
import BundleSplit from './bundle/split.js'
import BundleVerify from './bundle/verify.js'
import CertsCa from './certs/ca.js'
import CertsCsr from './certs/csr.js'
import CertsInspect from './certs/inspect.js'
import CertsIssue from './certs/issue.js'
import ClusterSnapshot from './cluster/snapshot.js'
import ClusterVerify from './cluster/verify.js'
import ImagesList from './images/list.js'
import ImagesPush from './images/push.js'
import ImagesServe from './images/serve.js'
import KeysGenerate from './keys/generate.js'
import KotsConfig from './kots/config.js'
import ManifestsRender from './manifests/render.js'

export const COMMANDS = {
  'bundle:build': BundleBuild,
  'bundle:extract': BundleExtract,
  'bundle:fetch': BundleFetch,
  'bundle:inspect': BundleInspect,
  'bundle:publish': BundlePublish,
  'bundle:split': BundleSplit,
  'bundle:verify': BundleVerify,
  'certs:ca': CertsCa,
  'certs:csr': CertsCsr,
  'certs:inspect': CertsInspect,
  'certs:issue': CertsIssue,
  'cluster:snapshot': ClusterSnapshot,
  'cluster:verify': ClusterVerify,
  'images:list': ImagesList,
  'images:push': ImagesPush,
  'images:serve': ImagesServe,
  'keys:generate': KeysGenerate,
  'kots:config': KotsConfig,
  'manifests:render': ManifestsRender,
}
