/**
 * A boundary rule added to the table and nothing else (here 'periodic', circular padding, mocked
 * into src/field/boundary.ts) reaches every place that uses the rules: the options and the CLI's
 * --padding, the field graph and the generated TypeScript kernels, the C++ and CUDA kernels and
 * the libtorch binding, the derivation document and the checker's transpose mistakes.
 */
import { describe, expect, it, vi } from 'vitest';

vi.mock('../../src/field/boundary.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/field/boundary.js')>();
  const { ix } = await import('../../src/field/index-rule.js');
  const periodic: import('../../src/field/boundary.js').BoundaryRule = {
    pads: true,
    source: [ix.let('k', ix.mod(ix.add(ix.mod('j', 'n'), 'n'), 'n')), ix.return('k')],
    foldsBack: true,
    selfAdjoint: true, // a symmetric circulant matrix
    sketch: 'periodic: c d | a b c d | a b',
    help: 'circular',
    doc: { forward: 'periodic padding: the image repeats, $x_{-a} = x_{n-a}$', transpose: '$P^\\top$ adds every padded copy back onto the pixel it repeats' },
    mistake: "circular padding ('periodic')",
  };
  const rules = { ...real.BOUNDARY_RULES, periodic };
  return { ...real, BOUNDARY_RULES: rules, BOUNDARIES: Object.keys(rules) };
});

const { BOUNDARIES, boundaryIndex } = await import('../../src/field/index.js');
const { BOUNDARY_RULES } = await import('../../src/field/boundary.js');
const { resolveOptions, evaluateSsim } = await import('../../src/runtime/index.js');
const { ssimFast, ssimGradFast } = await import('../../src/runtime/fast.js');
const { describeOptions, parseArgs, SSIM_OPTION_SPECS, ssimOptionsFrom } = await import('../../src/cli/args.js');
const { emitCppHeader, emitCudaHeader, emitTorchBinding } = await import('../../src/emit/cpp.js');
const { KNOWN_MISTAKES } = await import('../../src/mistakes/ssim.js');
const { checkGradient } = await import('../../src/check/diagnose.js');
const { buildDerivation, lcg, randomImage } = await import('../../src/derive/build.js');
const { sourcesEverywhere } = await import('./source-cpp.js');
type Boundary = import('../../src/field/index.js').Boundary;

const PERIODIC = 'periodic' as Boundary;
const rand = lcg(18);
const x = randomImage(rand, [1, 1, 12, 13], 1);
const y = { shape: x.shape, data: x.data.map((v) => Math.min(1, Math.max(0, v + 0.2 * (rand() - 0.5)))) };
const options = { padding: PERIODIC, window: 'gaussian' as const, size: 5, sigma: 1 };

describe("a boundary rule added to src/field's table alone", () => {
  it('is a rule: BOUNDARIES lists it, boundaryIndex runs its program', () => {
    expect(BOUNDARIES).toEqual(['same', 'valid', 'reflect', 'mirror', 'replicate', 'periodic']);
    expect([-2, -1, 0, 4, 5, 6].map((j) => boundaryIndex(j, 5, PERIODIC))).toEqual([3, 4, 0, 4, 0, 1]);
  });

  it('the options and the CLI take it, and the help names it with its gloss', () => {
    expect(resolveOptions({ padding: PERIODIC }).padding).toBe('periodic');
    expect(ssimOptionsFrom(parseArgs(['--padding', 'periodic'], SSIM_OPTION_SPECS, 'value')).padding).toBe('periodic');
    expect(describeOptions(SSIM_OPTION_SPECS)).toContain(
      'boundary rule: same, valid, reflect, mirror, replicate, periodic (same = zero padding, reflect = scipy half-sample, mirror = torch reflect, periodic = circular)',
    );
  });

  it('the generated TypeScript kernels run it and agree with the field graph; the gradient matches central differences', () => {
    const e = evaluateSsim(x, y, options);
    const f = ssimGradFast(x, y, options);
    expect(Math.abs(f.ssim - e.ssim)).toBeLessThan(1e-14);
    for (let i = 0; i < x.data.length; i++) expect(Math.abs(f.gradX.data[i]! - e.gradX[i]!)).toBeLessThan(1e-13);
    // the corner and an edge pixel, where the padding reads across the image
    for (const p of [0, 12, 13 * 6]) {
      const h = 1e-5;
      const at = (d: number) => ssimFast({ shape: x.shape, data: x.data.map((v, i) => (i === p ? v + d : v)) }, y, options);
      expect(Math.abs((at(h) - at(-h)) / (2 * h) - e.gradX[p]!)).toBeLessThan(1e-8);
    }
    // and it is not another rule in disguise
    expect(Math.abs(evaluateSsim(x, y, { ...options, padding: 'reflect' }).ssim - e.ssim)).toBeGreaterThan(1e-6);
  });

  it('the C++ and CUDA kernels have it in the enum and source(), compiled and run as boundaryIndex reads; the binding names it', () => {
    expect(emitCppHeader()).toContain('enum class Boundary { same, valid, reflect, mirror, replicate, periodic };');
    // the header's boundaryIndex is printed from the rule's index program (src/kernel/index-rule.ts)
    expect(emitCppHeader()).toContain('  if (rule == Boundary::periodic) {\n    const long k = (j % n + n) % n;\n    return k;\n  }\n  return -1;\n}');
    // the CUDA programs' boundaryIndex too, and the programs' rule scalar names it
    const cuda = emitCudaHeader();
    expect(cuda).toContain('  if (rule == 5) {\n    const int k = (j % n + n) % n;\n    return k;\n  }\n  return -1;\n}');
    expect(cuda).toContain('int rule; // the boundary rule: its index in 0 same, 1 valid, 2 reflect, 3 mirror, 4 replicate, 5 periodic');
    const rows = sourcesEverywhere().filter((r) => r.rule === 'periodic');
    expect(rows.length).toBeGreaterThan(50);
    for (const r of rows) expect([r.cpp, r.cuda], `j ${r.j} n ${r.n}`).toEqual([r.ts, r.ts]);
    expect(emitTorchBinding(resolveOptions({ padding: PERIODIC }), 'test')).toContain('Boundary::periodic');
  }, 120_000);

  it('the derivation document describes it with its words', () => {
    const doc = buildDerivation('ssim-periodic', 'periodic', { padding: PERIODIC });
    const text = JSON.stringify(doc.blocks);
    expect(text).toContain(JSON.stringify(BOUNDARY_RULES[PERIODIC].doc.forward).slice(1, -1));
    expect(text).toContain(JSON.stringify(BOUNDARY_RULES[PERIODIC].doc.transpose).slice(1, -1));
  });

  it("the checker has its transpose mistake, and names it (and another rule's, under it)", () => {
    const mine = KNOWN_MISTAKES.find((m) => m.kind === 'boundary-transpose-periodic');
    expect(mine?.title).toBe("the window's transpose under circular padding ('periodic') instead of the forward's boundary");
    const named = (padding: Boundary, kind: string): string | undefined => {
      const opts = { ...options, padding };
      const e = evaluateSsim(x, y, opts);
      const ctx = { x, y, options: opts, e, wrt: 'x' as const };
      const candidate = KNOWN_MISTAKES.find((m) => m.kind === kind)!.build(ctx)!;
      return checkGradient({ x, y, options: opts, wrt: 'x', candidate, subsample: false }).named?.kind;
    };
    expect(named('same', 'boundary-transpose-periodic')).toBe('boundary-transpose-periodic');
    expect(named(PERIODIC, 'boundary-transpose-mirror')).toBe('boundary-transpose-mirror');
  });
});
