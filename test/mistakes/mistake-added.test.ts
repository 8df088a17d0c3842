/**
 * A known mistake added to src/mistakes alone (here "the mean's path dropped": d S/d mu taken as 0,
 * so W^T g_mu is missing from the chain rule; mocked into src/mistakes/ssim.ts's SSIM_SPECS) reaches
 * every place that uses the library: plain SSIM's KNOWN_MISTAKES, every variant's library (as
 * `<variant>/<kind>`), and the checker, which names it for a candidate that makes it. Nothing outside
 * src/mistakes is edited (README "Where things live").
 */
import { describe, expect, it, vi } from 'vitest';

const KIND = 'mean-path-dropped';

vi.mock('../../src/mistakes/ssim.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/mistakes/ssim.js')>();
  const { momentPartials, known, wordsOf } = await import('../../src/mistakes/rewrite.js');
  const { mul } = await import('../../src/expr/index.js');
  const meanPathDropped: import('../../src/mistakes/rewrite.js').MistakeSpec = {
    kind: KIND,
    title: "the means' path dropped: W^T g_mu missing",
    explanation: 'The candidate differentiates S through the second moments only, as if the means did not depend on the pixels.',
    correctFormula: real.CORRECT,
    scaleOnly: () => false,
    plan: (a) =>
      a.moments.length === 0 ? null : { steps: [momentPartials(a, (arg, P) => (arg === 'mu_x' || arg === 'mu_y' ? mul(0, P(arg)) : undefined))] },
  };
  // what adding it to the file means: one more entry of SSIM_SPECS, from which KNOWN_MISTAKES is made
  const SSIM_SPECS = [...real.SSIM_SPECS, meanPathDropped];
  const KNOWN_MISTAKES = [...real.KNOWN_MISTAKES, known(meanPathDropped, wordsOf(meanPathDropped), false)];
  return { ...real, SSIM_SPECS, KNOWN_MISTAKES };
});

const { KNOWN_MISTAKES } = await import('../../src/mistakes/ssim.js');
const { variantMistakes } = await import('../../src/mistakes/assemble.js');
const { checkGradient } = await import('../../src/check/diagnose.js');
const { evaluateSsim } = await import('../../src/runtime/index.js');
const { lcg, randomImage } = await import('../../src/derive/build.js');

const rand = lcg(7);
const x = randomImage(rand, [1, 2, 14, 15], 1);
const y = { shape: x.shape, data: x.data.map((v) => Math.min(1, Math.max(0, v + 0.25 * (rand() - 0.5)))) };
const options = { window: 'gaussian' as const, size: 7, sigma: 1.5, padding: 'mirror' as const };

describe("a known mistake added to src/mistakes' library alone", () => {
  it("is in plain SSIM's library and in every variant's, under the variant's name", () => {
    expect(KNOWN_MISTAKES.map((m) => m.kind)).toContain(KIND);
    expect(variantMistakes('ms-ssim').map((m) => m.kind)).toContain(`ms-ssim/${KIND}`);
    expect(variantMistakes('wang').map((m) => m.kind)).toContain(`wang/${KIND}`);
  });

  it('the checker names it for a candidate that makes it, and not for the exact gradient', () => {
    const e = evaluateSsim(x, y, options);
    const mistake = KNOWN_MISTAKES.find((m) => m.kind === KIND)!;
    const candidate = mistake.build({ x, y, options, e, wrt: 'x' })!;
    // the rewrite changes the gradient (it is not the exact one in disguise)
    let diff = 0;
    for (let i = 0; i < candidate.length; i++) diff = Math.max(diff, Math.abs(candidate[i]! - e.gradX[i]!));
    expect(diff).toBeGreaterThan(1e-6);
    const named = checkGradient({ x, y, options, wrt: 'x', candidate, subsample: false });
    expect(named.named?.kind).toBe(KIND);
    expect(named.named?.title).toBe("the means' path dropped: W^T g_mu missing");
    const exact = checkGradient({ x, y, options, wrt: 'x', candidate: e.gradX, subsample: false });
    expect(exact.named?.kind).toBeUndefined();
  });
});
