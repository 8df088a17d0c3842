/**
 * The CUDA printer against the program's meaning: a small pass program (a boundary-padded
 * correlation into scratch, then a pass with loops, choices, calls, integer division and remainder
 * of negatives) printed as CUDA, compiled by g++ on the tests' CPU emulation of CUDA, equals the
 * interpreter bit for bit in double for every boundary rule; nvcc compiles it where nvcc is.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BOUNDARIES } from '../../src/field/boundary.js';
import { boundaryIndexFunction } from '../../src/kernel/index-rule.js';
import { interpretProgram } from '../../src/kernel/interpret.js';
import { cmp, int, load, real, s, type Expr, type PassProgram } from '../../src/kernel/ir.js';
import { printCudaProgram } from '../../src/kernel/print-cuda.js';
import { runCudaProgramOnCpu } from '../support/cuda-program.js';

const i = int.ref;
const rule: Expr = { k: 'ref', type: 'rule', name: 'rule' };
const program: PassProgram = {
  name: 'toy',
  doc: 'a padded correlation and a pointwise pass',
  scalars: [
    { name: 'n', type: 'i32' },
    { name: 'k', type: 'i32' },
    { name: 'rule', type: 'rule' },
    { name: 'scale', type: 'f64' },
  ],
  buffers: [
    { name: 'x', elem: 'real', role: 'input', size: i('n') },
    { name: 'taps', elem: 'f64', role: 'input', size: i('k') },
    { name: 'tmp', elem: 'acc', role: 'scratch', size: i('n') },
    { name: 'out', elem: 'real', role: 'output', size: i('n') },
    { name: 'ints', elem: 'i32', role: 'output', size: i('n') },
  ],
  passes: [
    {
      name: 'correlate',
      doc: 'tmp = taps (x) x, padded by the rule',
      index: ['j'],
      grid: [i('n')],
      body: [
        s.var('acc', real.lit(0)),
        s.for('t', 0, i('k'), [
          s.let('src', { k: 'call', type: 'i32', fn: 'boundaryIndex', args: [int.sub(int.add(i('j'), i('t')), int.shr(i('k'), 1)), i('n'), rule] }),
          s.if(cmp.lt(i('src'), 0), [s.continue()]),
          s.set('acc', real.add(real.ref('acc'), real.mul(load('taps', i('t'), 'f64'), load('x', i('src'), 'real')))),
        ]),
        s.store('tmp', i('j'), real.ref('acc')),
      ],
    },
    {
      name: 'pointwise',
      doc: 'calls, choices, integer arithmetic',
      index: ['j'],
      grid: [i('n')],
      body: [
        s.let('v', load('tmp', i('j'))),
        s.let('w', real.add(real.mul(real.call('sqrt', real.call('abs', real.ref('v'))), real.ref('scale', 'f64')), real.call('exp', real.neg(real.ref('v'))))),
        s.let('u', real.select(cmp.gt(real.ref('v'), real.lit(0.25)), real.call('pow', real.ref('w'), real.lit(1.5)), real.call('log', real.add(real.ref('w'), real.lit(2))))),
        s.store('out', i('j'), real.add(real.ref('u'), real.call('sign', real.sub(real.ref('v'), real.lit(0.5))))),
        s.store('ints', i('j'), int.add(int.mod(int.sub(i('j'), 7), 3), int.mul(int.div(int.sub(i('j'), 5), 2), 10))),
      ],
    },
  ],
};
const funcs = [boundaryIndexFunction()];

describe('print-cuda', () => {
  it('the printed program equals the interpreter bit for bit (double, g++ on the CPU emulation), every boundary rule', () => {
    const n = 13, k = 5;
    const x = Float64Array.from({ length: n }, (_, j) => Math.sin(j * 1.7) * 0.5 + 0.5);
    const taps = Float64Array.from([0.1, 0.2, 0.4, 0.2, 0.1]);
    const cases = BOUNDARIES.filter((b) => b !== 'valid').map((b) => ({ scalars: { n, k, rule: BOUNDARIES.indexOf(b), scale: 0.75 }, inputs: { x, taps } }));
    const got = runCudaProgramOnCpu(program, funcs, cases);
    cases.forEach((c, m) => {
      const want = interpretProgram(program, funcs, { ...c.scalars, x, taps, out: new Float64Array(n), ints: new Int32Array(n) });
      expect(Array.from(got[m]!.out!), BOUNDARIES[m]).toEqual(Array.from(want.get('out')!));
      expect(Array.from(got[m]!.ints!)).toEqual(Array.from(want.get('ints')!));
    });
  });

  const nvcc = spawnSync('nvcc', ['--version'], { encoding: 'utf8' }).status === 0;
  if (!nvcc) console.log('test/kernel/cuda.test.ts: nvcc is not on PATH; the printed CUDA is compiled by g++ only');
  it.skipIf(!nvcc)('nvcc compiles the printed program (device code, sm_80)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssim-grad-print-cuda-'));
    writeFileSync(join(dir, 'toy.cuh'), printCudaProgram(program, funcs));
    writeFileSync(join(dir, 'main.cu'), '#include "toy.cuh"\nint main() { kernel_program::ToyParams<float, float> p{}; (void)kernel_program::toy_sizes(p); return kernel_program::toy_launch(p) == cudaSuccess ? 0 : 1; }\n');
    const r = spawnSync('nvcc', ['-std=c++17', '-arch=sm_80', '-c', join(dir, 'main.cu'), '-o', join(dir, 'main.o')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  }, 300_000);
});
