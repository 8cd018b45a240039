export {MAX_SBOM_BYTES, SBOM_FILE, type SbomChart, type SbomImage, type SbomPart} from './model.js'
export {sbomImage} from './images.js'
export {renderBundleSbom, type BundleSbomInput} from './write.js'
export {readBundleSbom, type BundleSbom} from './read.js'
