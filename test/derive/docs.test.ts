/** The derivation documents: every formula renders, every formula's twin evaluates to the graph, and the committed files are fresh. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse } from 'mathjs';
import { describe, expect, it } from 'vitest';
import { buildDerivation, presetDerivations } from '../../src/derive/build.js';
import { allDerivations } from '../../src/derive/files.js';
import { renderKatex } from '../../src/derive/render.js';
import { ssimGrad } from '../../src/runtime/index.js';
import { expectAssembledGradient } from '../support/assembled-gradient.js';

const ROOT = join(import.meta.dirname, '..', '..');
const presets = presetDerivations();
const docs = allDerivations();

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? listFiles(join(dir, f)) : [join(dir, f)]));
}

describe('derivation documents', () => {
  it('cover every preset family', () => {
    expect(docs.map((d) => d.name)).toEqual([
      'ssim-pytorch-ssim', 'ssim-pytorch-msssim', 'ssim-skimage', 'ssim-skimage-gaussian', 'ssim-tf', 'ssim-matlab',
      'ms-ssim-pytorch-msssim', 'ms-ssim-tf', 'dssim', '3dgs-loss', 'wang',
    ]);
  });

  it.each(docs.map((d) => [d.name, d] as const))('%s: every formula renders with KaTeX (throwOnError)', (_, d) => {
    let count = 0;
    for (const b of d.blocks) {
      const texts = b.kind === 'eq' ? [] : b.kind === 'p' ? [b.text] : b.kind === 'table' ? [...b.header, ...b.rows.flat()] : [];
      if (b.kind === 'eq') {
        expect(() => renderKatex(`${b.latex} \\tag{${b.number}}`, true)).not.toThrow();
        count++;
      }
      for (const t of texts) for (const m of t.match(/\$[^$]+\$/g) ?? []) expect(() => renderKatex(m.slice(1, -1), false)).not.toThrow();
    }
    expect(count).toBeGreaterThanOrEqual(d.name.startsWith('ssim-') ? 20 : 2);
  });

  it.each(docs.map((d) => [d.name, d] as const))('%s: every displayed formula has a mathjs twin that evaluates to the graph', (_, d) => {
    for (const b of d.blocks) {
      if (b.kind !== 'eq') continue;
      const twin = parse(b.twin).compile();
      const samples = b.samples();
      expect(samples.length).toBeGreaterThan(0);
      for (const { scope, expected } of samples) {
        const got = twin.evaluate({ ...scope }) as number;
        expect(Math.abs(got - expected), `eq. ${b.number} (${b.twin.slice(0, 80)})`).toBeLessThanOrEqual(1e-9 * (Math.abs(expected) + 1e-12));
      }
    }
  });

  it('measures the per-pixel chain rule far above the float32 floor, in every SSIM document', () => {
    for (const d of presets) {
      const table = d.blocks.filter((b) => b.kind === 'table').at(-1);
      expect(table?.kind).toBe('table');
      if (table?.kind !== 'table') continue;
      const value = (s: string): number => Number(s.replace(/\$/g, '').replace(/ \\times 10\^\{(-?\d+)\}/, 'e$1'));
      const seed = value(table.rows[0]![1]!);
      const floor = value(table.rows[1]![1]!);
      expect(seed).toBeGreaterThan(1000 * floor);
    }
  });

  it('derivations/ is up to date: regenerating gives the committed files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssim-grad-docs-'));
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'docs.ts'), dir], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const fresh = listFiles(dir).map((f) => relative(dir, f)).sort();
    const committed = listFiles(join(ROOT, 'derivations')).map((f) => relative(join(ROOT, 'derivations'), f)).sort();
    expect(committed).toEqual(fresh);
    for (const f of fresh) {
      expect(readFileSync(join(ROOT, 'derivations', f)).equals(readFileSync(join(dir, f))), `derivations/${f} is stale: run npm run docs`).toBe(true);
    }
  });

  it('stays within its size: every page under 1.1 MB, derivations/ under 6.2 MB (equations said alike, not printed again)', () => {
    const files = listFiles(join(ROOT, 'derivations'));
    for (const f of files.filter((f) => f.endsWith('.html'))) expect(statSync(f).size, relative(ROOT, f)).toBeLessThan(1.1e6);
    expect(files.reduce((s, f) => s + statSync(f).size, 0)).toBeLessThan(6.2e6);
  });

  it('numbers its equations as the kernels cite them (src/emit/kernels.ts comments)', () => {
    for (const d of presets) {
      const shift = d.name === 'ssim-matlab' ? 1 : 0; // it opens with the downsampling
      const eq = (n: number): string => {
        const b = d.blocks.find((x) => x.kind === 'eq' && x.number === n + shift);
        return b?.kind === 'eq' ? b.latex : '';
      };
      expect(eq(1)).toMatch(/^\\mu_x = w \\star x/);
      expect(eq(2)).toMatch(/^m_\{xx\}/);
      expect(eq(3)).toMatch(/^\\sigma_x\^2 =/);
      expect(eq(10)).toMatch(/^S = /);
      expect(eq(11)).toMatch(/^L = /);
      expect(eq(12)).toMatch(/^\\frac\{\\partial S\}\{\\partial \\mu_x\}/);
      expect(eq(16)).toMatch(/^\\frac\{\\partial S\}\{\\partial m_\{yy\}\}/);
      expect(eq(17)).toMatch(/^g_\{\\mu_x\} = /);
      expect(eq(18)).toMatch(/^\(W\^\\top g\)/);
      // generated from the graph, not written: the familiar formula
      expect(eq(19)).toBe('\\frac{\\partial L}{\\partial x} = W^\\top g_{\\mu_x} + 2 \\, x \\odot W^\\top g_{xx} + y \\odot W^\\top g_{xy}');
      expect(eq(20)).toBe('\\frac{\\partial L}{\\partial y} = W^\\top g_{\\mu_y} + 2 \\, y \\odot W^\\top g_{yy} + x \\odot W^\\top g_{xy}');
    }
  });

  it.each([
    ['ssim-matlab (f = 2)', () => presets.find((d) => d.name === 'ssim-matlab')!],
    ['downsampled by 3', () => buildDerivation('ds3', 'ds3', { preset: 'matlab', downsample: 3 })],
  ])('%s: the downsampling equation, read as printed (1/K times the sum over the box its limits give), is the evaluator\'s downsampled pixel', (_, doc) => {
    const eq = doc().blocks.find((b) => b.kind === 'eq' && b.latex.startsWith("x'_{i,j} ="));
    expect(eq?.kind).toBe('eq');
    if (eq?.kind !== 'eq') return;
    const m = /^x'_\{i,j\} = \\frac\{1\}\{(\d+)\} \\sum_\{a=0\}\^\{(\d+)\} \\sum_\{b=0\}\^\{(\d+)\} x_\{(\d+)i \+ a(?: - (\d+))?,\\, (\d+)j \+ b(?: - (\d+))?\}/.exec(eq.latex);
    expect(m, eq.latex).not.toBeNull();
    const [K, A, B, fi, oi, fj, oj] = m!.slice(1).map((v) => Number(v ?? 0)) as [number, number, number, number, number, number, number];
    // a box of f x f from the pixel's own start: (f + 1)/2 - 1 before it (ssim.m's imfilter centre)
    expect([A + 1, B + 1, fj]).toEqual([fi, fi, fi]);
    expect(oi).toBe(Math.floor((fi + 1) / 2) - 1);
    expect(oj).toBe(oi);
    for (const { scope, expected } of eq.samples()) {
      let sum = 0;
      for (let a = 0; a <= A; a++) for (let b = 0; b <= B; b++) sum += scope[`x_${a}_${b}`] as number;
      expect(Math.abs(sum / K - expected)).toBeLessThanOrEqual(1e-12 * Math.abs(expected));
    }
  });

  it.each(presets.map((d) => [d.name, d] as const))("%s: the assembled gradient equations, through their twins, are SSIM's gradient on the document's sample images (the library's kernels)", (_, d) => {
    const { x, y, options } = d.sample!;
    const r = ssimGrad(x, y, options);
    expectAssembledGradient(d, (which) => Float64Array.from((which === 'x' ? r.gradX : r.gradY).data), 'L');
  });
});
