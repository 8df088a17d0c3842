/**
 * A printer handed the helper functions of programs built apart (two schedules of one family call
 * the same boundary function) declares each once, and refuses two different functions under one
 * name (uniqueFuncs in src/kernel/ir.ts).
 */
import { describe, expect, it } from 'vitest';
import { gpuPrograms } from '../../src/emit/gpu-program.js';
import { uniqueFuncs, type Func } from '../../src/kernel/ir.js';
import { printCudaModule } from '../../src/kernel/print-cuda.js';
import { printWgsl } from '../../src/kernel/print-wgsl.js';

const store = gpuPrograms('ssim', { boundary: 'reflect', gradY: true, schedule: { partials: 'store' } });
const recompute = gpuPrograms('ssim', { boundary: 'reflect', gradY: true, schedule: { partials: 'recompute' } });
const both = [...store.funcs, ...recompute.funcs];

describe('helper functions in a printed module', () => {
  it('the two schedules do call the same helper (else this test shows nothing)', () => {
    expect(store.funcs.map((f) => f.name)).toEqual(recompute.funcs.map((f) => f.name));
    expect(both.length).toBeGreaterThan(uniqueFuncs(both).length);
  });

  it('WGSL and CUDA declare each once', () => {
    for (const f of uniqueFuncs(both)) {
      const wgsl = printWgsl(store.forward, both).code;
      expect(wgsl.split(`fn ${f.name}(`).length - 1, `WGSL ${f.name}`).toBe(1);
      const cuda = printCudaModule([store.forward, recompute.forward], both);
      expect(cuda.split(` ${f.name}(int j`).length - 1, `CUDA ${f.name}`).toBe(1);
    }
  });

  it('two different functions under one name are refused', () => {
    const f = store.funcs[0]!;
    const other: Func = { ...f, doc: `${f.doc} (another)` };
    expect(() => uniqueFuncs([f, other])).toThrow(`two different functions are named '${f.name}'`);
  });
});
