/** The complete set of generated files, by file name (deterministic). */
import { BOUNDARIES } from '../field/index.js';
import { emitCsKernelFile, emitIndexFile, emitSsimKernelFile } from './kernels.js';

export function generatedFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const b of BOUNDARIES) files.set(`ssim-${b}.ts`, emitSsimKernelFile(b));
  for (const b of BOUNDARIES) files.set(`cs-${b}.ts`, emitCsKernelFile(b));
  files.set('index.ts', emitIndexFile(BOUNDARIES));
  return files;
}
