/**
 * The command-line face of ssim-grad. `main` returns the exit code: 0 success, 1 a negative
 * verdict (check), 2 bad input (a one-line message naming the argument), 3 an internal error.
 * No stack trace reaches the user, and no output file is half-written.
 */
import { checkCommands } from './cli/check.js';
import { describeOptions, parseArgs, SSIM_OPTION_SPECS, type OptionSpec, type Parsed } from './cli/args.js';
import { InputError } from './field/index.js';
import { writeNpy } from './io/index.js';
import { imagesAndOptions } from './cli/images.js';
import { PRESET_SUMMARY, PRESETS, ssimGrad, ssim } from './ssim/index.js';

/** One CLI command: its usage line, options, and how it runs (returning the exit code). */
export interface Command {
  usage: string;
  summary: string;
  options: Readonly<Record<string, OptionSpec>>;
  run(parsed: Parsed, out: (s: string) => void): number | Promise<number>;
}

const JSON_SPEC: OptionSpec = { value: false, help: 'print one JSON object' };

const imageCommands: Record<string, Command> = {
  value: {
    usage: 'ssim-grad value X Y [options] [--json]',
    summary: 'print the SSIM of images X and Y',
    options: { ...SSIM_OPTION_SPECS, json: JSON_SPEC },
    run(parsed, out) {
      const { x, y, options } = imagesAndOptions(parsed, 'value');
      const s = ssim(x, y, options);
      out(parsed.switches.has('json') ? JSON.stringify({ ssim: s }) : String(s));
      return 0;
    },
  },
  grad: {
    usage: 'ssim-grad grad X Y [options] [--wrt x|y] --out G.npy [--json]',
    summary: 'write d SSIM / dX (or dY) as a float64 .npy with X\'s shape',
    options: {
      ...SSIM_OPTION_SPECS,
      wrt: { value: true, help: 'differentiate with respect to x or y', default: 'x' },
      out: { value: true, help: 'the .npy file to write (required)' },
      json: JSON_SPEC,
    },
    run(parsed, out) {
      const wrt = parsed.values.get('wrt') ?? 'x';
      if (wrt !== 'x' && wrt !== 'y') throw new InputError(`--wrt: got '${wrt}', expected x or y`);
      const outPath = parsed.values.get('out');
      if (outPath === undefined) throw new InputError('--out: required, the .npy file to write the gradient to');
      if (!outPath.toLowerCase().endsWith('.npy')) throw new InputError(`--out: got '${outPath}', expected a file name ending in .npy`);
      const { x, y, options } = imagesAndOptions(parsed, 'grad');
      const r = ssimGrad(x, y, options);
      const g = wrt === 'x' ? r.gradX : r.gradY;
      writeNpy(outPath, x.shape, g.data instanceof Float64Array ? g.data : Float64Array.from(g.data));
      out(parsed.switches.has('json') ? JSON.stringify({ ssim: r.ssim, out: outPath }) : `ssim ${r.ssim}\nwrote d ssim/d${wrt}, shape [${x.shape.join(', ')}], to ${outPath}`);
      return 0;
    },
  },
};

const commands: Record<string, Command> = { ...imageCommands, ...checkCommands };

function usage(): string {
  const lines = [
    'ssim-grad: exact gradients of SSIM and its variants',
    '',
    'Commands:',
    ...Object.values(commands).map((c) => `  ${c.usage}\n      ${c.summary}`),
    '',
    'Options of value and grad:',
    describeOptions(SSIM_OPTION_SPECS),
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

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: readonly string[], io: { out?: (s: string) => void; err?: (s: string) => void } = {}): Promise<number> {
  const out = io.out ?? ((s: string) => process.stdout.write(`${s}\n`));
  const err = io.err ?? ((s: string) => process.stderr.write(`${s}\n`));
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    out(usage());
    return 0;
  }
  const command = commands[name];
  if (command === undefined) {
    err(`ssim-grad: unknown command '${name}', expected one of ${Object.keys(commands).join(', ')} (see ssim-grad --help)`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    out(`${command.usage}\n  ${command.summary}\n\nOptions:\n${describeOptions(command.options)}`);
    return 0;
  }
  try {
    return await command.run(parseArgs(rest, command.options, name), out);
  } catch (e) {
    if (e instanceof InputError) {
      err(`ssim-grad ${name}: ${e.message}`);
      return 2;
    }
    err(`ssim-grad ${name}: internal error: ${(e as Error).message ?? String(e)}`);
    return 3;
  }
}
