/**
 * check's progress bar: on stderr only when stderr is a terminal, only after the job has run for
 * the delay (2 s by default), throttled, erased at the end, never in stdout (--json stays one
 * object). The stream and the clock are injected.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { setProgress } from '../../src/cli/check.js';
import { progressBar, type ProgressStream } from '../../src/cli/progress.js';
import { formatNpy } from '../../src/io/index.js';
import { evaluateSsim } from '../../src/runtime/index.js';
import { readTensor } from '../../src/io/index.js';
import { EXAMPLE_X, EXAMPLE_Y } from '../support/cli.js';

/** A stream that records what is written to it. */
function fakeStream(isTTY: boolean): ProgressStream & { text: string } {
  const s = { isTTY, columns: 60, text: '', write: (t: string) => { s.text += t; return true; } };
  return s;
}

describe('progressBar', () => {
  it('draws nothing when the stream is not a terminal, however long the job', () => {
    let t = 0;
    const s = fakeStream(false);
    const bar = progressBar(s, { now: () => t });
    for (t = 0; t < 60000; t += 500) bar.update(t, 60000, 'work');
    bar.end();
    expect(s.text).toBe('');
    expect(bar.drawn).toBe(false);
  });

  it('a terminal that reports 0 columns (no size known) still gets a bar, at the default width', () => {
    let t = 0;
    const s = { ...fakeStream(true), columns: 0 };
    s.write = (x: string) => { s.text += x; return true; };
    const bar = progressBar(s, { now: () => t });
    t = 2001;
    bar.update(1, 2, 'work');
    expect(s.text).toMatch(/\[#+\.+\]  50% work/);
  });

  it('on a terminal: nothing before 2 s, then a bar on one line, erased at the end', () => {
    let t = 0;
    const s = fakeStream(true);
    const bar = progressBar(s, { now: () => t });
    t = 1999;
    bar.update(1, 4, 'exact gradient');
    expect(s.text).toBe('');
    t = 2001;
    bar.update(2, 4, 'rounding floor');
    expect(s.text).toBe(`\r\x1b[K[${'#'.repeat(12)}${'.'.repeat(12)}]  50% rounding floor`);
    expect(bar.drawn).toBe(true);
    bar.end();
    expect(s.text.endsWith('\r\x1b[K')).toBe(true);
    expect(s.text).not.toContain('\n');
  });

  it('a job that ends within 2 s leaves the terminal untouched', () => {
    let t = 0;
    const s = fakeStream(true);
    const bar = progressBar(s, { now: () => t });
    for (t = 0; t < 1900; t += 100) bar.update(t, 1900, 'work');
    bar.end();
    expect(s.text).toBe('');
  });

  it('redraws at most every 100 ms and never wider than the terminal', () => {
    let t = 5000;
    const s = fakeStream(true);
    const bar = progressBar({ ...s, columns: 20, write: (x: string) => s.write(x) }, { now: () => t, delayMs: 0 });
    bar.update(1, 10, 'a long description of the work that runs now');
    t += 50;
    bar.update(2, 10, 'b');
    const draws = s.text.split('\r\x1b[K').filter((x) => x !== '');
    expect(draws.length).toBe(1);
    expect(draws[0]!.length).toBeLessThanOrEqual(19);
    t += 100;
    bar.update(3, 10, 'c');
    expect(s.text.split('\r\x1b[K').filter((x) => x !== '').length).toBe(2);
  });
});

describe('check with a progress bar', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ssim-grad-progress-'));
  const x = readTensor(EXAMPLE_X);
  const y = readTensor(EXAMPLE_Y);
  const cand = join(dir, 'g.npy');
  writeFileSync(cand, formatNpy({ shape: x.shape, data: evaluateSsim(x, y).gradX }));
  let restore: ReturnType<typeof setProgress> | undefined;
  afterEach(() => {
    if (restore) setProgress(restore.stream, restore.options);
  });

  async function run(stream: ProgressStream, args: string[]) {
    restore = setProgress(stream, { delayMs: 0, intervalMs: 0 });
    let stdout = '';
    let stderr = '';
    const status = await main(['check', cand, EXAMPLE_X, EXAMPLE_Y, ...args], { out: (s) => (stdout += s), err: (s) => (stderr += s) });
    return { status, stdout, stderr };
  }

  it('a terminal gets the bar (erased at the end); --json stdout is one object without it', async () => {
    const s = fakeStream(true);
    const r = await run(s, ['--json']);
    expect(r.status).toBe(0);
    expect(s.text).toMatch(/\] +\d+% (exact gradient|rounding floor|known mistakes)/);
    expect(s.text.endsWith('\r\x1b[K')).toBe(true);
    expect(JSON.parse(r.stdout).verdict).toBe('match');
    expect(r.stdout).not.toMatch(/\r|\x1b|%/);
  });

  it('a pipe (not a terminal) gets nothing', async () => {
    const s = fakeStream(false);
    const r = await run(s, []);
    expect(r.status).toBe(0);
    expect(s.text).toBe('');
    expect(r.stdout).toMatch(/^verdict: MATCH/m);
  });
});
