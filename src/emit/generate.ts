/** The complete set of generated files, by file name (deterministic). */
import { BOUNDARIES } from '../field/index.js';
import { emitCsKernelFile, emitIndexFile, emitSsimKernelFile, emitWangKernelFile } from './kernels.js';

export function generatedFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const b of BOUNDARIES) files.set(`ssim-${b}.ts`, emitSsimKernelFile(b));
  for (const b of BOUNDARIES) files.set(`cs-${b}.ts`, emitCsKernelFile(b));
  for (const b of BOUNDARIES) files.set(`wang-${b}.ts`, emitWangKernelFile(b));
  files.set('index.ts', emitIndexFile(BOUNDARIES));
  return files;
}
