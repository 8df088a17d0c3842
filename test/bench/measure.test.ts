/** The bench's measuring helper (bench/measure.ts): warm-up until steady, minimum and median, the machine's load beside the table. */
import { describe, expect, it } from 'vitest';
import { fmtTiming, formatReport, machineLoad, measure, median } from '../../bench/measure.js';

/** A fake clock and a function whose k-th call costs cost(k) ms on it. */
function fake(cost: (k: number) => number): { f: () => void; now: () => number; calls: () => number } {
  let t = 0;
  let k = 0;
  return { f: () => void (t += cost(k++)), now: () => t, calls: () => k };
}

describe('measure', () => {
  it('warms up past a slow start (first calls 5x slower) and reports the steady minimum and median', async () => {
    const steadyCost = [10, 10.2, 10.1, 10.3, 10];
    const c = fake((k) => (k < 4 ? 50 : steadyCost[k % 5]!));
    const t = await measure(c.f, { runs: 5, now: c.now });
    expect(t.steady).toBe(true);
    expect(t.warmup).toBeGreaterThanOrEqual(6); // 4 slow runs, then 2 that agree with the fastest
    expect(t.min).toBe(10);
    expect(t.median).toBeCloseTo(10.1, 12);
    expect(c.calls()).toBe(t.warmup + 5);
  });

  it('does not call a run steady while it is still getting faster', async () => {
    // 100, 90, 81, ...: each run 10 % faster than the last, then flat at 20
    const c = fake((k) => Math.max(20, 100 * 0.9 ** k));
    const t = await measure(c.f, { runs: 3, now: c.now });
    expect(t.min).toBe(20);
    expect(t.steady).toBe(true);
  });

  it('stops warming up at its caps and says so', async () => {
    const noisy = fake((k) => (k % 2 === 0 ? 10 : 30)); // never two runs in a row near the fastest
    const a = await measure(noisy.f, { runs: 4, maxWarmup: 8, now: noisy.now });
    expect(a.steady).toBe(false);
    expect(a.warmup).toBe(8);
    expect(fmtTiming(a)).toBe('10.0 ms (median 20.0 ms, not steady)');
    const slow = fake((k) => 1000 * (1 + k)); // a peer taking seconds per call, and slowing
    const b = await measure(slow.f, { runs: 1, warmupBudgetMs: 2500, now: slow.now });
    expect(b.warmup).toBe(2); // 1 s + 2 s passes the 2.5 s budget
    expect(b.steady).toBe(false);
  });

  it('honours a minimum warm-up and refuses zero runs', async () => {
    const c = fake(() => 5);
    expect((await measure(c.f, { runs: 1, minWarmup: 7, now: c.now })).warmup).toBe(7);
    expect((await measure(c.f, { runs: 1, now: c.now })).warmup).toBe(5);
    await expect(measure(c.f, { runs: 0, now: c.now })).rejects.toThrow(/runs must be at least 1/);
  });

  it('median of odd and even lists', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

describe('the printed report', () => {
  it('prints the load and cpu count beside the table, and flags a loaded machine', () => {
    const busy = machineLoad(2, [10.6, 8.62, 5.51]);
    expect(busy).toBe('load average 10.60, 8.62, 5.51 (1, 5, 15 min) on 2 cpus; loaded: 10.6 runnable on 2 cores, timings are slower than on an idle machine');
    expect(machineLoad(16, [0.5, 0.4, 0.3])).toBe('load average 0.50, 0.40, 0.30 (1, 5, 15 min) on 16 cpus');
    const report = formatReport(
      [{ what: 'value', ours: '1.0 ms (median 1.1 ms)', peer: 'p: 3.0 ms', ratio: '3.0x faster', target: '>= 3x', met: true },
        { what: 'grad', ours: '2.0 ms', peer: '', ratio: '', target: '<= 1 ms', met: false }],
      { date: '2026-12-01', node: 'v20.20.2', cores: 2, model: 'AMD EPYC' }, busy, machineLoad(2, [9, 8, 6]),
    ).split('\n');
    expect(report[0]).toBe('ssim-grad benchmarks, 2026-12-01, Node v20.20.2, 2 cpus (AMD EPYC)');
    expect(report[2]).toBe(`machine before: ${busy}`);
    expect(report[3]).toMatch(/^machine after: {2}load average 9\.00, 8\.00, 6\.00/);
    expect(report.slice(-2)).toEqual([
      '| value | 1.0 ms (median 1.1 ms) | p: 3.0 ms | 3.0x faster | >= 3x | yes |',
      '| grad | 2.0 ms |  |  | <= 1 ms | NO |',
    ]);
  });
});
