/** Tensor files: .npy, .png, .json. */
export { formatNpy, parseNpy, type LoadedTensor } from './npy.js';
export { parseJsonTensor, parsePng, readTensor, writeAtomic, writeNpy } from './files.js';
