/** The complete set of generated files, by path under src/generated (deterministic). */
import { BOUNDARIES } from '../field/index.js';
import { resolveOptions } from '../ssim/options.js';
import { emitCppFiles } from './cpp.js';
import { emitCsKernelFile, emitIndexFile, emitSsimKernelFile, emitWangKernelFile, GENERATE_COMMAND } from './kernels.js';

export function generatedFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const b of BOUNDARIES) files.set(`ssim-${b}.ts`, emitSsimKernelFile(b));
  for (const b of BOUNDARIES) files.set(`cs-${b}.ts`, emitCsKernelFile(b));
  for (const b of BOUNDARIES) files.set(`wang-${b}.ts`, emitWangKernelFile(b));
  files.set('index.ts', emitIndexFile(BOUNDARIES));
  // C++: the header for every boundary rule, and the libtorch binding for the default preset
  // (\`ssim-grad emit cpp\` writes both for any other options)
  for (const [name, text] of emitCppFiles(resolveOptions({}), GENERATE_COMMAND)) files.set(`cpp/${name}`, text);
  return files;
}
