/** The complete set of generated files, by path under src/generated (deterministic). */
import { resolveOptions } from '../model/options.js';
import { emitCppFiles } from './cpp.js';
import { KERNEL_FAMILIES } from './families.js';
import { emitIndexFile, GENERATE_COMMAND } from './kernels.js';
import { DERIVATIVE_FAMILIES } from './cpu-derivatives.js';
import { emitDerivativesFile, emitFamilyFile } from './ts-file.js';

export function generatedFiles(): Map<string, string> {
  const files = new Map<string, string>();
  // one file per kernel family, its kernels taking the boundary rule at run time
  for (const family of KERNEL_FAMILIES) files.set(`${family.name}.ts`, emitFamilyFile(family));
  // the JVP and HVP kernels of the families that have them, after every family's own kernels
  files.set('derivatives.ts', emitDerivativesFile(KERNEL_FAMILIES.filter((f) => DERIVATIVE_FAMILIES.includes(f.name))));
  files.set('index.ts', emitIndexFile(KERNEL_FAMILIES));
  // C++: the header for every boundary rule, and the libtorch binding for the default preset
  // (\`ssim-grad emit cpp\` writes both for any other options)
  for (const [name, text] of emitCppFiles(resolveOptions({}), GENERATE_COMMAND)) files.set(`cpp/${name}`, text);
  return files;
}
