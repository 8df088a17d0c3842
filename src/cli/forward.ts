/**
 * The forward-mode commands: `jvp` (the value and its directional derivative, and the tangent of
 * a windowed map) and `hvp` (the Hessian times a vector), over the variant's field graph
 * (src/runtime/jvp.ts), with the image, preset and variant flags of `value` and `grad` and the
 * arithmetic of reverse mode (`--arith`). Every argument is checked before anything is written.
 */
import { InputError, shape4, type Tensor } from '../field/index.js';
import type { Arithmetic } from '../graph/evaluate.js';
import { readTensor, writeAllAtomic, formatNpy, writeNpy, type LoadedTensor } from '../io/index.js';
import { FLOAT32_MAX } from '../model/finite.js';
import { variantHvp, variantJvp, type HvpVector, type MapTangent } from '../runtime/jvp.js';
import type { VariantOptions } from '../runtime/variants.js';
import { variantName } from '../variants/registry.js';
import { JSON_SPEC, SSIM_OPTION_SPECS, VARIANT_OPTION_SPECS, VARIANT_TIMEOUT_SPEC, variantOptionsFrom, type Command, type OptionSpec, type Parsed } from './args.js';
import { imagesAndOptions } from './images.js';

const ARITHMETICS: readonly Arithmetic[] = ['float64', 'float32-storage', 'float32'];

/** --precision is the kernels' storage; forward mode has its own three arithmetics (--arith). */
const { precision: _kernelStorage, ...FORWARD_SSIM_SPECS } = SSIM_OPTION_SPECS;

const ARITH_SPEC: OptionSpec = {
  value: true,
  help: "float64; float32-storage (images and directions stored as float32, float64 arithmetic, results stored as float32); float32 (every operation rounded to float32)",
  default: 'float64',
};

function arithFrom(parsed: Parsed): Arithmetic {
  const a = parsed.values.get('arith') ?? 'float64';
  if (!(ARITHMETICS as readonly string[]).includes(a)) throw new InputError(`--arith: got '${a}', expected one of ${ARITHMETICS.join(', ')}`);
  return a as Arithmetic;
}

/** An output path from --flag: a .npy file name. */
function npyPath(parsed: Parsed, flag: string): string | undefined {
  const p = parsed.values.get(flag);
  if (p !== undefined && !p.toLowerCase().endsWith('.npy')) throw new InputError(`--${flag}: got '${p}', expected a file name ending in .npy`);
  return p;
}

/** In a float32 arithmetic a value beyond float32's largest is stored as Infinity: refused naming its file. */
function fitsFloat32(t: Tensor, what: string, arith: Arithmetic): void {
  if (arith === 'float64') return;
  const i = t.data.findIndex((v) => Math.abs(v) > FLOAT32_MAX);
  if (i >= 0) throw new InputError(`${what}: value at flat index ${i} is ${t.data[i]}, beyond float32's largest ${FLOAT32_MAX.toExponential(2)}, which --arith ${arith} stores it in`);
}

/** A direction read from the file --flag names: finite, with X's shape; null when the flag is absent. */
function directionFrom(parsed: Parsed, flag: string, x: LoadedTensor, arith: Arithmetic): Tensor | null {
  const path = parsed.values.get(flag);
  if (path === undefined) return null;
  let t: LoadedTensor;
  try {
    t = readTensor(path);
  } catch (e) {
    throw e instanceof InputError ? new InputError(`--${flag}: ${e.message}`) : e;
  }
  const bad = t.data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new InputError(`--${flag}: ${path}: value at flat index ${bad} is ${t.data[bad]}, expected a finite number`);
  const xPath = parsed.positionals[0]!;
  if (shape4(t, `--${flag}: ${path}`).join() !== shape4(x, xPath).join()) {
    throw new InputError(`--${flag}: ${path} has shape [${t.shape.join(', ')}], expected X's shape [${x.shape.join(', ')}] (${xPath})`);
  }
  fitsFloat32(t, `--${flag}: ${path}`, arith);
  return t;
}

/** The images and the variant's options, the images checked against the arithmetic. */
function inputs(parsed: Parsed, command: string, arith: Arithmetic): { x: LoadedTensor; y: LoadedTensor; options: VariantOptions } {
  const { x, y, options } = imagesAndOptions(parsed, command);
  fitsFloat32(x, parsed.positionals[0]!, arith);
  fitsFloat32(y, parsed.positionals[1]!, arith);
  return { x, y, options: { ...options, ...variantOptionsFrom(parsed, x, options.dataRange) } };
}

/**
 * The names --map takes: a variant's one map by its label (S, cs, wang); of several (MS-SSIM: cs
 * at every scale but the last, S at the last) each by its label followed by its position in the
 * graph's order (cs0, cs1, ..., S4: the scale). A label that only one map has names it too.
 */
export function mapNames(maps: readonly MapTangent[]): string[] {
  return maps.length === 1 ? [maps[0]!.label] : maps.map((m, i) => `${m.label}${i}`);
}

/** The map --map names (its index in `maps`), or undefined where no map has that name. */
function mapIndex(maps: readonly MapTangent[], name: string): number | undefined {
  const k = mapNames(maps).indexOf(name);
  if (k >= 0) return k;
  const byLabel = maps.flatMap((m, i) => (m.label === name ? [i] : []));
  return byLabel.length === 1 ? byLabel[0] : undefined;
}

/** A map's shape as written: N x C x MH x MW with the leading axes X's file lacks dropped where they are 1 (a CHW image's map is C x MH x MW). */
function writtenShape(shape: readonly number[], rank: number): number[] {
  let s = [...shape];
  while (s.length > Math.max(rank, 2) && s[0] === 1) s = s.slice(1);
  return s;
}

const WHERE = '[--variant V | --variant-file FILE [--timeout S]] [its options] [--arith float64|float32-storage|float32]';

export const forwardCommands: Record<string, Command> = {
  jvp: {
    usage: `ssim-grad jvp X Y --dx DX [--dy DY] [options] ${WHERE} [--out T.npy [--map K]] [--json]`,
    summary: "print the SSIM (or the variant's value) and its directional derivative in the direction (DX, DY); --out writes the SSIM map's tangent as .npy",
    details: [
      'DX and DY have X\'s shape (.npy, .png or .json); an image without a direction does not move.',
      'The JVP is exact, forward mode over the variant\'s field graph: d value = <d value/dx, DX> + <d value/dy, DY>.',
      '--out writes the tangent of the windowed map (the SSIM map S at every window position, uncropped: LM\'s',
      'per-pixel residuals) as float64 .npy of shape N x C x MH x MW, less the leading axes of 1 that X\'s file lacks.',
      'A variant with several maps (MS-SSIM: cs at each scale, S at the last) needs --map naming one: cs0, cs1, ..., S4.',
    ].join('\n'),
    options: {
      ...FORWARD_SSIM_SPECS,
      ...VARIANT_OPTION_SPECS,
      dx: { value: true, help: 'the direction of X: a file with X\'s shape (required)' },
      dy: { value: true, help: 'the direction of Y: a file with Y\'s shape', default: 'zero' },
      arith: ARITH_SPEC,
      out: { value: true, help: 'write the tangent of the map (float64 .npy)' },
      map: { value: true, help: 'the map whose tangent --out writes, for a variant with several (MS-SSIM: cs0, ..., S4)', default: 'the only one' },
      timeout: VARIANT_TIMEOUT_SPEC,
      json: JSON_SPEC,
    },
    run(parsed, out) {
      const arith = arithFrom(parsed);
      const outPath = npyPath(parsed, 'out');
      const mapName = parsed.values.get('map');
      if (mapName !== undefined && outPath === undefined) throw new InputError(`--map: names the map whose tangent --out writes; give --out T.npy too`);
      if (!parsed.values.has('dx')) throw new InputError('--dx: required, the direction of X (a file with X\'s shape; zeros for a direction of Y alone)');
      const { x, y, options } = inputs(parsed, 'jvp', arith);
      const dx = directionFrom(parsed, 'dx', x, arith);
      const dy = directionFrom(parsed, 'dy', x, arith);
      const r = variantJvp(x, y, dx, dy, { ...options, arith, maps: outPath !== undefined });
      const what = variantName(options.variant);
      let wrote: { map: string; shape: number[] } | undefined;
      if (outPath !== undefined) {
        const names = mapNames(r.maps);
        if (names.length === 0) throw new InputError(`--out: the ${what} variant has no windowed map to write the tangent of`);
        let k: number;
        if (mapName === undefined) {
          if (names.length > 1) throw new InputError(`--map: the ${what} variant has ${names.length} maps (${names.join(', ')}); name the one --out writes`);
          k = 0;
        } else {
          const found = mapIndex(r.maps, mapName);
          if (found === undefined) throw new InputError(`--map: got '${mapName}', expected ${names.length === 1 ? names[0] : `one of ${names.join(', ')}`} (the ${what} variant's maps)`);
          k = found;
        }
        const m = r.maps[k]!;
        const shape = writtenShape(m.shape, x.shape.length);
        writeNpy(outPath, shape, m.tangent);
        wrote = { map: names[k]!, shape };
      }
      if (parsed.switches.has('json')) {
        out(JSON.stringify({ value: r.value, jvp: r.jvp, variant: what, arith, ...(wrote === undefined ? {} : { out: outPath, map: wrote.map, shape: wrote.shape }) }));
      } else {
        const lines = [`${what} ${r.value}`, `jvp ${r.jvp}`];
        if (wrote !== undefined) lines.push(`wrote the tangent of ${wrote.map}, shape [${wrote.shape.join(', ')}], to ${outPath}`);
        out(lines.join('\n'));
      }
      return 0;
    },
  },
  hvp: {
    usage: `ssim-grad hvp X Y (--v V | --vx VX [--vy VY]) [--wrt x|y|both] [options] ${WHERE} --out H.npy [--out-y HY.npy] [--json]`,
    summary: "write the Hessian of the SSIM (or of the variant's value) times a vector, the rows of --wrt, as float64 .npy with X's shape",
    details: [
      '--v V is the direction of the image --wrt names: --wrt x writes H_xx V, --wrt y H_yy V.',
      '--vx VX and --vy VY give the direction by image (either left out is zero): --wrt x writes H_xx VX + H_xy VY,',
      '--wrt y H_yx VX + H_yy VY, and --wrt both writes the x rows to --out and the y rows to --out-y (both required).',
      'Exact: forward mode over the reverse sweep of the variant\'s field graph, the second partials symbolic.',
    ].join('\n'),
    options: {
      ...FORWARD_SSIM_SPECS,
      ...VARIANT_OPTION_SPECS,
      v: { value: true, help: 'the vector: the direction of the image --wrt names, a file with X\'s shape' },
      vx: { value: true, help: 'the vector\'s part for X (in place of --v)', default: 'zero' },
      vy: { value: true, help: 'the vector\'s part for Y (in place of --v)', default: 'zero' },
      wrt: { value: true, help: 'the rows of the Hessian: x, y, or both (with --vx/--vy and --out-y)', default: 'x' },
      arith: ARITH_SPEC,
      out: { value: true, help: 'the .npy file to write (required; with --wrt both, the x rows)' },
      'out-y': { value: true, help: 'with --wrt both, the .npy file for the y rows (required then)' },
      timeout: VARIANT_TIMEOUT_SPEC,
      json: JSON_SPEC,
    },
    run(parsed, out) {
      const arith = arithFrom(parsed);
      const wrt = parsed.values.get('wrt') ?? 'x';
      if (wrt !== 'x' && wrt !== 'y' && wrt !== 'both') throw new InputError(`--wrt: got '${wrt}', expected x, y or both`);
      const byImage = parsed.values.has('vx') || parsed.values.has('vy');
      if (parsed.values.has('v') && byImage) throw new InputError(`--v: conflicts with --${parsed.values.has('vx') ? 'vx' : 'vy'}; give --v V (the direction of the image --wrt names) or --vx VX [--vy VY]`);
      if (!parsed.values.has('v') && !byImage) throw new InputError('--v: required, the vector (a file with X\'s shape): --v V, or --vx VX [--vy VY]');
      if (parsed.values.has('v') && wrt === 'both') throw new InputError('--v: with --wrt both, give the vector by image: --vx VX [--vy VY]');
      const outPath = npyPath(parsed, 'out');
      if (outPath === undefined) throw new InputError('--out: required, the .npy file to write the Hessian-vector product to');
      const outY = npyPath(parsed, 'out-y');
      if (wrt === 'both' && outY === undefined) throw new InputError('--out-y: required with --wrt both, the .npy file for the y rows (--out takes the x rows)');
      if (wrt !== 'both' && outY !== undefined) throw new InputError(`--out-y: only with --wrt both (the y rows); --wrt ${wrt} writes --out alone`);
      if (outY !== undefined && outY === outPath) throw new InputError(`--out-y: got '${outY}', the same file as --out; expected another`);
      const { x, y, options } = inputs(parsed, 'hvp', arith);
      const v: HvpVector = parsed.values.has('v')
        ? directionFrom(parsed, 'v', x, arith)!
        : { x: directionFrom(parsed, 'vx', x, arith), y: directionFrom(parsed, 'vy', x, arith) };
      const r = variantHvp(x, y, v, { ...options, arith, wrt });
      const what = variantName(options.variant);
      if (wrt === 'both') writeAllAtomic([[outPath, formatNpy({ shape: x.shape, data: r.hvpX! })], [outY!, formatNpy({ shape: x.shape, data: r.hvpY! })]]);
      else writeNpy(outPath, x.shape, wrt === 'x' ? r.hvpX! : r.hvpY!);
      if (parsed.switches.has('json')) {
        out(JSON.stringify({ value: r.value, variant: what, arith, wrt, out: outPath, ...(outY === undefined ? {} : { outY }) }));
      } else {
        const shape = `shape [${x.shape.join(', ')}]`;
        const lines = [`${what} ${r.value}`];
        if (wrt === 'both') lines.push(`wrote the x rows of H v (H the Hessian of ${what}), ${shape}, to ${outPath}`, `wrote the y rows of H v, ${shape}, to ${outY}`);
        else lines.push(`wrote the ${wrt} rows of H v (H the Hessian of ${what}), ${shape}, to ${outPath}`);
        out(lines.join('\n'));
      }
      return 0;
    },
  },
};
