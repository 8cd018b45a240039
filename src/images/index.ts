export {contributeImages, type ImageExtension, LAYOUT_DIR} from './contribute.js'
export {resolveImage, type ResolvedImage} from './resolve.js'
export {lockPathFor, readLock, writeLock} from './lock.js'
