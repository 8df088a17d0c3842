/** Linear field operators (window, crop, mean, pooling, downsampling) with their transposes. */
export { applyAxis, axisOp, BOUNDARIES, boundaryIndex, identityAxis, type AxisOp, type AxisSpec, type Boundary } from './axis.js';
export { avgPool2x2, boxDownsample, channelMix, compose, windowAxis, crop, identity, mean, separable, windowMean, type LinearOp } from './linear.js';
export { arrayNameOf, precisionOf, PRECISIONS, rounding, suffixOf, type Precision, type StorageSuffix } from './precision.js';
export { checkTensor, DECIMAL, differenceNorms, dot, field, norm2, InputError, oneLineText, ownEntry, shape4, sizeOf, toField, type Field, type Shape4, type Tensor } from './tensor.js';
export { boxTaps, gaussianTaps, truncatedRadius } from './window.js';
