/** --variant on value and grad: the value field, the gradient written, and bad variant options. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTensor } from '../../src/io/index.js';
import { evaluateVariant } from '../../src/runtime/variants.js';
import { cli, EXAMPLE_X, EXAMPLE_Y } from '../support/cli.js';

describe('ssim-grad value/grad --variant', () => {
  it('dssim: value is (1 - ssim)/2 beside ssim, and grad writes its gradient', () => {
    const v = JSON.parse(cli(['value', EXAMPLE_X, EXAMPLE_Y, '--variant', 'dssim', '--json']).stdout);
    expect(Object.keys(v).sort()).toEqual(['ssim', 'value', 'variant']);
    expect(v.variant).toBe('dssim');
    expect(v.value).toBeCloseTo((1 - v.ssim) / 2, 15);
    const out = join(mkdtempSync(join(tmpdir(), 'ssim-grad-v-')), 'g.npy');
    const r = cli(['grad', EXAMPLE_X, EXAMPLE_Y, '--variant', '3dgs-loss', '--lambda', '0.5', '--out', out, '--json']);
    expect(r.status).toBe(0);
    const lib = evaluateVariant(readTensor(EXAMPLE_X), readTensor(EXAMPLE_Y), { variant: '3dgs-loss', lambda: 0.5 });
    expect(JSON.parse(r.stdout)).toEqual({ ssim: lib.ssim, value: lib.value, out });
    expect(Array.from(readTensor(out).data)).toEqual(Array.from(lib.gradX));
  });

  it('bad variant options exit 2 naming the option', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--variant', 'ms-ssim'], /MS-SSIM with 5 scales and a 11-tap window needs images larger than 160/],
      [['--variant', 'fancy'], /--variant: got 'fancy'/],
      [['--variant', 'ms-ssim', '--weights', 'a,b'], /--weights: got 'a,b', expected comma-separated numbers/],
      [['--variant', 'dssim', '--dssim-divisor', '3'], /dssimDivisor \(--dssim-divisor\): got 3, expected 1 or 2/],
    ];
    for (const [args, message] of cases) {
      const r = cli(['value', EXAMPLE_X, EXAMPLE_Y, ...args]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});
