/**
 * A candidate gradient's values checked against X: its shape, its length, every value a finite
 * number. No Node imports: the CLI (candidate.ts) and the browser (src/browser) refuse a candidate
 * with the same one-line messages.
 */
import { InputError, type Tensor } from '../field/index.js';

/** The candidate's values as float64, or an InputError naming `path` and what is wrong. */
export function checkValues(path: string, shape: readonly number[], data: ArrayLike<unknown>, x: Tensor): Float64Array {
  if (shape.length !== x.shape.length || shape.some((d, i) => d !== x.shape[i])) {
    throw new InputError(`${path}: shape [${shape.join(', ')}] differs from X's shape [${x.shape.join(', ')}]`);
  }
  if (data.length !== x.data.length) throw new InputError(`${path}: shape [${shape.join(', ')}] needs ${x.data.length} values, got ${data.length}`);
  const out = new Float64Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new InputError(`${path}: value at flat index ${i} is ${String(v)}, expected a finite number`);
    out[i] = v;
  }
  return out;
}

