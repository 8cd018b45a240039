// "did you mean" is shared by the CLI (commands, flags) and the KOTS item checks
export {closestNames, editDistance} from '../util/suggest.js'
