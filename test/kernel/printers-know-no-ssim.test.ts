/**
 * The printers know nothing of SSIM (issue 19): src/kernel/print-*.ts and the WebGPU runner hold no
 * family's or variant's name, no SSIM statistic's name, and no project-specific macro. Names
 * reach the printed code only through the programs they are given (src/emit builds those).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const DIR = join(import.meta.dirname, '..', '..', 'src', 'kernel');
const PRINTERS = readdirSync(DIR).filter((f) => /^print-.*\.ts$|^webgpu.*\.ts$/.test(f));
/** SSIM's vocabulary: the families and variants, the statistics and constants that belong to the maps. */
const SSIM_WORDS = /ssim|wang|gs[-_]?loss|3dgs|\bcs\b|mu_[xy]|sigma|\bm_(xx|yy|xy)\b|\bg_(mu|xx|yy|xy)|\bC[123]\b|lambda|\b(luminance|contrast|structure)\b/i;

describe('the printers', () => {
  it('are the four targets and the WebGPU runner', () => {
    expect(PRINTERS).toEqual(expect.arrayContaining(['print-ts.ts', 'print-cpp.ts', 'print-cuda.ts', 'print-wgsl.ts', 'webgpu.ts']));
  });

  it.each(PRINTERS)('%s contains no SSIM name', (file) => {
    const hits = readFileSync(join(DIR, file), 'utf8')
      .split('\n')
      .flatMap((line, i) => (SSIM_WORDS.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : []));
    expect(hits).toEqual([]);
  });

  it('the check sees a name where one is (it is not vacuous)', () => {
    expect(SSIM_WORDS.test('const g_mu_x = omega * dS;')).toBe(true);
    expect(SSIM_WORDS.test('#ifndef SSIM_GRAD_CUDA_SHIM')).toBe(true);
    expect(SSIM_WORDS.test('const real_pow = (a, b) => a ** b;')).toBe(false);
  });
});
