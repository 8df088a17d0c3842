/**
 * `npm run bench -- printed [REV]`: the generated TypeScript kernels as the kernel printer writes
 * them now (src/generated/*.ts from src/kernel/print-ts.ts) beside the same kernels as the string
 * emitter wrote them at REV (default 7700c8f, the last commit before the printer), in this one
 * process, on the same inputs, alternating. REV's files come from `git show` into a temporary
 * folder, their imports pointed at this tree (the helpers they call, boundaryIndex and the map's
 * geometry, have not changed). Prints the minimum and the median of each, and new / old.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BOUNDARIES, gaussianTaps, boxTaps } from '../src/field/index.js';
import type { GradientOutputs, KernelParams } from '../src/emit/params.js';
import { fmtMs, machineLoad, measure, type Timing } from './measure.js';
import { lcg, scenePair } from './scene.js';

const ROOT = join(import.meta.dirname, '..');
const rev = process.argv.slice(3).find((a) => !a.startsWith('-')) ?? '7700c8f';

type Value = (x: Float32Array | Float64Array, y: Float32Array | Float64Array, p: KernelParams) => number;
type Grad = (x: Float32Array | Float64Array, y: Float32Array | Float64Array, p: KernelParams, out: GradientOutputs<Float32Array | Float64Array>) => number;
type Module = Record<string, Value | Grad>;

/** The family's generated file at `rev`, importable here. */
async function before(family: string): Promise<Module> {
  const text = execFileSync('git', ['show', `${rev}:src/generated/${family}.ts`], { cwd: ROOT, encoding: 'utf8' });
  const src = pathToFileURL(join(ROOT, 'src')).href;
  const dir = mkdtempSync(join(tmpdir(), 'ssim-grad-before-'));
  const file = join(dir, `${family}.ts`);
  writeFileSync(file, text.replaceAll("from '../", `from '${src}/`));
  return (await import(pathToFileURL(file).href)) as Module;
}

const rand = lcg(2024);
const [C, H, W] = [3, 512, 512];
const { x: x32, y: y32 } = scenePair(C, H, W, rand);
const x64 = Float64Array.from(x32), y64 = Float64Array.from(y32);

function params(taps: Float64Array): KernelParams {
  return { N: 1, C, H, W, padding: 'same', tapsH: taps, tapsW: taps, C1: 1e-4, C2: 9e-4, c_n: 1, crop: 0, omega: 1 / (C * H * W) } as KernelParams;
}

interface Case {
  readonly name: string;
  readonly family: string;
  readonly fn: string;
  readonly f32: boolean;
  readonly grad: boolean;
  readonly taps: Float64Array;
}
const CASES: Case[] = [
  { name: 'ssim value+d/dx, f32, 11 taps (K11)', family: 'ssim', fn: 'ssimGradF32K11', f32: true, grad: true, taps: gaussianTaps(11, 1.5) },
  { name: 'ssim value, f32, 11 taps (K11)', family: 'ssim', fn: 'ssimValueF32K11', f32: true, grad: false, taps: gaussianTaps(11, 1.5) },
  { name: 'ssim value+d/dx, f64, 11 taps (K11)', family: 'ssim', fn: 'ssimGradF64K11', f32: false, grad: true, taps: gaussianTaps(11, 1.5) },
  { name: 'ssim value+d/dx, f32, 7 taps (K7, box)', family: 'ssim', fn: 'ssimGradF32K7', f32: true, grad: true, taps: boxTaps(7) },
  { name: 'ssim value+d/dx, f32, 9 taps (generic)', family: 'ssim', fn: 'ssimGradF32', f32: true, grad: true, taps: gaussianTaps(9, 1.5) },
  { name: 'ssim value+d/dx, emulated float32 arithmetic', family: 'ssim', fn: 'ssimGradF32Arith', f32: true, grad: true, taps: gaussianTaps(11, 1.5) },
  { name: 'cs value+d/dx, f64, 11 taps (K11)', family: 'cs', fn: 'csGradF64K11', f32: false, grad: true, taps: gaussianTaps(11, 1.5) },
  { name: 'wang value+d/dx, f64, 11 taps (K11)', family: 'wang', fn: 'wangGradF64K11', f32: false, grad: true, taps: gaussianTaps(11, 1.5) },
];

const loadBefore = machineLoad();
const now: Record<string, Module> = {};
const old: Record<string, Module> = {};
let bitRuns = 0;
console.log(`| kernel (512 x 512 x 3) | before (${rev}) min / median | printed min / median | printed / before (median) |`);
console.log('| --- | --- | --- | --- |');
for (const c of CASES) {
  now[c.family] ??= (await import(pathToFileURL(join(ROOT, 'src/generated', `${c.family}.ts`)).href)) as Module;
  old[c.family] ??= await before(c.family).catch(() => ({}));
  const a = old[c.family]![c.fn], b = now[c.family]![c.fn];
  if (a === undefined || b === undefined) {
    console.log(`| ${c.name} | ${a === undefined ? `not in ${rev}` : ''} | ${b === undefined ? 'not now' : ''} | |`);
    continue;
  }
  const p = { ...params(c.taps), ...(c.family === 'wang' ? { alpha: 1, beta: 1, gamma: 1 } : {}) } as KernelParams;
  const x = c.f32 ? x32 : x64, y = c.f32 ? y32 : y64;
  const out = { gradX: c.f32 ? new Float32Array(x.length) : new Float64Array(x.length), gradY: null };
  const run = (f: Value | Grad) => () => (c.grad ? (f as Grad)(x, y, p, out) : (f as Value)(x, y, p));
  // the same bits, under every boundary rule on a small pair and on the timed one, or the comparison means nothing
  for (const padding of BOUNDARIES) {
    const small = { ...p, H: 23, W: 29, padding } as KernelParams;
    const n = C * 23 * 29;
    const [xs, ys] = [x.slice(0, n), y.slice(0, n)];
    const outs = [0, 1].map(() => ({ gradX: c.f32 ? new Float32Array(n) : new Float64Array(n), gradY: c.f32 ? new Float32Array(n) : new Float64Array(n) }));
    const got = [a, b].map((f, i) => (c.grad ? (f as Grad)(xs, ys, small, outs[i]!) : (f as Value)(xs, ys, small)));
    const same = Object.is(got[0], got[1]) && (!c.grad || (['gradX', 'gradY'] as const).every((g) => outs[0]![g].every((v, i) => Object.is(v, outs[1]![g][i]))));
    if (!same) throw new Error(`${c.name} under '${padding}': the printed kernel's bits differ from ${rev}'s`);
    bitRuns++;
  }
  const va = run(a)(), vb = run(b)();
  if (!Object.is(va, vb)) throw new Error(`${c.name}: before ${va}, printed ${vb}`);
  bitRuns++;
  // alternate, so that a slow spell of the machine falls on both
  const ta: Timing[] = [], tb: Timing[] = [];
  for (let round = 0; round < 3; round++) {
    ta.push(await measure(run(a), { runs: 5 }));
    tb.push(await measure(run(b), { runs: 5 }));
  }
  const min = (ts: Timing[]) => Math.min(...ts.map((t) => t.min));
  const med = (ts: Timing[]) => ts.map((t) => t.median).sort((u, v) => u - v)[1]!;
  console.log(`| ${c.name} | ${fmtMs(min(ta))} / ${fmtMs(med(ta))} | ${fmtMs(min(tb))} / ${fmtMs(med(tb))} | ${(med(tb) / med(ta)).toFixed(3)} |`);
}
console.log(`\n${bitRuns} runs (every case, every boundary rule on 3 x 23 x 29, and the timed one) gave the same bits before and now.`);
console.log(`load before: ${loadBefore}; after: ${machineLoad()}`);
