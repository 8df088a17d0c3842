/**
 * The SSIM pass programs (src/emit/gpu-program.ts) printed to WGSL and run in chromium's WebGPU
 * (SwiftShader): for every family, every boundary rule, windows of 3, 7, 11 and 15 taps and both
 * schedules (the stored one under two rules), the value, d/dx and d/dy (d/dy computed, not taken by symmetry) equal the float64
 * reference (the same programs interpreted in float64) within the checker's float32 allowance:
 * FLOOR_ALLOWANCE times the rounding floor, measured as src/check does (floorOf) on the same
 * inputs: the same programs interpreted with every operation rounded to float32.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLOOR_ALLOWANCE, floorOf } from '../../src/check/floor.js';
import { GPU_FAMILIES, gpuArguments, gpuPrograms, type GpuFamily } from '../../src/emit/gpu-program.js';
import type { KernelParams } from '../../src/emit/params.js';
import { BOUNDARIES, type Boundary } from '../../src/field/boundary.js';
import { interpretProgram, FLOAT64, type Binding, type BufferValue } from '../../src/kernel/interpret.js';
import type { PassProgram } from '../../src/kernel/ir.js';
import { printWgsl, type PrintedWgsl } from '../../src/kernel/print-wgsl.js';
import { differenceNorms } from '../../src/field/index.js';
import { closeBrowser, runInPage, webgpuBrowserAvailable, webgpuPage, type PageCase } from '../support/browser.js';

const FLOAT32: Binding = { real: 'float32', acc: 'float32', f64: 'float32' };
const N = 1, C = 2, H = 20, W = 24;
const WINDOWS = [3, 7, 11, 15];
const SCHEDULES = ['store', 'recompute'] as const;
/**
 * The boundaries the 'store' schedule runs under too ('recompute' runs under all): compiling a
 * module is most of this test's time on SwiftShader (about 0.5 s each), and the stored schedule's
 * passes differ from the recomputing one's only in which buffers hold the partials.
 */
const STORED: readonly Boundary[] = ['same', 'mirror'];

/** A deterministic image pair in [0, 1]: y is x with noise. */
function images(seed: number): { x: Float64Array; y: Float64Array } {
  let s = seed >>> 0;
  const rand = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const x = Float64Array.from({ length: N * C * H * W }, () => rand());
  const y = x.map((v) => Math.min(1, Math.max(0, v + 0.3 * (rand() - 0.5))));
  return { x, y };
}

function params(b: Boundary, k: number): KernelParams {
  const taps = Float64Array.from({ length: k }, (_, t) => Math.exp(-((t - (k - 1) / 2) ** 2) / (2 * 1.5 * 1.5)));
  const sum = taps.reduce((a, v) => a + v, 0);
  const t = taps.map((v) => v / sum);
  const MH = b === 'valid' ? H - k + 1 : H, MW = b === 'valid' ? W - k + 1 : W;
  return { N, C, H, W, padding: b, tapsH: t, tapsW: t, C1: 0.01 ** 2, C2: 0.03 ** 2, c_n: 1, crop: 0, omega: 1 / (N * C * MH * MW) } as KernelParams;
}

type Args = Record<string, number | BufferValue>;
const f32 = (a: Args): Args => Object.fromEntries(Object.entries(a).map(([k, v]) => [k, typeof v === 'number' ? (Number.isInteger(v) ? v : Math.fround(v)) : v instanceof Int32Array ? v : Float32Array.from(v)]));

/** Zeroed outputs of a program (the interpreter takes them as arguments). */
function outputs(p: PassProgram, args: Args, binding: Binding): Args {
  const out: Args = {};
  for (const b of p.buffers) {
    if (b.role !== 'output') continue;
    const n = sizeOf(p, b.name, args);
    out[b.name] = binding === FLOAT64 ? new Float64Array(n) : new Float32Array(n);
  }
  return out;
}

function sizeOf(p: PassProgram, name: string, args: Args): number {
  // a size is an expression over the scalars: the interpreter evaluates it in a one-buffer program
  const decl = p.buffers.find((b) => b.name === name)!;
  const probe: PassProgram = { ...p, buffers: [{ ...decl, role: 'scratch' }], passes: [] };
  return interpretProgram(probe, [], args, FLOAT64).get(name)!.length;
}

interface Config {
  readonly family: GpuFamily;
  readonly boundary: Boundary;
  readonly k: number;
  readonly schedule: (typeof SCHEDULES)[number];
}

const available = webgpuBrowserAvailable('WGSL SSIM tests in chromium');

describe.skipIf(!available)('the SSIM pass programs in WGSL (chromium, WebGPU on SwiftShader) equal float64 within the float32 allowance', () => {
  let page: Page;
  beforeAll(async () => {
    page = await webgpuPage();
  });
  afterAll(async () => {
    await closeBrowser();
  });

  for (const family of GPU_FAMILIES) {
    it(`${family}: every boundary rule, windows ${WINDOWS.join(', ')}, 'recompute' (and 'store' under ${STORED.join(', ')}): value, d/dx and d/dy`, async () => {
      const configs: Config[] = [];
      for (const boundary of BOUNDARIES) for (const k of WINDOWS) for (const schedule of SCHEDULES) if (schedule === 'recompute' || STORED.includes(boundary)) configs.push({ family, boundary, k, schedule });
      const printedCache = new Map<string, { forward: PrintedWgsl; backward: PrintedWgsl; programs: ReturnType<typeof gpuPrograms> }>();
      const prepared = configs.map((c, q) => {
        const key = `${c.boundary}/${c.schedule}`;
        let entry = printedCache.get(key);
        if (entry === undefined) {
          const programs = gpuPrograms(family, { boundary: c.boundary, gradY: true, schedule: { partials: c.schedule } });
          entry = { programs, forward: printWgsl(programs.forward, programs.funcs), backward: printWgsl(programs.backward, programs.funcs) };
          printedCache.set(key, entry);
        }
        const { x, y } = images(1000 + q);
        const base: Args = { ...gpuArguments(family, params(c.boundary, c.k)), x, y };
        return { c, entry, base };
      });
      // the references: float64 and float32 arithmetic, interpreted
      const interpreted = prepared.map(({ entry, base }) => {
        const { forward, backward, funcs, kept } = entry.programs;
        const run = (binding: Binding) => {
          const args = binding === FLOAT64 ? base : f32(base);
          const fw = interpretProgram(forward, funcs, { ...args, ...outputs(forward, args, binding) }, binding);
          const bargs: Args = { ...args, ...outputs(backward, args, binding) };
          for (const name of kept) bargs[name] = fw.get(name)!;
          const bw = interpretProgram(backward, funcs, bargs, binding);
          return { value: fw.get('value')![0]!, gradX: bw.get('gradX')!, gradY: bw.get('gradY')! };
        };
        return { f64: run(FLOAT64), f32: run(FLOAT32) };
      });
      // WGSL: the forwards, then the backwards with the forwards' kept maps
      const plain = (a: Args): PageCase['args'] => Object.fromEntries(Object.entries(a).map(([k, v]) => [k, typeof v === 'number' ? v : Array.from(v)]));
      const t0 = performance.now();
      const fw = await runInPage(page, prepared.map(({ entry, base }) => ({ printed: entry.forward, args: plain(base) })));
      const bw = await runInPage(
        page,
        prepared.map(({ entry, base }, q) => {
          const r = fw[q]!;
          if (!r.ok) throw new Error(`${entry.programs.forward.name}: ${r.error}`);
          const args = plain(base);
          return { printed: entry.backward, args: { ...args, ...Object.fromEntries(entry.programs.kept.map((name) => [name, r.buffers[name]!])) } };
        }),
      );
      const gpuMs = performance.now() - t0;
      let worst = { ratio: 0, what: '' };
      const worstOf: Record<string, number> = { value: 0, 'd/dx': 0, 'd/dy': 0 };
      const rows: string[] = [];
      const failures: string[] = [];
      prepared.forEach(({ c, entry }, q) => {
        const r = bw[q]!;
        if (!r.ok) throw new Error(`${entry.programs.backward.name}: ${r.error}`);
        const f = fw[q]!;
        if (!f.ok) throw new Error('unreachable');
        const { f64, f32: g32 } = interpreted[q]!;
        const label = `${c.family} ${c.boundary} k=${c.k} ${c.schedule}`;
        const check = (what: string, gpu: ArrayLike<number>, exact: Float64Array, emulated: ArrayLike<number>) => {
          // one number's measured floor can be luckily small: the value's is at least its own rounding to float32 (half an ulp), which storing it costs
          const measured = floorOf(emulated, exact);
          const half = what === 'value' ? 2 ** -24 * Math.abs(exact[0]!) : 0;
          const floor = { maxAbs: Math.max(measured.maxAbs, half), l2: Math.max(measured.l2, half) };
          const d = differenceNorms(gpu, exact);
          const ratio = Math.max(d.maxAbs / floor.maxAbs, d.l2 / floor.l2);
          worstOf[what] = Math.max(worstOf[what]!, ratio);
          if (ratio > worst.ratio) worst = { ratio, what: `${label} ${what}` };
          if (!(ratio <= FLOOR_ALLOWANCE)) failures.push(`${label} ${what}: max abs ${d.maxAbs.toExponential(2)} (floor ${floor.maxAbs.toExponential(2)}), l2 ${d.l2.toExponential(2)} (floor ${floor.l2.toExponential(2)})`);
          return ratio;
        };
        const ratios = [
          check('value', f.buffers['value']!, Float64Array.of(f64.value), [g32.value]),
          check('d/dx', r.buffers['gradX']!, f64.gradX as Float64Array, g32.gradX),
          check('d/dy', r.buffers['gradY']!, f64.gradY as Float64Array, g32.gradY),
        ];
        rows.push(`${label}: ${ratios.map((x) => x.toFixed(2)).join(' ')}`);
      });
      console.log(`${family}: ${configs.length} configurations (${printedCache.size} modules) in ${gpuMs.toFixed(0)} ms of GPU runs; worst error / floor = ${worst.ratio.toFixed(2)} (${worst.what}; value ${worstOf['value']!.toFixed(2)}, d/dx ${worstOf['d/dx']!.toFixed(2)}, d/dy ${worstOf['d/dy']!.toFixed(2)}), allowance ${FLOOR_ALLOWANCE}`);
      if (process.env.WGSL_VERBOSE) console.log(rows.join('\n'));
      expect(failures).toEqual([]);
    });
  }
});
