/**
 * The CLI under random input (fast-check): random option sets (valid, extreme and malformed),
 * random .npy headers and random candidate contents, for value, grad, check and trace. Whatever it
 * is given, the CLI keeps its promises: the exit code is 0, 1 or 2 (never 3, an internal error);
 * exit 2 says one line on stderr and nothing on stdout; --json prints exactly one JSON object;
 * no report carries NaN, Infinity or a null where a number belongs; and a check's verdict is
 * "match" only when the candidate is finite and within the allowance of the exact gradient.
 *
 * Runs in process (main with captured streams), so a run costs the arithmetic only.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { formatNpy, parseNpy } from '../../src/io/index.js';

const DIR = mkdtempSync(join(tmpdir(), 'ssim-grad-fuzz-'));
afterAll(() => rmSync(DIR, { recursive: true, force: true }));

const [C, H, W] = [2, 13, 15];
/** A fixed textured pair (the inputs do not depend on the fast-check seed; the options and files do). */
function pair(): { x: Float64Array; y: Float64Array } {
  let s = 12345;
  const r = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const x = Float64Array.from({ length: C * H * W }, () => r());
  const y = x.map((v) => Math.min(1, Math.max(0, 0.8 * v + 0.2 * r())));
  return { x, y };
}
const { x: X_DATA, y: Y_DATA } = pair();
const X = join(DIR, 'x.npy');
const Y = join(DIR, 'y.npy');
writeFileSync(X, formatNpy({ shape: [C, H, W], data: X_DATA }));
writeFileSync(Y, formatNpy({ shape: [C, H, W], data: Y_DATA }));

interface Run {
  code: number;
  out: string[];
  err: string[];
}
/** Exit codes seen, by command: the properties must reach verdicts, not only refusals, to test anything. */
const seen: Record<string, number[]> = {};
async function run(argv: readonly string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  (seen[argv[0]!] ??= []).push(code);
  return { code, out, err };
}

/** Paths of non-finite numbers in a parsed report, and of nulls other than the documented absent ones (a mistake's `scaled`, a trace's `mistake` and `differingTerm`). */
function badValues(v: unknown, path = ''): string[] {
  if (v === null) return /\.(scaled|mistake|differingTerm)$/.test(path) ? [] : [`${path} = null`];
  if (typeof v === 'number') return Number.isFinite(v) ? [] : [`${path} = ${v}`];
  if (Array.isArray(v)) return v.flatMap((e, i) => badValues(e, `${path}[${i}]`));
  if (typeof v === 'object') return Object.entries(v as Record<string, unknown>).flatMap(([k, e]) => badValues(e, `${path}.${k}`));
  return [];
}

/** The promises every run keeps, whatever its input. */
function expectKept(r: Run, argv: readonly string[], json: boolean): void {
  const what = `ssim-grad ${argv.join(' ')}\nstdout: ${r.out.join('\n').slice(0, 400)}\nstderr: ${r.err.join('\n')}`;
  expect([0, 1, 2], what).toContain(r.code);
  if (r.code === 2) {
    expect(r.err.length, what).toBe(1);
    expect(r.err[0]!.includes('\n'), what).toBe(false);
    expect(r.err[0]!.length, what).toBeGreaterThan(0);
    expect(r.out, what).toEqual([]);
    return;
  }
  const text = r.out.join('\n');
  if (json) {
    expect(r.out.length, what).toBe(1);
    const parsed: unknown = JSON.parse(r.out[0]!);
    expect(badValues(parsed), what).toEqual([]);
  } else {
    expect(/\bNaN\b|Infinity|\bnull\b|undefined/.test(text), what).toBe(false);
  }
}

const decimal = (lo: number, hi: number): fc.Arbitrary<string> =>
  fc.double({ min: Math.log10(lo), max: Math.log10(hi), noNaN: true }).map((e) => (10 ** e).toPrecision(3));

/** One option, as flags: mostly sensible values, some extreme, some malformed. */
const optionArb: fc.Arbitrary<readonly string[]> = fc.oneof(
  fc.constantFrom('pytorch-ssim', 'pytorch-msssim', 'skimage', 'tf', 'matlab', 'nope').map((p) => ['--preset', p]),
  fc.constantFrom('gaussian', 'box', 'round').map((w) => ['--window', w]),
  fc.constantFrom('1', '3', '5', '7', '11', '15', '4', '0', '-3', '999999999', '1e3', 'x').map((s) => ['--size', s]),
  fc.oneof(decimal(1e-3, 10), fc.constantFrom('0', '-1', '1e9', 'nan')).map((s) => ['--sigma', s]),
  fc.oneof(decimal(1e-6, 1), fc.constantFrom('0', '1e20', '1e100', '-0.01', 'Infinity')).map((s) => ['--k1', s]),
  fc.oneof(decimal(1e-6, 1), fc.constantFrom('0', '1e20', '1e100', '-0.03')).map((s) => ['--k2', s]),
  fc.oneof(decimal(1e-12, 1e6), fc.constantFrom('0', '-1', '1e-300', '1e300')).map((s) => ['--data-range', s]),
  fc.constantFrom('same', 'valid', 'reflect', 'mirror', 'replicate', 'circular', 'wrap').map((p) => ['--padding', p]),
  fc.constantFrom(['--sample-covariance'], ['--no-sample-covariance'], ['--skip-short-axes'], ['--gaussian']),
  fc.constantFrom('0', '1', '2', '7', '-1', '100').map((c) => ['--crop', c]),
  fc.constantFrom('auto', '1', '2', '0', '3.5').map((d) => ['--downsample', d]),
  fc.constantFrom('mean', 'sum', 'max').map((r) => ['--reduction', r]),
  fc.constantFrom(
    ['--variant', 'dssim'], ['--variant', 'ms-ssim'], ['--variant', 'wang'], ['--variant', '3dgs-loss'], ['--variant', 'ssim'],
    ['--variant', '3dgs-loss', '--lambda', '0.3'], ['--variant', 'ms-ssim', '--weights', '0.5,0.5'], ['--variant', 'ms-ssim', '--weights', ','],
    ['--variant', 'wang', '--alpha', '2'], ['--variant', 'dssim', '--dssim-divisor', '1'],
  ),
);
const optionsArb = fc.uniqueArray(optionArb, { maxLength: 4, selector: (o) => o[0] }).map((os) => os.flat());

/** A candidate's header: numpy's, or one of the ways a header goes wrong. */
const headerArb = fc.oneof(
  { arbitrary: fc.constantFrom('ok', 'f4'), weight: 5 },
  { arbitrary: fc.constantFrom('u1', 'i4', 'big-endian', 'fortran', 'shape-0x', 'shape-float', 'wrong-shape', 'garbage', 'newline', 'truncated', 'extra-data'), weight: 4 },
);
/** A candidate's contents relative to the exact gradient. */
const contentArb = fc.oneof(
  { arbitrary: fc.constant({ kind: 'exact' as const }), weight: 2 },
  { arbitrary: fc.double({ min: -12, max: 1, noNaN: true }).map((e) => ({ kind: 'relative' as const, size: 10 ** e })), weight: 2 },
  { arbitrary: fc.constantFrom('zero', 'huge-pixel', 'nan-pixel', 'inf-pixel', 'tiny', 'scaled-2').map((kind) => ({ kind })), weight: 2 },
);

function npyBytes(shape: readonly number[], data: Float64Array, header: string): Uint8Array {
  const ok = formatNpy({ shape, data });
  const text = new TextDecoder().decode(ok.subarray(10, 10 + new DataView(ok.buffer).getUint16(8, true)));
  const body = ok.subarray(10 + text.length);
  const rewrite = (h: string, bytes: Uint8Array = body): Uint8Array => {
    let hh = h.replace(/\s*\n$/, '');
    hh += ' '.repeat((64 - ((10 + hh.length + 1) % 64)) % 64) + '\n';
    const out = new Uint8Array(10 + hh.length + bytes.length);
    out.set(ok.subarray(0, 8), 0);
    new DataView(out.buffer).setUint16(8, hh.length, true);
    out.set(Array.from(hh, (c) => c.charCodeAt(0) & 0xff), 10);
    out.set(bytes, 10 + hh.length);
    return out;
  };
  const dims = `(${shape.join(', ')})`;
  switch (header) {
    case 'f4': return formatNpy({ shape, data: Float32Array.from(data) });
    case 'u1': return rewrite(text.replace("'<f8'", "'|u1'"), body.subarray(0, data.length));
    case 'i4': return rewrite(text.replace("'<f8'", "'<i4'"), body.subarray(0, 4 * data.length));
    case 'big-endian': return rewrite(text.replace("'<f8'", "'>f8'"));
    case 'fortran': return rewrite(text.replace('False', 'True'));
    case 'shape-0x': return rewrite(text.replace(dims, `(0x${shape[0]}, ${shape.slice(1).join(', ')})`));
    case 'shape-float': return rewrite(text.replace(dims, `(${shape[0]}.0, ${shape.slice(1).join(', ')})`));
    case 'wrong-shape': return rewrite(text.replace(dims, `(${shape[0]}, ${shape[1]! + 1}, ${shape[2]})`), new Uint8Array(8 * data.length + 8 * shape[0]! * shape[2]!));
    case 'garbage': return rewrite(text.replace(/}\s*\n?$/, '} junk'));
    case 'newline': return rewrite(text.replace("'fortran_order'", "\n'fortran_order'"));
    case 'truncated': return ok.subarray(0, ok.length - 8);
    case 'extra-data': {
      const more = new Uint8Array(ok.length + 8);
      more.set(ok);
      return more;
    }
    default: return ok;
  }
}

function candidateData(exact: Float64Array | undefined, content: { kind: string; size?: number }, rnd: number[]): Float64Array {
  const n = C * H * W;
  const base = exact ?? Float64Array.from({ length: n }, (_, i) => (rnd[i % rnd.length]! - 0.5) * 1e-3);
  let max = 0;
  for (const v of base) max = Math.max(max, Math.abs(v));
  const c = Float64Array.from(base);
  switch (content.kind) {
    case 'relative':
      for (let i = 0; i < n; i++) c[i] = c[i]! + content.size! * max * (rnd[i % rnd.length]! - 0.5);
      break;
    case 'zero': c.fill(0); break;
    case 'huge-pixel': c[rnd.length % n] = 1e300; break;
    case 'nan-pixel': c[3] = NaN; break;
    case 'inf-pixel': c[5] = -Infinity; break;
    case 'tiny': for (let i = 0; i < n; i++) c[i] = c[i]! * 1e-30; break;
    case 'scaled-2': for (let i = 0; i < n; i++) c[i] = 2 * c[i]!; break;
  }
  return c;
}

describe('the CLI under random input', () => {
  it('value and grad: exit 0 or 2, one line on 2, finite output, --json one object', async () => {
    await fc.assert(
      fc.asyncProperty(optionsArb, fc.constantFrom('value', 'grad'), fc.boolean(), fc.constantFrom('x', 'y'), async (opts, command, json, wrt) => {
        const out = join(DIR, 'g.npy');
        rmSync(out, { force: true });
        const argv = [command, X, Y, ...opts, ...(command === 'grad' ? ['--out', out, '--wrt', wrt] : []), ...(json ? ['--json'] : [])];
        const r = await run(argv);
        expectKept(r, argv, json);
        expect(r.code === 1, argv.join(' ')).toBe(false);
        if (command === 'grad') {
          if (r.code === 0) {
            const g = parseNpy(readFileSync(out), out);
            expect(g.data.every((v) => Number.isFinite(v)), argv.join(' ')).toBe(true);
          } else expect(() => readFileSync(out), `nothing written on exit ${r.code}`).toThrow();
        }
      }),
      { numRuns: 120 },
    );
  });

  it('check: exit 0, 1 or 2; finite reports; a match only within the allowance; any header and any contents', async () => {
    await fc.assert(
      fc.asyncProperty(
        optionsArb, headerArb, contentArb, fc.boolean(), fc.constantFrom('x', 'y'), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 7, maxLength: 7 }),
        async (opts, header, content, json, wrt, rnd) => {
          const exactPath = join(DIR, 'exact.npy');
          rmSync(exactPath, { force: true });
          const g = await run(['grad', X, Y, ...opts, '--wrt', wrt, '--out', exactPath]);
          const exact = g.code === 0 ? (parseNpy(readFileSync(exactPath), exactPath).data as Float64Array) : undefined;
          const cand = candidateData(exact, content, rnd);
          const candPath = join(DIR, 'cand.npy');
          writeFileSync(candPath, npyBytes([C, H, W], cand, header));
          const argv = ['check', candPath, X, Y, ...opts, '--wrt', wrt, '--json'];
          const r = await run(argv);
          expectKept(r, argv, true);
          if (r.code === 2) return;
          const report = JSON.parse(r.out[0]!) as { verdict: string; maxAbsError: number; allowance: { maxAbs: number; l2: number }; l2Error: number };
          expect(r.code, argv.join(' ')).toBe(report.verdict === 'match' ? 0 : 1);
          if (report.verdict === 'match') {
            // a match needs a finite candidate within the allowance (recomputed here from the files)
            expect(cand.every((v) => Number.isFinite(v)), argv.join(' ')).toBe(true);
            expect(report.maxAbsError).toBeLessThanOrEqual(report.allowance.maxAbs);
            if (exact !== undefined && header === 'ok') {
              let maxAbs = 0;
              for (let i = 0; i < cand.length; i++) maxAbs = Math.max(maxAbs, Math.abs(cand[i]! - exact[i]!));
              expect(maxAbs, argv.join(' ')).toBeLessThanOrEqual(report.allowance.maxAbs * (1 + 1e-9));
              // a zero candidate never matches a gradient that float32 can tell from zero
              if (content.kind === 'zero') {
                let maxExact = 0;
                for (const v of exact) maxExact = Math.max(maxExact, Math.abs(v));
                expect(maxExact, `zero candidate matched: ${argv.join(' ')}`).toBeLessThanOrEqual(report.allowance.maxAbs);
              }
            }
          }
          if (!json) {
            // the text report of the same run is as finite
            const t = await run(argv.filter((a) => a !== '--json'));
            expectKept(t, argv, false);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('trace: exit 0 or 2, finite figures, with and without a candidate', async () => {
    await fc.assert(
      fc.asyncProperty(
        optionsArb, fc.boolean(), fc.integer({ min: 0, max: C - 1 }), fc.integer({ min: 0, max: H - 1 }), fc.integer({ min: 0, max: W - 1 }), contentArb, headerArb,
        async (opts, json, c, i, j, content, header) => {
          const extra: string[] = [];
          if (content.kind !== 'exact') {
            const candPath = join(DIR, 'tcand.npy');
            writeFileSync(candPath, npyBytes([C, H, W], candidateData(undefined, content, [0.1, 0.7, 0.3]), header));
            extra.push('--candidate', candPath);
          }
          const argv = ['trace', X, Y, '--pixel', `${c},${i},${j}`, ...opts, ...extra, ...(json ? ['--json'] : [])];
          const r = await run(argv);
          expectKept(r, argv, json);
          expect(r.code === 1, argv.join(' ')).toBe(false);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('the runs above reached results and verdicts, not only refusals', () => {
    const share = (command: string, codes: number[]): number => (seen[command] ?? []).filter((c) => codes.includes(c)).length / Math.max(1, (seen[command] ?? []).length);
    // about half the option sets hold one bad or conflicting value; the rest must run
    expect(share('value', [0])).toBeGreaterThan(0.2);
    expect(share('grad', [0])).toBeGreaterThan(0.2);
    expect(share('check', [0, 1])).toBeGreaterThan(0.15);
    expect(share('check', [0])).toBeGreaterThan(0.01);
    expect(share('check', [1])).toBeGreaterThan(0.05);
    expect(share('trace', [0])).toBeGreaterThan(0.15);
  });
});
