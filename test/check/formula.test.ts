/** check-formula: right partials pass, the seed-style one fails with a counterexample, bad input is an InputError. */
import { describe, expect, it } from 'vitest';
import { checkFormula, formatFormulaResult } from '../../src/check/formula.js';
import { InputError } from '../../src/field/index.js';

describe('right partials pass', () => {
  it.each([
    ['2*l/B2', 'm_xy', undefined],
    ['-S/B2', 'm_xx', undefined],
    ['-S/B2', 'var_x', undefined],
    ['2*l/B2', 'cov', undefined],
    ['2*(mu_y - mu_x*l)/B1*cs', 'mu_x', 'central'],
    // the raw g_mu: the central one plus the means' share of var_x and cov
    ['2*(mu_y - mu_x*l)/B1*cs + 2*mu_x*S/B2 - 2*mu_y*l/B2', 'mu_x', undefined],
    ['((2*mu_y*(2*cov + C2))*B1*B2 - A1*A2*2*mu_x*B2) / (B1*B2)^2', 'mu_x', 'central'],
    ['A2/(B1*B2) - S/B1', 'C1', undefined],
    ['l/B2 - S/B2', 'C2', undefined],
  ])('%s is d S / d %s (params %s)', (expr, wrt, params) => {
    const r = checkFormula(expr, wrt, { params, runs: 300 });
    expect(r.ok).toBe(true);
    expect(formatFormulaResult(r)).toMatch(/^RIGHT/m);
  });

  it('with sample covariance, the raw partial carries c_n', () => {
    expect(checkFormula('-c * S/B2'.replace('c *', '49/48 *'), 'm_xx', { sampleCovarianceNP: 49, runs: 200 }).ok).toBe(true);
    expect(checkFormula('-S/B2', 'm_xx', { sampleCovarianceNP: 49, runs: 200 }).ok).toBe(false);
  });
});

describe('wrong partials fail with a counterexample', () => {
  it("the seed's dS/dmu_x (var and cov held fixed) is not the raw partial the chain rule needs", () => {
    const r = checkFormula('2*(mu_y - mu_x*l)/B1*cs', 'mu_x', { runs: 300, seed: 42 });
    expect(r.ok).toBe(false);
    expect(r.params).toBe('raw');
    const c = r.counterexample!;
    expect(Math.abs(c.claimed - c.symbolic)).toBeGreaterThan(1e-9 * Math.abs(c.symbolic));
    const text = formatFormulaResult(r);
    expect(text).toMatch(/^WRONG/m);
    expect(text).toContain(`claimed  ${c.claimed}`);
    expect(text).toContain(`symbolic ${c.symbolic}`);
    expect(text).toMatch(/--params central/);
  });

  it('a sign slip fails', () => {
    expect(checkFormula('S/B2', 'var_x', { runs: 100 }).ok).toBe(false);
  });
});

describe('bad input', () => {
  it.each([
    ['foo(mu_x)', 'mu_x', /^EXPR: unsupported function 'foo'/],
    ['mu_x mod 2', 'mu_x', /^EXPR: unsupported operator 'mod'/],
    ['mu_x +', 'mu_x', /^EXPR: cannot parse/],
    ['2*q', 'mu_x', /^EXPR: unknown variable 'q'/],
    ['mu_x', 'sigma', /^--wrt: got 'sigma'/],
  ])('%s --wrt %s', (expr, wrt, message) => {
    expect(() => checkFormula(expr, wrt)).toThrow(InputError);
    expect(() => checkFormula(expr, wrt)).toThrow(message);
  });

  it('a variable that the parameterisation does not have', () => {
    expect(() => checkFormula('1', 'var_x', { params: 'raw' })).toThrow(/^--params: raw/);
    expect(() => checkFormula('1', 'm_xx', { params: 'central' })).toThrow(/^--params: central/);
  });
});

describe('the library validates its options like the CLI', () => {
  it('an unknown key, non-object options and a null formula are InputErrors naming what is wrong', () => {
    expect(() => checkFormula('mu_x', 'mu_x', { runz: 5 } as never)).toThrow(new InputError("options: unknown key 'runz', expected one of params, sampleCovarianceNP, runs, seed"));
    expect(() => checkFormula('mu_x', 'mu_x', 7 as never)).toThrow(/^options: got 7, expected an object/);
    expect(() => checkFormula(null as never, 'mu_x')).toThrow(new InputError('EXPR: got null, expected a formula as a string'));
  });
});
