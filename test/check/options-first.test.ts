/** check judges its options before it runs the candidate: a bad option is reported as the option's fault. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cli, EXAMPLE_X, EXAMPLE_Y } from '../support/cli.js';

it('a bad variant option exits 2 naming the option, before a candidate module runs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ssim-grad-opt-'));
  const mod = join(dir, 'throws.mjs');
  writeFileSync(mod, "export function gradient() { throw new Error('the candidate ran'); }\n");
  const r = cli(['check', mod, EXAMPLE_X, EXAMPLE_Y, '--variant', '3dgs-loss', '--lambda', '2']);
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/lambda \(--lambda\): got 2, expected a number in \[0, 1\]/);
  expect(r.stderr).not.toMatch(/the candidate ran/);
});
