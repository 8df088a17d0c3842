/** The CLI's variant flags and --help come from the registry's declarations, not from a list of its own. */
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { parseArgs, VARIANT_OPTION_SPECS, variantOptionsFrom } from '../../src/cli/args.js';
import { flagOf } from '../../src/variants/define.js';
import { BUILT_IN_VARIANTS, VARIANT_NAMES } from '../../src/variants/registry.js';

describe('variant flags from the registry', () => {
  it('every built-in option is a flag with its declaration\'s help and default, beside --variant and --variant-file', () => {
    const expected = ['variant', 'variant-file'];
    for (const d of BUILT_IN_VARIANTS) {
      for (const [key, o] of Object.entries(d.options ?? {})) {
        const flag = flagOf(key, o);
        expected.push(flag);
        expect(VARIANT_OPTION_SPECS[flag]).toEqual({ value: true, help: o.help, default: Array.isArray(o.default) ? o.default.join(',') : String(o.default) });
      }
    }
    expect(Object.keys(VARIANT_OPTION_SPECS).sort()).toEqual(expected.sort());
  });

  it('--help lists every built-in variant with its summary', async () => {
    let text = '';
    expect(await main(['--help'], { out: (s) => (text += s) })).toBe(0);
    for (const d of BUILT_IN_VARIANTS) expect(text).toContain(`  ${d.name.padEnd(15)} ${d.summary}`);
    expect(text).toContain(`what to compute: ${VARIANT_NAMES.join(', ')}`);
  });

  it('each flag is read as its kind says and lands at its key', () => {
    const parsed = parseArgs(['--variant', 'wang', '--alpha', '2', '--beta', '0.5'], VARIANT_OPTION_SPECS, 'value');
    expect(variantOptionsFrom(parsed)).toMatchObject({ variant: 'wang', alpha: 2, beta: 0.5 });
    const ms = parseArgs(['--variant', 'ms-ssim', '--weights', '0.6, 0.4'], VARIANT_OPTION_SPECS, 'value');
    expect(variantOptionsFrom(ms)).toMatchObject({ variant: 'ms-ssim', weights: [0.6, 0.4] });
    const d = parseArgs(['--variant', 'dssim', '--dssim-divisor', '1'], VARIANT_OPTION_SPECS, 'value');
    expect(variantOptionsFrom(d)).toMatchObject({ variant: 'dssim', dssimDivisor: 1 });
  });
});
