/**
 * `ssim-grad emit cpp --preset P [options] [--variant V] --out DIR`: writes the C++ kernels of every
 * family (ssim_grad.hpp), the libtorch binding for these options (ssim_torch.hpp; --variant names the
 * family of its variant_value()) and the CUDA kernels of every family (ssim_grad.cuh: the GPU
 * programs of ssim, cs, wang and the 3DGS loss, both schedules, any boundary rule), generated, with the
 * hand-written headers they include (src/cpp: ssim_grad_params.hpp, ssim_torch_core.hpp) copied beside them,
 * from the graph now (nothing is read from the package). All files are made before any is written,
 * and they are written all or none (writeAllAtomic), so a bad option or target leaves nothing behind.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from './args.js';
import { InputError } from '../field/index.js';
import { writeAllAtomic } from '../io/index.js';
import { KERNEL_FAMILIES } from '../emit/families.js';
import { resolveOptions } from '../model/options.js';
import { SSIM_OPTION_SPECS, ssimOptionsFrom } from './args.js';
import { emitGpuFiles, GPU_VARIANTS } from '../emit/gpu-files.js';

/** Where the hand-written C++ (src/cpp) lies from this file, as src/cli/emit.ts and as dist/cli/emit.js (the package ships src). */
const CPP_DIR = '../../src/cpp/';

/** The emit command, by name (registered by src/cli.ts). */
export const emitCommands: Record<string, Command> = {
  emit: {
    usage: 'ssim-grad emit cpp|cuda|wgsl [--preset NAME | options] [--variant V] --out DIR [--json]',
    summary:
      'write the C++ kernels (ssim_grad.hpp), a libtorch SsimFunction for these options (ssim_torch.hpp) and the CUDA kernels of every family, both schedules, any rule and odd window (ssim_grad.cuh: per program <program>_launch, <program>_sizes, cuda::set_scalars) into DIR; cuda or wgsl: the GPU programs of variant V (<family>.cuh, or <program>.wgsl) and <family>.json',
    options: {
      ...SSIM_OPTION_SPECS,
      variant: {
        value: true,
        help: `cpp: the kernel family of the binding's variant_value(x, y): ${KERNEL_FAMILIES.map((f) => f.name).join(', ')} or a variant's name (3dgs-loss, ms-ssim; the header and the binding have them all); cuda, wgsl: the programs' variant: ${Object.keys(GPU_VARIANTS).join(', ')}`,
        default: 'ssim',
      },
      out: { value: true, help: 'the folder to write into (created if missing; required)' },
      json: { value: false, help: 'print one JSON object' },
    },
    async run(parsed, out) {
      const [target, ...extra] = parsed.positionals;
      if (target !== 'cpp' && target !== 'cuda' && target !== 'wgsl') throw new InputError(`expected the target cpp, cuda or wgsl (ssim-grad emit cpp ...), got ${target === undefined ? 'none' : `'${target}'`}`);
      if (extra.length > 0) throw new InputError(`emit ${target} takes no files, got '${extra[0]}'`);
      const dir = parsed.values.get('out');
      if (dir === undefined) throw new InputError(`--out: required, the folder to write the ${target === 'cpp' ? 'C++' : target === 'cuda' ? 'CUDA' : 'WGSL'} files into`);
      if (existsSync(dir) && !statSync(dir).isDirectory()) throw new InputError(`--out: '${dir}' is a file, expected a folder`);
      const options = ssimOptionsFrom(parsed);
      if (options.precision !== undefined) throw new InputError(target === 'wgsl' ? '--precision: WGSL computes in float32' : `--precision: the ${target === 'cpp' ? 'C++' : 'CUDA'} kernels are templated on float and double; choose with the tensor dtype`);
      const config = resolveOptions(options);
      const variant = parsed.values.get('variant') ?? 'ssim';
      const command = `ssim-grad emit ${target} ${parsed.raw.filter((a) => a !== target).join(' ')}`.trimEnd();
      let files: Map<string, string>;
      if (target === 'cpp') {
        const { CPP_SOURCES, CPP_VARIANT_ALIASES, emitCppFiles } = await import('../emit/cpp.js');
        const cppVariants = [...KERNEL_FAMILIES.map((f) => f.name), ...Object.keys(CPP_VARIANT_ALIASES)];
        if (!cppVariants.includes(variant)) throw new InputError(`--variant: expected one of ${cppVariants.join(', ')} (the kernel families, or their variants' names), got '${variant}'`);
        files = emitCppFiles(config, command, variant);
        // the hand-written headers the generated ones include, copied beside them: the folder is self-contained
        for (const name of CPP_SOURCES) files.set(name, readFileSync(new URL(`${CPP_DIR}${name}`, import.meta.url), 'utf8'));
      } else {
        const family = GPU_VARIANTS[variant];
        if (family === undefined || !Object.hasOwn(GPU_VARIANTS, variant)) throw new InputError(`--variant: expected one of ${Object.keys(GPU_VARIANTS).join(', ')} for ${target}, got '${variant}'`);
        if (config.downsample !== 1) throw new InputError(`--downsample: the ${target} programs run at the image's size (this preset downsamples: ${config.downsample}); give --downsample 1 and downsample before calling them`);
        files = emitGpuFiles(target, family, config, command);
      }
      let made: string | undefined;
      try {
        made = mkdirSync(dir, { recursive: true });
      } catch (e) {
        throw new InputError(`--out: cannot make the folder '${dir}' (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
      try {
        writeAllAtomic([...files].map(([name, text]) => [join(dir, name), text] as const));
      } catch (e) {
        // all or nothing: a folder this command made goes too
        if (made !== undefined) rmSync(made, { recursive: true, force: true });
        throw e;
      }
      const names = [...files.keys()];
      out(parsed.switches.has('json') ? JSON.stringify({ out: dir, files: names }) : `wrote ${names.join(', ')} to ${dir}`);
      return 0;
    },
  },
};
