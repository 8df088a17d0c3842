/**
 * The README's examples are true: every `$ npx ssim-grad ...` line in it runs (from the repository
 * root) and prints what the README shows. The README may show an excerpt: its lines must appear in
 * the output in order; a line "..." stands for lines left out.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from './support/cli.js';

const ROOT = join(import.meta.dirname, '..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

interface Example {
  args: string[];
  shown: string[];
}

function examples(): Example[] {
  const out: Example[] = [];
  for (const block of readme.matchAll(/```sh\n([\s\S]*?)```/g)) {
    const lines = block[1]!.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const m = /^\$ npx ssim-grad (.*)$/.exec(lines[i]!);
      if (m === null) continue;
      const shown: string[] = [];
      for (let j = i + 1; j < lines.length && !lines[j]!.startsWith('$ '); j++) if (lines[j]!.trim() !== '') shown.push(lines[j]!);
      out.push({ args: m[1]!.split(/\s+/).map((a) => a.replace(/^"|"$/g, '')), shown });
    }
  }
  return out;
}

const NUMBER = /-?\d+(?:\.\d+)?(?:e[+-]?\d+)?/gi;

/**
 * The same line, numbers allowed to differ by 1e-12 relative: a change in summation order moves
 * the last digits of a printed double without changing what the example shows.
 */
function sameLine(shown: string, actual: string): boolean {
  if (shown.replace(NUMBER, '#') !== actual.replace(NUMBER, '#')) return false;
  const a = shown.match(NUMBER) ?? [];
  const b = actual.match(NUMBER) ?? [];
  return a.length === b.length && a.every((v, i) => Math.abs(Number(v) - Number(b[i])) <= 1e-12 * Math.max(1, Math.abs(Number(v))));
}

describe('README examples', () => {
  const all = examples();
  it('there are examples for value, grad, jvp, hvp, check, trace and emit', () => {
    expect(new Set(all.map((e) => e.args[0]))).toEqual(new Set(['value', 'grad', 'jvp', 'hvp', 'check', 'trace', 'emit']));
  });

  it.each(all.map((e) => [e.args.join(' '), e] as const))('ssim-grad %s', (_, e) => {
    const r = cli(e.args, ROOT);
    const written = e.args[e.args.indexOf('--out') + 1];
    if (e.args.includes('--out') && written !== undefined) rmSync(join(ROOT, written), { force: true, recursive: true }); // emit cpp writes a folder
    const actual = r.stdout.split('\n').map((l) => l.trimEnd());
    let at = 0;
    for (const line of e.shown) {
      if (line.trim() === '...') continue;
      let found = -1;
      for (let k = at; k < actual.length && found < 0; k++) if (sameLine(line.trimEnd(), actual[k]!)) found = k;
      expect(found, `README shows "${line}", not in the output of ssim-grad ${e.args.join(' ')}:\n${r.stdout}`).toBeGreaterThanOrEqual(0);
      at = found + 1;
    }
  });
});
