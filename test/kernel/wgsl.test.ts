/**
 * The WGSL printer against the interpreter: small hand-written pass programs that use every
 * construct of the kernel program run in chromium's WebGPU (SwiftShader) and equal the
 * interpreter under a float32 binding (integers exactly, reals within a few float32 ulps, WGSL's
 * own accuracy for exp, log, pow and division); and what the printer and the runner refuse.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { BOUNDARIES, BOUNDARY_RULES, type Boundary } from '../../src/field/boundary.js';
import { sourceFunction, sourceFunctionName } from '../../src/kernel/index-rule.js';
import { interpretProgram, type Binding, type BufferValue } from '../../src/kernel/interpret.js';
import { cmp, int, load, real, s, type Expr, type Func, type PassProgram } from '../../src/kernel/ir.js';
import { f32Literal, i32Literal, printWgsl, workgroupCounts, type PrintedWgsl } from '../../src/kernel/print-wgsl.js';
import { closeBrowser, runInPage, webgpuBrowserAvailable, webgpuPage, type PageCase } from '../support/browser.js';

const FLOAT32: Binding = { real: 'float32', acc: 'float32', f64: 'float32' };

/** A 1-D correlation of x (n samples) with w (k taps), reading outside by the boundary's source function. */
function correlation(b: Boundary): PassProgram {
  const pads = BOUNDARY_RULES[b].pads;
  const i = int.ref('i'), t = int.ref('t'), j = int.ref('j');
  return {
    name: `correlate_${b}`,
    doc: `a correlation under '${b}'`,
    scalars: [
      { name: 'n', type: 'i32' },
      { name: 'k', type: 'i32' },
    ],
    buffers: [
      { name: 'x', elem: 'real', role: 'input', size: int.ref('n') },
      { name: 'w', elem: 'f64', role: 'input', size: int.ref('k') },
      { name: 'out', elem: 'real', role: 'output', size: pads ? int.ref('n') : int.add(int.sub(int.ref('n'), int.ref('k')), 1) },
    ],
    passes: [
      {
        name: 'correlate',
        doc: 'one output sample per invocation',
        index: ['i'],
        grid: [pads ? int.ref('n') : int.add(int.sub(int.ref('n'), int.ref('k')), 1)],
        body: [
          s.var('acc', real.lit(0)),
          s.for('t', 0, int.ref('k'), [
            s.let('j', { k: 'call', type: 'i32', fn: sourceFunctionName(b), args: [pads ? int.sub(int.add(i, t), int.shr(int.ref('k'), 1)) : int.add(i, t), int.ref('n')] }),
            s.if(cmp.lt(j, 0), [s.continue()]),
            s.set('acc', real.add(real.ref('acc'), real.mul(real.cast('acc', load('w', t, 'f64')), load('x', j, 'real')))),
          ]),
          s.store('out', i, real.cast('real', real.ref('acc'))),
        ],
      },
    ],
  };
}

const i = int.ref('i');
const a = load('a', i, 'real');
const bi = load('b', i, 'i32');
const lit = (v: number): Expr => real.lit(v);

/** Functions beside the source rules: a clamp with early returns, and a real function with a loop. */
const FUNCS: Func[] = [
  {
    name: 'clamp_index',
    params: [
      { name: 'v', type: 'i32' },
      { name: 'hi', type: 'i32' },
    ],
    returns: 'i32',
    body: [s.if(cmp.lt(int.ref('v'), 0), [s.return(int.lit(0))]), s.if(cmp.ge(int.ref('v'), int.ref('hi')), [s.return(int.sub(int.ref('hi'), 1))], [s.return(int.ref('v'))])],
  },
  {
    name: 'power_sum',
    params: [
      { name: 'x', type: 'acc' },
      { name: 'times', type: 'i32' },
    ],
    returns: 'acc',
    body: [s.var('p', lit(1)), s.var('total', lit(0)), s.for('q', 0, int.ref('times'), [s.set('p', real.mul(real.ref('p'), real.ref('x'))), s.set('total', real.add(real.ref('total'), real.ref('p')))]), s.return(real.ref('total'))],
  },
];

/** Every construct: lets and vars, set, for with continue, if/else, select, calls, casts, integer % and / of negatives, >>, logic, fail, comment, return. */
const CONSTRUCTS: PassProgram = {
  name: 'constructs',
  doc: 'every construct of the kernel program',
  scalars: [
    { name: 'n', type: 'i32' },
    { name: 'scale', type: 'f64' },
    { name: 'flag', type: 'bool' },
  ],
  buffers: [
    { name: 'a', elem: 'real', role: 'input', size: int.ref('n') },
    { name: 'b', elem: 'i32', role: 'input', size: int.ref('n') },
    { name: 'o', elem: 'acc', role: 'output', size: int.mul(int.ref('n'), 14) },
    { name: 'oi', elem: 'i32', role: 'output', size: int.mul(int.ref('n'), 8) },
    { name: 'ob', elem: 'bool', role: 'output', size: int.ref('n') },
    { name: 'tmp', elem: 'acc', role: 'scratch', size: int.ref('n') },
  ],
  passes: [
    {
      name: 'first',
      doc: 'writes the scratch buffer',
      index: ['i'],
      grid: [int.ref('n')],
      body: [s.comment('a comment\nover two lines'), s.fail(cmp.lt(int.ref('n'), 0), 'n is negative'), s.store('tmp', i, real.mul(a, real.ref('scale', 'f64')))],
    },
    {
      name: 'second',
      doc: 'reads it',
      index: ['i'],
      grid: [int.ref('n')],
      body: [
        s.let('v', load('tmp', i, 'acc')),
        s.let('pos', real.add(real.call('abs', real.ref('v')), lit(0.25))),
        s.store('o', int.mul(i, 14), real.call('sqrt', real.ref('pos'))),
        s.store('o', int.add(int.mul(i, 14), 1), real.call('exp', real.mul(real.ref('v'), lit(0.5)))),
        s.store('o', int.add(int.mul(i, 14), 2), real.call('log', real.ref('pos'))),
        s.store('o', int.add(int.mul(i, 14), 3), real.call('pow', real.ref('pos'), lit(1.7))),
        s.store('o', int.add(int.mul(i, 14), 4), real.call('max', real.ref('v'), lit(0.1))),
        s.store('o', int.add(int.mul(i, 14), 5), real.call('min', real.ref('v'), lit(0.1))),
        s.store('o', int.add(int.mul(i, 14), 6), real.call('sign', real.ref('v'))),
        // select: then when v > 0, else otherwise (WGSL spells it select(else, then, cond))
        s.store('o', int.add(int.mul(i, 14), 7), real.select(cmp.gt(real.ref('v'), lit(0)), real.mul(real.ref('v'), lit(3)), real.neg(lit(1 / 3)))),
        // for with continue and if/else: the sum of the odd q < |b| plus a tenth of the even ones
        s.var('acc', lit(0)),
        s.for('q', 0, int.max(bi, int.sub(0, bi)), [
          s.if(cmp.eq(int.mod(int.ref('q'), 2), 0), [s.set('acc', real.add(real.ref('acc'), real.mul(real.cast('acc', int.ref('q')), lit(0.1)))), s.continue()], [s.set('acc', real.add(real.ref('acc'), real.cast('acc', int.ref('q'))))]),
        ]),
        s.store('o', int.add(int.mul(i, 14), 8), real.ref('acc')),
        s.store('o', int.add(int.mul(i, 14), 9), { k: 'call', type: 'acc', fn: 'power_sum', args: [real.mul(real.ref('v'), lit(0.5)), int.lit(4)] }),
        // a cast of a real to an integer truncates
        s.store('o', int.add(int.mul(i, 14), 10), real.cast('acc', { k: 'cast', type: 'i32', a: real.mul(real.ref('v'), lit(7)) })),
        s.store('o', int.add(int.mul(i, 14), 11), real.div(lit(1), real.ref('pos'))),
        // pow of a negative base to an integer power is defined (Math.pow), WGSL's pow is not
        s.store('o', int.add(int.mul(i, 14), 12), real.call('pow', real.ref('v'), lit(3))),
        s.store('o', int.add(int.mul(i, 14), 13), real.call('pow', real.ref('v'), lit(2))),
        // integer arithmetic: % and / truncate (of negatives too), >>, min, max, select, abs, sign, neg
        s.store('oi', int.mul(i, 8), int.mod(bi, 3)),
        s.store('oi', int.add(int.mul(i, 8), 1), int.mod(int.sub(0, bi), 4)),
        s.store('oi', int.add(int.mul(i, 8), 2), int.div(bi, 4)),
        s.store('oi', int.add(int.mul(i, 8), 3), int.shr(bi, 1)),
        s.store('oi', int.add(int.mul(i, 8), 4), { k: 'call', type: 'i32', fn: 'clamp_index', args: [bi, int.lit(3)] }),
        s.store('oi', int.add(int.mul(i, 8), 5), int.select(cmp.or(cmp.and(cmp.ge(bi, 0), cmp.ne(bi, 2)), cmp.not(cmp.le(bi, -5))), int.min(bi, 1), int.max(bi, -2))),
        s.store('oi', int.add(int.mul(i, 8), 6), { k: 'call', type: 'i32', fn: 'sign', args: [{ k: 'neg', type: 'i32', a: bi }] }),
        s.store('oi', int.add(int.mul(i, 8), 7), int.add({ k: 'call', type: 'i32', fn: 'abs', args: [bi] }, int.mul(bi, -1000))),
        // a bool scalar, a bool stored; the last invocation returns before it stores
        s.if(cmp.eq(i, int.sub(int.ref('n'), 1)), [s.return()]),
        s.store('ob', i, cmp.and({ k: 'ref', type: 'bool', name: 'flag' }, cmp.gt(bi, 0))),
      ],
    },
  ],
};

/** Two passes over a grid of 2100 x 2100 invocations: more than 65535 workgroups of 64, so the dispatch is 2-D. */
const WIDE: PassProgram = {
  name: 'wide',
  doc: 'a grid past one dispatch dimension',
  scalars: [{ name: 'side', type: 'i32' }],
  buffers: [
    { name: 'big', elem: 'i32', role: 'scratch', size: int.mul(int.ref('side'), int.ref('side')) },
    { name: 'rows', elem: 'i32', role: 'output', size: int.ref('side') },
  ],
  passes: [
    { name: 'fill_big', doc: '', index: ['x', 'y'], grid: [int.ref('side'), int.ref('side')], body: [s.store('big', int.add(int.ref('x'), int.mul(int.ref('side'), int.ref('y'))), int.add(int.mul(int.ref('x'), 3), int.ref('y')))] },
    {
      name: 'sum_rows',
      doc: '',
      index: ['y'],
      grid: [int.ref('side')],
      body: [s.var('sum', int.lit(0)), s.for('x', 0, int.ref('side'), [s.set('sum', int.add(int.ref('sum'), load('big', int.add(int.ref('x'), int.mul(int.ref('side'), int.ref('y'))), 'i32')))]), s.store('rows', int.ref('y'), int.ref('sum'))],
    },
  ],
};

/** Three grid dimensions, the first the fastest. */
const CUBE: PassProgram = {
  name: 'cube',
  doc: '',
  scalars: [
    { name: 'w', type: 'i32' },
    { name: 'h', type: 'i32' },
    { name: 'c', type: 'i32' },
  ],
  buffers: [{ name: 'out', elem: 'i32', role: 'output', size: int.mul(int.mul(int.ref('w'), int.ref('h')), int.ref('c')) }],
  passes: [
    {
      name: 'index',
      doc: '',
      index: ['x', 'y', 'p'],
      grid: [int.ref('w'), int.ref('h'), int.ref('c')],
      body: [s.store('out', int.add(int.ref('x'), int.mul(int.ref('w'), int.add(int.ref('y'), int.mul(int.ref('h'), int.ref('p'))))), int.add(int.add(int.ref('x'), int.mul(int.ref('y'), 100)), int.mul(int.ref('p'), 10000)))],
    },
  ],
};

describe('the WGSL printer', () => {
  it('prints f32 literals as the nearest float32 in the fewest digits, and i32 literals with their suffix', () => {
    expect(f32Literal(0.5)).toBe('0.5f');
    expect(f32Literal(1)).toBe('1.0f');
    expect(f32Literal(0.1)).toBe('0.1f');
    expect(f32Literal(-2)).toBe('(-2.0f)');
    expect(f32Literal(0)).toBe('0.0f');
    expect(f32Literal(1e-30)).toBe('1e-30f');
    for (const v of [1 / 3, Math.PI, 1e-4, 9e-4, 0.01 ** 2, 123456789, 2 ** -126]) expect(Math.fround(Number(f32Literal(v).replace(/f$/, '')))).toBe(Math.fround(v));
    expect(() => f32Literal(Infinity)).toThrow(/finite/);
    expect(() => f32Literal(1e39)).toThrow(/finite/);
    expect(i32Literal(7)).toBe('7i');
    expect(i32Literal(-7)).toBe('(-7i)');
    expect(i32Literal(-2147483648)).toBe('i32(-2147483648)');
    expect(() => i32Literal(0.5)).toThrow(/not an i32/);
  });

  it('splits a dispatch into two dimensions of at most 65535 workgroups', () => {
    expect(workgroupCounts(0)).toEqual([0, 0]);
    expect(workgroupCounts(1)).toEqual([1, 1]);
    expect(workgroupCounts(64 * 65535)).toEqual([65535, 1]);
    expect(workgroupCounts(64 * 65535 + 1)).toEqual([65535, 2]);
    expect(() => workgroupCounts(64 * 65535 * 65536)).toThrow(/workgroups/);
  });

  it('lays out the scalars as a uniform struct and the buffers as storage bindings, read_write only where stored', () => {
    const p = printWgsl(CONSTRUCTS, FUNCS);
    expect(p.layout.uniform).toMatchObject({ binding: 0, size: 16, members: [{ name: 'n', storage: 'i32', offset: 0 }, { name: 'scale', storage: 'f32', offset: 4 }, { name: 'flag', storage: 'i32', offset: 8 }] });
    expect(p.layout.buffers.map((b) => [b.name, b.binding, b.access, b.storage])).toEqual([
      ['a', 1, 'read', 'f32'],
      ['b', 2, 'read', 'i32'],
      ['o', 3, 'read_write', 'f32'],
      ['oi', 4, 'read_write', 'i32'],
      ['ob', 5, 'read_write', 'i32'],
      ['tmp', 6, 'read_write', 'f32'],
    ]);
    expect(p.layout.passes.map((x) => [x.entryPoint, x.bindings])).toEqual([
      ['first', [0, 1, 6]],
      ['second', [0, 2, 3, 4, 5, 6]],
    ]);
    expect(p.code).toContain('@group(0) @binding(1) var<storage, read> a: array<f32>;');
    expect(p.code).toContain('@compute @workgroup_size(64)');
    expect(p.code).toContain('// not checked on a GPU (it cannot stop): n is negative');
    expect(p.code).toContain('// over two lines');
    // the real select spells WGSL's order: select(else, then, cond)
    expect(p.code).toContain('select((-0.33333334f), (v * 3.0f), (v > 0.0f))');
  });

  it('renames a program name WGSL reserves, and refuses what a GPU cannot run', () => {
    const named: PassProgram = { ...CUBE, name: 'names', buffers: [{ ...CUBE.buffers[0]!, name: 'target' }], passes: [{ ...CUBE.passes[0]!, name: 'pass', body: [s.store('target', 0, int.lit(1))] }] };
    const p = printWgsl(named, []);
    expect(p.code).toContain('var<storage, read_write> target_: array<i32>;');
    expect(p.layout.passes[0]!.entryPoint).toBe('pass_');
    const withBody = (body: PassProgram['passes'][number]['body']): PassProgram => ({ ...CUBE, passes: [{ ...CUBE.passes[0]!, body }] });
    expect(() => printWgsl(withBody([s.alloc('scratch', 'acc', 4)]), [])).toThrow(/'alloc' is a CPU-only statement/);
    expect(() => printWgsl(withBody([s.copy('out', 0, 'out', 1, 1)]), [])).toThrow(/'copy' is a CPU-only/);
    expect(() => printWgsl(withBody([s.fill('out', 0, 1, int.lit(0))]), [])).toThrow(/'fill' is a CPU-only/);
    expect(() => printWgsl(withBody([s.continue()]), [])).toThrow(/continue outside a loop/);
    expect(() => printWgsl(withBody([s.store('nowhere', 0, int.lit(0))]), [])).toThrow(/no buffer 'nowhere'/);
    expect(() => printWgsl(withBody([s.let('q', int.lit(0)), s.set('q', int.lit(1))]), [])).toThrow(/'q' is set but is not a var/);
    expect(() => printWgsl(withBody([s.store('out', 0, int.ref('undeclared'))]), [])).toThrow(/'undeclared' is not defined/);
  });
});

const available = webgpuBrowserAvailable('WGSL tests in chromium');

describe.skipIf(!available)('WGSL in chromium (WebGPU on SwiftShader) equals the interpreter under float32', () => {
  let page: Page;
  beforeAll(async () => {
    page = await webgpuPage();
  });
  afterAll(async () => {
    await closeBrowser();
  });

  const ints = (n: number, seed: number): Int32Array => Int32Array.from({ length: n }, (_, q) => ((q * 7919 + seed * 104729) % 23) - 11);
  const reals = (n: number, seed: number): Float32Array => Float32Array.from({ length: n }, (_, q) => Math.fround(Math.sin(q * 1.7 + seed) * 0.9));

  /** Runs on the GPU and in the interpreter; returns both, buffer by buffer. */
  async function both(cases: ReadonlyArray<{ program: PassProgram; funcs: Func[]; args: Record<string, number | boolean | BufferValue>; scratch?: boolean }>) {
    const printed: PrintedWgsl[] = cases.map((c) => printWgsl(c.program, c.funcs));
    const pageCases: PageCase[] = cases.map((c, q) => ({
      printed: printed[q]!,
      scratch: c.scratch,
      args: Object.fromEntries(Object.entries(c.args).map(([k, v]) => [k, typeof v === 'number' || typeof v === 'boolean' ? v : Array.from(v)])),
    }));
    const gpu = await runInPage(page, pageCases);
    return cases.map((c, q) => {
      const r = gpu[q]!;
      if (!r.ok) throw new Error(`${c.program.name}: ${r.error}\n${printed[q]!.code}`);
      const args = Object.fromEntries(Object.entries(c.args).map(([k, v]) => [k, typeof v === 'boolean' ? +v : typeof v === 'number' ? v : v.slice()]));
      return { gpu: r.buffers, cpu: interpretProgram(c.program, c.funcs, args, FLOAT32), code: printed[q]!.code };
    });
  }

  it('a 1-D correlation under every boundary rule, windows of 3, 7 and 15 taps, short and long axes', async () => {
    const cases: Array<{ program: PassProgram; funcs: Func[]; args: Record<string, number | BufferValue> }> = [];
    for (const b of BOUNDARIES)
      for (const k of [3, 7, 15])
        for (const n of [1, 2, 5, 13, 40]) {
          if (!BOUNDARY_RULES[b].pads && n < k) continue;
          const outLen = BOUNDARY_RULES[b].pads ? n : n - k + 1;
          const w = Float32Array.from({ length: k }, (_, t) => Math.fround(Math.exp(-((t - (k >> 1)) ** 2) / 8)));
          cases.push({ program: correlation(b), funcs: [sourceFunction(b)], args: { n, k, x: reals(n, k + n), w, out: new Float32Array(outLen) } });
        }
    const results = await both(cases);
    let worst = 0;
    results.forEach((r, q) => {
      const cpu = r.cpu.get('out')!, gpu = r.gpu['out']!;
      expect(gpu.length, cases[q]!.program.name).toBe(cpu.length);
      for (let t = 0; t < cpu.length; t++) {
        const err = Math.abs(gpu[t]! - cpu[t]!);
        worst = Math.max(worst, err);
        expect(err, `${cases[q]!.program.name} n=${cases[q]!.args.n} k=${cases[q]!.args.k} out[${t}]`).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(cpu[t]!)) * 15);
      }
    });
    console.log(`correlations: ${results.length} cases, worst |WGSL - interpreter(float32)| = ${worst.toExponential(2)}`);
  });

  it('every construct: integers exactly, reals within WGSL accuracy', async () => {
    const n = 37;
    const [r] = await both([{ program: CONSTRUCTS, funcs: FUNCS, args: { n, scale: Math.fround(1.3), flag: true, a: reals(n, 1), b: ints(n, 2), o: new Float32Array(14 * n), oi: new Int32Array(8 * n), ob: new Int32Array(n) }, scratch: true }]);
    const { gpu, cpu } = r!;
    expect(gpu['oi']).toEqual(Array.from(cpu.get('oi')!));
    expect(gpu['ob']).toEqual(Array.from(cpu.get('ob')!));
    expect(gpu['ob']!.slice(0, n - 1)).toContain(1);
    expect(gpu['tmp']).toEqual(Array.from(cpu.get('tmp')!));
    const o = cpu.get('o')!;
    for (let t = 0; t < o.length; t++) {
      // exp, log, pow and 1/x are a few ulps in WGSL (and sqrt 2.5 ulp); the rest round as float32 does
      const tol = 8 * 2 ** -23 * Math.max(1, Math.abs(o[t]!));
      expect(Math.abs(gpu['o']![t]! - o[t]!), `o[${t}] (output ${t % 14} of invocation ${Math.floor(t / 14)})`).toBeLessThanOrEqual(tol);
    }
    // the interpreter's integer % and / of negatives are C's (truncation): some case has a negative remainder
    expect(Array.from(cpu.get('oi')!).filter((_, t) => t % 8 === 0).some((v) => v < 0)).toBe(true);
  });

  it('a grid of three dimensions, and one past 65535 workgroups in a dimension, with a scratch buffer between passes', async () => {
    const [cube, wide] = await both([
      { program: CUBE, funcs: [], args: { w: 13, h: 5, c: 3, out: new Int32Array(13 * 5 * 3) } },
      { program: WIDE, funcs: [], args: { side: 2100, rows: new Int32Array(2100) } },
    ]);
    expect(cube!.gpu['out']).toEqual(Array.from(cube!.cpu.get('out')!));
    const side = 2100;
    const want = Array.from({ length: side }, (_, y) => 3 * ((side * (side - 1)) / 2) + side * y);
    expect(wide!.gpu['rows']).toEqual(want);
  });

  it('a shader that does not compile fails with its message and line', async () => {
    const good = printWgsl(CUBE, []);
    const broken: PrintedWgsl = { ...good, code: good.code.replace('let rest_0: u32 = linear;', 'let rest_0: u32 = linear;\n  let oops: i32 = 1.5f;') };
    const line = broken.code.split('\n').findIndex((l) => l.includes('oops')) + 1;
    const [r] = await runInPage(page, [{ printed: broken, args: { w: 2, h: 2, c: 1 } }]);
    expect(r!.ok).toBe(false);
    const error = r!.ok ? '' : r!.error;
    expect(error).toMatch(/WGSL program cube does not compile/);
    expect(error).toContain(`${line}:`);
    expect(error).toContain('let oops: i32 = 1.5f;');
    // a missing argument is named
    const [missing] = await runInPage(page, [{ printed: good, args: { w: 2, h: 2 } }]);
    expect(missing!.ok ? '' : missing!.error).toMatch(/scalar 'c' is not given/);
  });
});
