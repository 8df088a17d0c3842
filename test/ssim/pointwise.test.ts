/** S and its partials: one shared graph, matching the closed forms of DESIGN.md. */
import { uniform } from '../support/uniform.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dagSize, evaluate, type Env } from '../../src/expr/index.js';
import { pointwiseSsim } from '../../src/model/pointwise.js';

/** Random window statistics that a real pair of windows could produce (variances >= 0, |cov| <= sd sd). */
const statistics = fc
  .record({
    mu_x: uniform(0, 1),
    mu_y: uniform(0, 1),
    sd_x: uniform(0, 0.5),
    sd_y: uniform(0, 0.5),
    rho: uniform(-1, 1),
    L: fc.constantFrom(1, 255),
    c_n: fc.constantFrom(1, 49 / 48, 121 / 120),
  })
  .map(({ mu_x, mu_y, sd_x, sd_y, rho, L, c_n }) => {
    // statistics in units of L, raw moments as the window would give them (with var = c_n (m - mu^2))
    const mx = mu_x * L, my = mu_y * L, vx = (sd_x * L) ** 2, vy = (sd_y * L) ** 2, cv = rho * sd_x * sd_y * L * L;
    return {
      mu_x: mx, mu_y: my,
      m_xx: vx / c_n + mx * mx, m_yy: vy / c_n + my * my, m_xy: cv / c_n + mx * my,
      C1: (0.01 * L) ** 2, C2: (0.03 * L) ** 2, c_n,
    } satisfies Env;
  });

/** The closed forms, written out by hand from DESIGN.md (l = A1/B1, cs = A2/B2). */
function closedForms(e: Env) {
  const { mu_x, mu_y, m_xx, m_yy, m_xy, C1, C2, c_n } = e as Record<string, number>;
  const vx = c_n! * (m_xx! - mu_x! * mu_x!), vy = c_n! * (m_yy! - mu_y! * mu_y!), cv = c_n! * (m_xy! - mu_x! * mu_y!);
  const A1 = 2 * mu_x! * mu_y! + C1!, B1 = mu_x! ** 2 + mu_y! ** 2 + C1!, A2 = 2 * cv + C2!, B2 = vx + vy + C2!;
  const S = (A1 * A2) / (B1 * B2);
  return {
    S,
    g_mu: S * ((2 * mu_y!) / A1 - (2 * mu_x!) / B1 - (2 * c_n! * mu_y!) / A2 + (2 * c_n! * mu_x!) / B2),
    g_xx: (-c_n! * S) / B2,
    g_xy: (2 * c_n! * S) / A2,
    // a classic wrong partial: variances and covariance treated as independent of the means
    g_mu_wrong: S * ((2 * mu_y!) / A1 - (2 * mu_x!) / B1),
    scale: Math.abs(S) * (Math.abs(2 * mu_y! / A1) + Math.abs(2 * mu_x! / B1) + Math.abs(2 * c_n! * mu_y! / A2) + Math.abs(2 * c_n! * mu_x! / B2)),
  };
}

describe('pointwise SSIM', () => {
  const p = pointwiseSsim();

  it('builds S and its three partials into one shared graph of bounded size', () => {
    const together = dagSize([p.S, p.partialsX.mu, p.partialsX.sq, p.partialsX.cross]);
    const apart = dagSize([p.S]) + dagSize([p.partialsX.mu]) + dagSize([p.partialsX.sq]) + dagSize([p.partialsX.cross]);
    console.log(`S alone: ${dagSize([p.S])} nodes; S with its three partials: ${together} nodes (${apart} if nothing were shared)`);
    expect(together).toBeLessThanOrEqual(48);
    expect(together).toBeLessThan(apart / 2);
    expect(pointwiseSsim().S).toBe(p.S); // interning: building again gives the same nodes
  });

  it('matches the closed forms at random statistics', () => {
    fc.assert(
      fc.property(statistics, (e) => {
        const c = closedForms(e);
        const tol = (v: number): number => 1e-12 * (1 + Math.abs(v) + c.scale);
        expect(Math.abs(evaluate(p.S, e) - c.S)).toBeLessThanOrEqual(tol(c.S));
        expect(Math.abs(evaluate(p.partialsX.mu, e) - c.g_mu)).toBeLessThanOrEqual(tol(c.g_mu));
        expect(Math.abs(evaluate(p.partialsX.sq, e) - c.g_xx)).toBeLessThanOrEqual(tol(c.g_xx));
        expect(Math.abs(evaluate(p.partialsX.cross, e) - c.g_xy)).toBeLessThanOrEqual(tol(c.g_xy));
      }),
      { numRuns: 1000 },
    );
  });

  it('catches a hand-made wrong partial (means and variances treated as independent)', () => {
    let caught = 0;
    for (const e of fc.sample(statistics, { numRuns: 200, seed: 42 })) {
      const c = closedForms(e);
      const ours = evaluate(p.partialsX.mu, e);
      if (Math.abs(ours - c.g_mu_wrong) > 1e-6 * (1 + Math.abs(ours))) caught++;
    }
    expect(caught).toBeGreaterThan(190);
  });

  it('is symmetric: the y partials are the x partials with x and y swapped', () => {
    fc.assert(
      fc.property(statistics, (e) => {
        const swapped = { ...e, mu_x: e.mu_y, mu_y: e.mu_x, m_xx: e.m_yy, m_yy: e.m_xx };
        expect(evaluate(p.partialsY.mu, e)).toBeCloseTo(evaluate(p.partialsX.mu, swapped), 10);
        expect(evaluate(p.partialsY.sq, e)).toBeCloseTo(evaluate(p.partialsX.sq, swapped), 10);
      }),
      { numRuns: 200 },
    );
  });
});
