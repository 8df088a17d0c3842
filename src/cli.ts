/**
 * The command-line face of ssim-grad. `main` returns the exit code: 0 success, 1 a negative
 * verdict (check), 2 bad input (a one-line message naming the argument), 3 an internal error.
 * No stack trace reaches the user, and no output file is half-written.
 */
import { checkCommands } from './cli/check.js';
import { emitCommands } from './cli/emit.js';
import { forwardCommands } from './cli/forward.js';
import { serveCommands } from './cli/serve.js';
import {
  BUILT_IN_VARIANT_FLAGS, declarationSpecs, describeOptions, JSON_SPEC, parseArgs, ssimOptionsFrom, SSIM_OPTION_SPECS, VARIANT_OPTION_SPECS, VARIANT_TIMEOUT_SPEC, variantOptionsFrom, type Command, type OptionSpec, type Parsed,
} from './cli/args.js';
import { findVariantFile, loadVariantFile, VARIANT_FILE, type LoadedVariant } from './cli/variant-file.js';
import { runIfVariantFile } from './cli/isolate.js';
import { evaluateVariant } from './runtime/variants.js';
import { BUILT_IN_VARIANTS, bySsimKernels, namedInOutputs, variantName } from './variants/registry.js';
import { InputError, oneLineText, ownEntry } from './field/index.js';
import { writeAtomic, writeNpy } from './io/index.js';
import { imagesAndOptions } from './cli/images.js';
import { NonFiniteError } from './model/finite.js';
import { PRESET_DEFAULTS, PRESET_SUMMARY, PRESETS, resolveOptions, ssimGradFast, ssim } from './runtime/index.js';

const imageCommands: Record<string, Command> = {
  value: {
    usage: 'ssim-grad value X Y [options] [--variant V | --variant-file FILE [--timeout S]] [its options] [--json]',
    summary: 'print the SSIM of images X and Y (or the variant\'s value)',
    options: { ...SSIM_OPTION_SPECS, ...VARIANT_OPTION_SPECS, timeout: VARIANT_TIMEOUT_SPEC, json: JSON_SPEC },
    run(parsed, out) {
      const { x, y, options } = imagesAndOptions(parsed, 'value');
      const o = { ...options, ...variantOptionsFrom(parsed, x, options.dataRange) };
      let r: { ssim: number; value: number };
      if (bySsimKernels(o.variant)) {
        const s = ssim(x, y, o);
        r = { ssim: s, value: s };
      } else {
        if (o.precision !== undefined) throw new InputError(`--precision: the ${variantName(o.variant)} variant runs in float64 only`);
        r = evaluateVariant(x, y, o);
      }
      const json = namedInOutputs(o.variant) ? { ssim: r.ssim, value: r.value, variant: variantName(o.variant) } : { ssim: r.ssim, value: r.value };
      out(parsed.switches.has('json') ? JSON.stringify(json) : String(r.value));
      return 0;
    },
  },
  grad: {
    usage: 'ssim-grad grad X Y [options] [--variant V | --variant-file FILE [--timeout S]] [its options] [--wrt x|y] --out G.npy [--json]',
    summary: 'write d SSIM / dX (or dY; or of the variant\'s value) as a float64 .npy with X\'s shape',
    options: {
      ...SSIM_OPTION_SPECS,
      ...VARIANT_OPTION_SPECS,
      wrt: { value: true, help: 'differentiate with respect to x or y', default: 'x' },
      out: { value: true, help: 'the .npy file to write (required)' },
      timeout: VARIANT_TIMEOUT_SPEC,
      json: JSON_SPEC,
    },
    run(parsed, out) {
      const wrt = parsed.values.get('wrt') ?? 'x';
      if (wrt !== 'x' && wrt !== 'y') throw new InputError(`--wrt: got '${wrt}', expected x or y`);
      const outPath = parsed.values.get('out');
      if (outPath === undefined) throw new InputError('--out: required, the .npy file to write the gradient to');
      if (!outPath.toLowerCase().endsWith('.npy')) throw new InputError(`--out: got '${outPath}', expected a file name ending in .npy`);
      const { x, y, options } = imagesAndOptions(parsed, 'grad');
      const o = { ...options, ...variantOptionsFrom(parsed, x, options.dataRange) };
      let result: { ssim: number; value: number; g: Float64Array | Float32Array };
      if (bySsimKernels(o.variant)) {
        // one gradient only: S is symmetric in x and y, so d/dy S(x, y) is d/dx S(y, x)
        const r = wrt === 'x' ? ssimGradFast(x, y, o, resolveOptions(o).precision, 'x') : swapNames(() => ssimGradFast(y, x, o, resolveOptions(o).precision, 'x'));
        result = { ssim: r.ssim, value: r.ssim, g: r.gradX.data };
      } else {
        if (o.precision !== undefined) throw new InputError(`--precision: the ${variantName(o.variant)} variant runs in float64 only`);
        const r = evaluateVariant(x, y, o);
        result = { ssim: r.ssim, value: r.value, g: wrt === 'x' ? r.gradX : r.gradY };
      }
      writeNpy(outPath, x.shape, result.g instanceof Float64Array ? result.g : Float64Array.from(result.g));
      const what = variantName(o.variant);
      out(
        parsed.switches.has('json')
          ? JSON.stringify({ ssim: result.ssim, value: result.value, out: outPath })
          : `${what} ${result.value}\nwrote d ${what}/d${wrt}, shape [${x.shape.join(', ')}], to ${outPath}`,
      );
      return 0;
    },
  },
};

/** d/dy taken as d/dx with the images swapped: a NonFiniteError's names swapped back (and its d ssim/dx is d ssim/dy). */
function swapNames<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof NonFiniteError) throw new NonFiniteError((n) => e.describe([n[1], n[0]]).replace('d ssim/dx', 'd ssim/dy'));
    throw e;
  }
}


const deriveCommands: Record<string, Command> = {
  derive: {
    usage: 'ssim-grad derive [--preset NAME | options] [--variant-file FILE [its options] [--timeout S]] [--format latex|md|html] [--out FILE]',
    summary: 'print (or write) the derivation of the SSIM gradient (or of your variant\'s) for these options',
    options: {
      ...SSIM_OPTION_SPECS,
      [VARIANT_FILE]: { value: true, help: 'derive your own variant: a .ts, .mts, .js or .mjs module whose default export is a declaration (defineVariant)' },
      timeout: VARIANT_TIMEOUT_SPEC,
      format: { value: true, help: 'md (GitHub-renderable, $$ blocks), html (one self-contained page, KaTeX rendered), or latex', default: 'md' },
      out: { value: true, help: 'write to this file instead of standard output' },
    },
    async run(parsed, out) {
      // the document builder and KaTeX load only for this command
      const { buildDerivation } = await import('./derive/build.js');
      const { renderHtml, renderLatex, renderMarkdown } = await import('./derive/render.js');
      if (parsed.positionals.length > 0) throw new InputError(`derive takes no files, got '${parsed.positionals[0]}'`);
      const format = parsed.values.get('format') ?? 'md';
      if (format !== 'md' && format !== 'html' && format !== 'latex') throw new InputError(`--format: got '${format}', expected latex, md or html`);
      const options = ssimOptionsFrom(parsed);
      if (options.precision !== undefined) throw new InputError('--precision: a derivation has no storage precision');
      // skimage and tf need the data range; a derivation can show it as L = 1
      const assumed = options.dataRange === undefined && PRESET_DEFAULTS[options.preset ?? 'pytorch-ssim'].dataRange === undefined;
      if (assumed) options.dataRange = 1;
      const config = resolveOptions(options);
      const file = parsed.variantFile;
      const doc = file !== undefined
        ? await (async () => {
          const { declarationValues, variantDerivation } = await import('./cli/derive-variant.js');
          return variantDerivation(file.decl, options, declarationValues(parsed, file.decl));
        })()
        : buildDerivation(`ssim-${config.preset}`, `SSIM gradient: ${config.preset} preset${Object.keys(options).length > (assumed ? 2 : 1) ? ' with options' : ''}${assumed ? ' (L = 1 assumed: pass --data-range)' : ''}`, options);
      const header = `Generated by \`ssim-grad derive ${parsed.raw.join(' ')}\`.`;
      const text = format === 'md' ? renderMarkdown(doc, header) : format === 'html' ? renderHtml(doc, header, { standalone: true }) : renderLatex(doc, header);
      const path = parsed.values.get('out');
      if (path === undefined) out(text.trimEnd());
      else {
        writeAtomic(path, text);
        out(`wrote the derivation (${format}) to ${path}`);
      }
      return 0;
    },
  },
};

/** Every command, by name. */
export const commands: Record<string, Command> = { ...imageCommands, ...forwardCommands, ...deriveCommands, ...checkCommands, ...emitCommands, ...serveCommands };

function usage(): string {
  const lines = [
    'ssim-grad: exact gradients of SSIM and its variants',
    '',
    'Commands:',
    ...Object.values(commands).map((c) => `  ${c.usage}\n      ${c.summary}`),
    '',
    'Options of value, grad, jvp, hvp and derive:',
    describeOptions(SSIM_OPTION_SPECS),
    '',
    'Variants (value, grad, jvp, hvp, check and trace: --variant NAME, or --variant-file FILE for your own, written with defineVariant):',
    ...BUILT_IN_VARIANTS.map((v) => `  ${v.name.padEnd(15)} ${v.summary}`),
    '',
    'Options of the variants:',
    describeOptions(VARIANT_OPTION_SPECS),
    '',
    'Presets:',
    ...PRESETS.map((p) => `  ${p.padEnd(15)} ${PRESET_SUMMARY[p]}`),
    '',
    'Inputs: .npy (float32, float64, uint8; HW, CHW or NCHW), .png (RGB -> 3 channels, gray -> 1, values in [0, 1]),',
    '        .json ({"shape": [...], "data": [...]}).',
    'Exit codes: 0 done, 1 mismatch (check), 2 bad input, 3 internal error.',
    'Run "ssim-grad COMMAND --help" for one command.',
  ];
  return lines.join('\n');
}

/**
 * The command's options with a user variant's own flags: a flag may stand for a built-in variant's
 * option (the user's wins), never for one of the command's own (--out, --size, ...).
 */
function withDeclaration(specs: Readonly<Record<string, OptionSpec>>, v: LoadedVariant, command: string): Record<string, OptionSpec> {
  const own = declarationSpecs(v.decl);
  for (const flag of Object.keys(own)) {
    if (specs[flag] !== undefined && !BUILT_IN_VARIANT_FLAGS.has(flag)) {
      throw new InputError(`--${VARIANT_FILE}: '${v.path}': variant ${v.decl.name}'s option flag --${flag} is one of ${command}'s own options; expected another flag (its declaration's \`flag\`)`);
    }
  }
  return { ...specs, ...own };
}

/**
 * Runs the CLI with `argv` (without node and script) and returns the exit code. A command given
 * --variant-file runs in a child process (src/cli/isolate.ts): the user's code never runs in ours.
 */
export async function main(argv: readonly string[], io: { out?: (s: string) => void; err?: (s: string) => void } = {}): Promise<number> {
  const out = io.out ?? ((s: string) => process.stdout.write(`${s}\n`));
  const err = io.err ?? ((s: string) => process.stderr.write(`${s}\n`));
  const isolated = await runIfVariantFile(argv, { out, err });
  if (isolated !== undefined) return isolated;
  return runCommand(argv, { out, err });
}

/** Runs the CLI command in this process (a --variant-file command's child calls it), returning the exit code. */
export async function runCommand(argv: readonly string[], io: { out: (s: string) => void; err: (s: string) => void }): Promise<number> {
  const out = io.out;
  // every message of ours is one line, whatever text of the user's it quotes
  const err = (s: string): void => io.err(oneLineText(s));
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    out(usage());
    return 0;
  }
  const command = ownEntry(commands, name);
  if (command === undefined) {
    err(`ssim-grad: unknown command '${name}', expected one of ${Object.keys(commands).join(', ')} (see ssim-grad --help)`);
    return 2;
  }
  let parsed: Parsed | undefined;
  try {
    // two phases: --variant-file first, whose declaration adds its own flags; then the arguments
    const path = command.options[VARIANT_FILE] !== undefined ? findVariantFile(rest) : undefined;
    if (path !== undefined && rest.some((a) => a === '--variant' || a.startsWith('--variant='))) {
      throw new InputError(`--${VARIANT_FILE}: conflicts with --variant; give one or the other`);
    }
    const variantFile = path === undefined ? undefined : await loadVariantFile(path);
    const specs = variantFile === undefined ? command.options : withDeclaration(command.options, variantFile, name);
    if (rest.includes('--help') || rest.includes('-h')) {
      out(`${command.usage}\n  ${command.summary}\n${command.details !== undefined ? `\n${command.details}\n` : ''}\nOptions:\n${describeOptions(specs)}`);
      return 0;
    }
    parsed = parseArgs(rest, specs, name);
    if (variantFile !== undefined) parsed.variantFile = variantFile;
    return await command.run(parsed, out);
  } catch (e) {
    if (e instanceof InputError) {
      // a result that is not finite: its cause told by the files' names, not the library's x and y
      const names = parsed?.found?.imageNames;
      err(`ssim-grad ${name}: ${e instanceof NonFiniteError && names !== undefined ? e.describe(names) : e.message}`);
      return 2;
    }
    err(`ssim-grad ${name}: internal error: ${(e as Error).message ?? String(e)}`);
    return 3;
  }
}

export type { Command };
