/**
 * `npm run bench -- check4k` (or `node --import tsx bench/check-4k.ts [--size CxHxW] [--runs N] [--variant V] [--preset P]`):
 * the checker at scale, one row: `check` of a candidate .npy against `grad` on the same pair,
 * each in a child process of its own (bench/cli-child.ts), wall time of the command and peak RSS
 * (the child's process.resourceUsage().maxRSS), each the median over the runs, printed side by
 * side with their ratios, and the load average beside them, since the machine may be shared. Targets (issue 10): check <= 4 x grad's time and
 * <= 2 x its memory at 3 x 2160 x 3840. The candidate is grad's own output (a float64 .npy, so the
 * verdict is a match; a mismatch costs the same: the known mistakes run either way).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { lcg, scenePair } from './scene.js';
import { formatNpy } from '../src/io/index.js';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
};
const [C, H, W] = arg('size', '3x2160x3840').split('x').map(Number) as [number, number, number];
const runs = Number(arg('runs', '1'));
// a variant goes to both commands (grad writes its gradient, check checks it)
const variant = arg('variant', 'ssim');
// a preset likewise (matlab: its f x f downsampling)
const preset = arg('preset', '');
const variantArgs = [...(variant === 'ssim' ? [] : ['--variant', variant]), ...(preset === '' ? [] : ['--preset', preset])];
if (![C, H, W, runs].every((n) => Number.isInteger(n) && n >= 1)) {
  console.error(`check-4k: --size: expected CxHxW (positive integers), --runs: a positive integer`);
  process.exit(2);
}

/** bench/run.ts's scene, float32 in [0, 1]. */
const pair = (): { x: Float32Array; y: Float32Array } => scenePair(C, H, W, lcg(2024));

const dir = mkdtempSync(join(tmpdir(), 'ssim-grad-check4k-'));
const CHILD = join(import.meta.dirname, 'cli-child.ts');

/** Runs the CLI in a child process; its wall time (ms) and peak RSS (bytes). */
function child(args: string[]): { ms: number; rss: number; load: number } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD, ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const line = r.stderr.split('\n').find((l) => l.startsWith('BENCH '));
  if (line === undefined) throw new Error(`check-4k: ${args[0]} failed (status ${r.status}): ${r.stderr.slice(-2000)}`);
  const m = JSON.parse(line.slice(6)) as { ms: number; maxRssKiB: number; code: number };
  // grad's own gradient is a match: check exits 0 like grad
  if (m.code !== 0) throw new Error(`check-4k: ${args[0]} exited ${m.code}: ${r.stderr.slice(-2000)}`);
  return { ms: m.ms, rss: m.maxRssKiB * 1024, load: loadavg()[0]! };
}

try {
  const { x, y } = pair();
  const [xp, yp, gp] = ['x.npy', 'y.npy', 'g.npy'].map((f) => join(dir, f)) as [string, string, string];
  writeFileSync(xp, formatNpy({ shape: [C, H, W], data: x }));
  writeFileSync(yp, formatNpy({ shape: [C, H, W], data: y }));
  const grads: Array<ReturnType<typeof child>> = [];
  const checks: Array<ReturnType<typeof child>> = [];
  // one at a time, alternating, so that a change in the machine's load falls on both
  for (let i = 0; i < runs; i++) {
    grads.push(child(['grad', xp, yp, '--out', gp, ...variantArgs]));
    checks.push(child(['check', gp, xp, yp, '--json', ...variantArgs]));
  }
  // the median of each (the middle run; the mean of the two middle ones for an even count)
  const median = (v: number[]): number => {
    const s = [...v].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  };
  const mid = (a: Array<ReturnType<typeof child>>) => ({ ms: median(a.map((r) => r.ms)), rss: median(a.map((r) => r.rss)) });
  const g = mid(grads);
  const c = mid(checks);
  const tr = c.ms / g.ms;
  const mr = c.rss / g.rss;
  const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
  const gb = (b: number): string => `${(b / 2 ** 30).toFixed(2)} GiB`;
  const loads = [...grads, ...checks].map((r) => r.load.toFixed(1));
  const cpu = cpus();
  console.log(`ssim-grad check at scale, ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpu.length} cores (${cpu[0]?.model.trim()}); load average (1 min) after each run: ${loads.join(', ')}`);
  console.log(`each command in its own process, the median over ${runs} run${runs > 1 ? 's' : ''}; wall time of main(), peak RSS from process.resourceUsage()\n`);
  console.log('| at | variant, preset | check: time, peak RSS | grad: time, peak RSS | check / grad | target | met |');
  console.log('|---|---|---|---|---|---|---|');
  console.log(
    `| ${C}x${H}x${W} | ${variant}, ${preset === '' ? 'pytorch-ssim' : preset} | ${s(c.ms)}, ${gb(c.rss)} | ${s(g.ms)}, ${gb(g.rss)} | ` +
      `${tr.toFixed(2)} x time, ${mr.toFixed(2)} x memory | <= 4 x time, <= 2 x memory | ${tr <= 4 && mr <= 2 ? 'yes' : 'NO'} |`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
