/**
 * The checker never says "right" or "match" for a candidate that is not finite and within the
 * stated tolerance of the exact value, at any data range (issue 17, "False positives"):
 *
 * - check-formula: a claim that evaluates to +-Infinity or NaN is wrong (Infinity <= Infinity passed);
 * - check: the floor is a measurement of float32 rounding, so a small data range does not inflate it
 *   (a term eps / (N L) let the all-zero gradient match at --data-range 1e-16); a fast-check search
 *   over random options, data ranges from 1e-12 to 1e6 and image scales, with candidates the exact
 *   gradient plus perturbations far beyond float32 rounding, and zero, finds no match;
 * - a candidate within the allowance of zero names no known mistake ("0 x this mistake").
 */
import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { checkFormula } from '../../src/check/formula.js';
import { checkGradient } from '../../src/check/diagnose.js';
import type { CheckReport } from '../../src/check/schema.js';
import { FLOOR_ALLOWANCE } from '../../src/check/floor.js';
import { InputError, type Tensor } from '../../src/field/index.js';
import { formatNpy } from '../../src/io/index.js';
import { evaluateSsim, PRESETS, type SsimOptions } from '../../src/runtime/index.js';
import { uniform } from '../support/uniform.js';

/** A deterministic generator in [0, 1) from a seed (the images of a run follow from its drawn seed). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** ||a||_2, written out here (the checker's own norms are under test). */
const l2 = (a: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * a[i]!;
  return Math.sqrt(s);
};

/** Paths of non-finite numbers (and nulls other than a mistake's absent `scaled`) in a report. */
function badNumbers(v: unknown, path = ''): string[] {
  if (typeof v === 'number') return Number.isFinite(v) ? [] : [`${path} = ${v}`];
  if (v === null) return /\.scaled$/.test(path) ? [] : [`${path} = null`];
  if (typeof v !== 'object') return [];
  return Object.entries(v as object).flatMap(([k, w]) => badNumbers(w, `${path}.${k}`));
}

const run = async (argv: string[]): Promise<{ code: number; out: string; err: string }> => {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => { out += `${s}\n`; }, err: (s) => { err += `${s}\n`; } });
  return { code, out, err };
};

describe('check-formula: a claim that is not finite is never right', () => {
  // each evaluates to +-Infinity or NaN at every point; the symbolic partial is finite there (B1, B2 >= C1, C2 > 0)
  for (const claim of ['1/0', '-1/0', '1/(mu_x - mu_x)', 'log(0)', 'exp(1000)', 'mu_x/0 - mu_y/0', '(1/0)*cs']) {
    it(`"${claim}" as d S / d mu_x is WRONG`, () => {
      const r = checkFormula(claim, 'mu_x', { runs: 50 });
      expect(r.ok).toBe(false);
      expect(Number.isFinite(r.counterexample!.claimed)).toBe(false);
      expect(Number.isFinite(r.counterexample!.symbolic)).toBe(true);
    });
  }

  it('the right partial is still right (the test can tell the two apart)', () => {
    expect(checkFormula('2*(mu_y - mu_x*l)/B1*cs', 'mu_x', { params: 'central', runs: 50 }).ok).toBe(true);
  });

  it('CLI: check-formula "1/0" --wrt mu_x exits 1, WRONG', async () => {
    const r = await run(['check-formula', '1/0', '--wrt', 'mu_x', '--runs', '20']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^WRONG/m);
  });

  it.each([['1/0', /^Infinity$/], ['-1/0', /^-Infinity$/], ['0/0', /^NaN$/], ['mu_x*1e308*10', /^(Infinity|NaN)$/]])(
    'CLI: check-formula "%s" --json: finite figures, the claim spelt out in claimedValue, never null',
    async (claim, spelt) => {
      const r = await run(['check-formula', claim, '--wrt', 'mu_x', '--runs', '20', '--json']);
      expect(r.code).toBe(1);
      expect(r.out.replace(/"claimedValue":"[^"]*"/, '')).not.toMatch(/null|NaN|Infinity/);
      const j = JSON.parse(r.out) as { ok: boolean; counterexample: { claimed?: unknown; claimedValue?: unknown; symbolic: unknown; relativeError: unknown } };
      expect(j.ok).toBe(false);
      expect(j.counterexample.claimed).toBeUndefined();
      expect(j.counterexample.claimedValue).toMatch(spelt);
      expect(Number.isFinite(j.counterexample.symbolic)).toBe(true);
      expect(Number.isFinite(j.counterexample.relativeError)).toBe(true);
    },
  );
});

/** A textured pair, C x H x W, values in [0, scale]: y a noisy blend of x (so the exact gradient is far from zero). */
function pair(seed: number, C: number, H: number, W: number, scale: number): { x: Tensor; y: Tensor } {
  const r = lcg(seed);
  const n = C * H * W;
  const x = Float64Array.from({ length: n }, () => scale * r());
  const y = x.map((v) => Math.min(scale, Math.max(0, 0.6 * v + 0.4 * scale * r())));
  return { x: { shape: [C, H, W], data: x }, y: { shape: [C, H, W], data: y } };
}

/** A unit-norm direction from a seed. */
function direction(seed: number, n: number): Float64Array {
  const r = lcg(seed ^ 0x5bd1e995);
  const d = Float64Array.from({ length: n }, () => r() - 0.5);
  const dn = l2(d);
  return d.map((v) => v / dn);
}

const logUniform = (lo: number, hi: number): fc.Arbitrary<number> => uniform(Math.log10(lo), Math.log10(hi)).map((e) => 10 ** e);

const setting = fc.record({
  seed: fc.integer(),
  C: fc.integer({ min: 1, max: 2 }),
  H: fc.integer({ min: 12, max: 16 }),
  W: fc.integer({ min: 12, max: 17 }),
  preset: fc.constantFrom(...PRESETS),
  window: fc.constantFrom(undefined, 'gaussian' as const, 'box' as const),
  size: fc.constantFrom(undefined, 3, 5, 7, 11),
  padding: fc.constantFrom(undefined, 'same' as const, 'valid' as const, 'reflect' as const, 'mirror' as const, 'replicate' as const),
  k1: logUniform(1e-4, 0.1),
  k2: logUniform(1e-4, 0.1),
  dataRange: logUniform(1e-12, 1e6),
  /** The images' values lie in [0, scale]: independent of L, as a user's data may be (0..1 images at --data-range 1e-16). */
  scale: logUniform(1e-3, 1e6),
  wrt: fc.constantFrom('x' as const, 'y' as const),
  /** Relative sizes of the perturbations beyond rounding, and multiples of the allowance. */
  rel: logUniform(1e-3, 1),
  times: logUniform(1.01, 1e6),
});

describe('check: no match for a candidate beyond rounding, at any data range (fast-check search)', () => {
  it('exact + a perturbation above the allowance, or 1e-3 .. 1 relative where float32 resolves the gradient, or zero: never a match; every figure finite', () => {
    let resolvable = 0;
    fc.assert(
      fc.property(setting, (s) => {
        const { x, y } = pair(s.seed, s.C, s.H, s.W, s.scale);
        const options: SsimOptions = {
          preset: s.preset, dataRange: s.dataRange, k1: s.k1, k2: s.k2, downsample: 1,
          ...(s.window !== undefined ? { window: s.window } : {}), ...(s.size !== undefined ? { size: s.size } : {}), ...(s.padding !== undefined ? { padding: s.padding } : {}),
        };
        let e;
        try {
          e = evaluateSsim(x, y, options);
        } catch (err) {
          // options that do not fit the images (skimage's crop of a 'valid' map): not this test's concern
          expect(err).toBeInstanceOf(InputError);
          return;
        }
        const exact = s.wrt === 'x' ? e.gradX : e.gradY;
        const check = (candidate: ArrayLike<number>): CheckReport => checkGradient({ x, y, options, wrt: s.wrt, candidate, subsample: false }).report;
        let base: CheckReport;
        try {
          base = check(exact);
        } catch (err) {
          // a refusal (float32 cannot measure the floor here) is not a match; it must be a one-line InputError
          expect(err).toBeInstanceOf(InputError);
          return;
        }
        expect(base.verdict).toBe('match');
        const n = exact.length;
        const d = direction(s.seed, n);
        const p = Math.abs(s.seed) % n;
        const candidates: Array<[string, Float64Array]> = [
          ['L2 above the allowance', exact.map((v, i) => v + s.times * base.allowance.l2 * d[i]!)],
          ['one value above the max-abs allowance', exact.map((v, i) => (i === p ? v + s.times * base.allowance.maxAbs : v))],
        ];
        // float32 resolves SSIM's gradient where C1, C2 do not swamp the moments: k L within 10 x the values' scale
        const exactNorm = l2(exact);
        if (Math.max(s.k1, s.k2) * s.dataRange <= 10 * s.scale) {
          resolvable++;
          candidates.push(['zero', new Float64Array(n)]);
          for (const r of [s.rel, 1e-3]) candidates.push([`${r} relative`, exact.map((v, i) => v + r * exactNorm * d[i]!)]);
        }
        for (const [what, c] of candidates) {
          const r = check(c);
          expect(badNumbers(r), what).toEqual([]);
          expect(r.verdict, `${what}: ${JSON.stringify(s)}; floor ${r.roundingFloor.l2}, error ${r.l2Error}`).toBe('mismatch');
        }
      }),
      { numRuns: 30 },
    );
    // the oracle's branch ran (the search is not vacuous)
    expect(resolvable).toBeGreaterThan(5);
  }, 60_000);

  it('the floor does not grow as the data range shrinks: 0..1 images at L = 1e-16 have the floor of L = 1e-6, to a factor 2', () => {
    const { x, y } = pair(7, 1, 16, 16, 1);
    const floorAt = (L: number) => {
      const e = evaluateSsim(x, y, { dataRange: L });
      return checkGradient({ x, y, options: { dataRange: L }, wrt: 'x', candidate: e.gradX }).report.roundingFloor;
    };
    const small = floorAt(1e-16);
    const ref = floorAt(1e-6);
    expect(small.l2).toBeLessThan(2 * ref.l2);
    expect(small.relL2).toBeLessThan(1e-5);
  });
});

describe('check CLI: the all-zero gradient at a small data range', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ssim-grad-false-positive-'));
  const { x, y } = pair(3, 1, 16, 16, 1);
  const xPath = join(dir, 'x.npy');
  const yPath = join(dir, 'y.npy');
  const zero = join(dir, 'g0.npy');
  writeFileSync(xPath, formatNpy(x));
  writeFileSync(yPath, formatNpy(y));
  writeFileSync(zero, formatNpy({ shape: x.shape, data: new Float64Array(256) }));

  for (const L of ['1e-16', '1e-12', '1']) {
    it(`check g0.npy x.npy y.npy --data-range ${L}: MISMATCH, exit 1, and no known mistake named`, async () => {
      const r = await run(['check', zero, xPath, yPath, '--data-range', L, '--json']);
      expect(r.err).toBe('');
      expect(r.code).toBe(1);
      const report = JSON.parse(r.out) as CheckReport;
      expect(report.verdict).toBe('mismatch');
      expect(report.allowance.l2).toBeLessThan(1e-3 * l2(evaluateSsim(x, y, { dataRange: Number(L) }).gradX));
      // the candidate carries no information: it is zero, not "0 x" every known mistake
      expect(report.mistakes.filter((m) => m.matched !== false)).toEqual([]);
      expect(report.diagnosis[0]).toMatchObject({ kind: 'unexplained', message: expect.stringMatching(/the candidate is zero everywhere/) });
      // nor fitted by 0 x any of them, nor by 0 x the terms
      expect(report.mistakes.map((m) => m.scaled)).toEqual(report.mistakes.map(() => null));
      expect(report.diagnosis.find((d) => d.kind === 'terms')?.message).toMatch(/the candidate is zero everywhere/);
      const text = await run(['check', zero, xPath, yPath, '--data-range', L]);
      expect(text.code).toBe(1);
      expect(text.out).toMatch(/^verdict: MISMATCH/m);
      expect(text.out).not.toMatch(/0\.0+ x this mistake|after scaling by 0\.0/);
    });
  }

  it('a candidate within the allowance of zero (not zero) names no mistake either', () => {
    const e = evaluateSsim(x, y, {});
    const base = checkGradient({ x, y, options: {}, wrt: 'x', candidate: e.gradX }).report;
    const tiny = direction(5, 256).map((v) => v * 0.5 * FLOOR_ALLOWANCE * base.roundingFloor.l2);
    const r = checkGradient({ x, y, options: {}, wrt: 'x', candidate: tiny });
    expect(r.report.verdict).toBe('mismatch');
    expect(r.named).toBeNull();
    expect(r.report.mistakes.every((m) => m.matched === false)).toBe(true);
    expect(r.report.diagnosis[0]!.message).toMatch(/within the allowance of zero/);
  });
});
