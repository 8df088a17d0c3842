/**
 * Writes examples/directions/dx.npy, the direction the README's jvp and hvp examples use on the
 * built-in pair (examples/pair): y - x, the straight path from X to Y, as float32 with X's shape
 * [3, 48, 64]. Run: npx tsx scripts/make-example-directions.ts
 */
import { writeFileSync } from 'node:fs';
import { formatNpy, readTensor } from '../src/io/index.js';

const x = readTensor('examples/pair/x.png');
const y = readTensor('examples/pair/y.png');
const d = Float32Array.from(x.data, (v, i) => y.data[i]! - v);
writeFileSync('examples/directions/dx.npy', formatNpy({ shape: x.shape, data: d }));
