/**
 * What running a candidate module in its own process costs: the round trip (spawn, images out as
 * raw files, a gradient of zeros back) for a 512x512x3 and a 4K (3x2160x3840) float64 image.
 *   npx tsx scripts/candidate-roundtrip.ts
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { runCandidateModule } from '../src/check/candidate.js';

const dir = mkdtempSync(join(os.tmpdir(), 'ssim-grad-roundtrip-'));
const zero = join(dir, 'zero.mjs');
writeFileSync(zero, 'export function gradient(x) { return { shape: x.shape, data: new Float64Array(x.data.length) }; }');
try {
  for (const [C, H, W] of [[3, 512, 512], [3, 2160, 3840]] as const) {
    const x = { shape: [C, H, W], data: new Float64Array(C * H * W).fill(0.5) };
    const t0 = performance.now();
    const r = await runCandidateModule(zero, x, x, { wrt: 'x' });
    const ms = performance.now() - t0;
    console.log(`${C}x${H}x${W} float64: ${ms.toFixed(0)} ms round trip (${r.data.length} values back); ${os.cpus().length} cores, loadavg ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
