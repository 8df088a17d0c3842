/** Tensor files: .npy, .png, .json. */
export { formatNpy, NPY_MAX_HEADER, parseNpy, quoteText, type LoadedTensor } from './npy.js';
export { JSON_MAX_BYTES, JSON_MAX_DEPTH, parseJsonTensor, parsePng, readRegularFile, readTensor, TENSOR_MAX_BYTES, writeAllAtomic, writeAtomic, writeNpy } from './files.js';
