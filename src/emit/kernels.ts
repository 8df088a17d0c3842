/**
 * The TypeScript kernel emitter. From the SSIM graph (pointwise.ts in src/ssim) and a schedule it
 * writes, for one boundary rule, a value kernel and a value-and-gradient kernel for Float64Array
 * and Float32Array storage. The algorithm is the graph; the schedule (Halide's split) is here:
 *
 *   pass 1  horizontal correlation of x, y, x*x, y*y, x*y with tapsW (rows padded by the rule)
 *   pass 2  vertical correlation with tapsH, fused with the pointwise S (and its partials) and the sum
 *   pass 3  vertical transpose of the partial maps             (gradient only)
 *   pass 4  horizontal transpose, fused with the chain rule      (gradient only)
 *           d/dx = W^T g_mu + 2 x W^T g_xx + y W^T g_xy
 *
 * Every pass is a sequence of axpy loops over contiguous rows. Window taps, constants and sizes
 * are parameters; the boundary rule (how a row is padded and how the padding is folded back) and
 * the storage type are specialised.
 */
import type { Boundary } from '../field/index.js';
import { mul, variable, type Node } from '../expr/index.js';
import { pointwiseSsim } from '../ssim/pointwise.js';
import { emitPointwise } from './pointwise.js';

export const GENERATE_COMMAND = 'npm run generate';

/** The body of `source(j, n)`: where index j of a padded axis of length n reads (-1: a zero). */
const BOUNDARY_SOURCE: Record<Boundary, { doc: string; body: string[] }> = {
  same: { doc: 'zero padding', body: ['return j >= 0 && j < n ? j : -1;'] },
  valid: { doc: "'valid': no padding, the map shrinks by k - 1", body: ['return j;'] },
  reflect: {
    doc: "half-sample symmetric (scipy 'reflect'): d c b a | a b c d | d c b a",
    body: ['const period = 2 * n;', 'const k = ((j % period) + period) % period;', 'return k < n ? k : period - 1 - k;'],
  },
  mirror: {
    doc: "whole-sample mirror (PyTorch 'reflect'): c b | a b c d | c b",
    body: ['if (n === 1) return 0;', 'const period = 2 * n - 2;', 'const k = ((j % period) + period) % period;', 'return k < n ? k : period - k;'],
  },
  replicate: { doc: 'replicate: a a | a b c d | d d', body: ['return j < 0 ? 0 : j >= n ? n - 1 : j;'] },
};

const pascal = (b: Boundary): string => b[0]!.toUpperCase() + b.slice(1);

/** The pointwise graphs the kernels evaluate: S, and the weighted partials for the gradient. */
function pointwiseGraphs(): { value: Array<[string, Node]>; grad: Array<[string, Node]>; names: Map<Node, string> } {
  const p = pointwiseSsim();
  const omega = variable('omega');
  const names = new Map<Node, string>(p.named.map(([n, node]) => [node, n] as [Node, string]));
  return {
    value: [['S', p.S]],
    grad: [
      ['S', p.S],
      ['g_mu_x', mul(omega, p.partialsX.mu)],
      ['g_xx', mul(omega, p.partialsX.sq)],
      ['g_xy', mul(omega, p.partialsX.cross)],
      ['g_mu_y', mul(omega, p.partialsY.mu)],
      ['g_yy', mul(omega, p.partialsY.sq)],
    ],
    names,
  };
}

const indent = (lines: readonly string[], n: number): string => lines.map((l) => ' '.repeat(n) + l).join('\n');

interface Storage {
  suffix: 'F64' | 'F32';
  array: 'Float64Array' | 'Float32Array';
}

const STORAGES: Storage[] = [
  { suffix: 'F64', array: 'Float64Array' },
  { suffix: 'F32', array: 'Float32Array' },
];

/** Shared set-up of both kernels: sizes, index tables, pass-1 buffers. */
function setup(boundary: Boundary): string[] {
  const valid = boundary === 'valid';
  return [
    'const { N, C, H, W, tapsH, tapsW, C1, C2, c_n, crop, omega } = p;',
    'const kh = tapsH.length;',
    'const kw = tapsW.length;',
    valid ? '// the SSIM map: one value per window that fits' : '// the SSIM map has the image size',
    `const MH = ${valid ? 'H - kh + 1' : 'H'};`,
    `const MW = ${valid ? 'W - kw + 1' : 'W'};`,
    '// a padded row holds MW + kw - 1 samples; colSource[q] is the column it reads (-1: zero)',
    'const PW = MW + kw - 1;',
    `const colSource = axisSources(PW, W, ${valid ? '0' : '(kw - 1) >> 1'});`,
    `const rowSource = windowRows(MH, kh, H, ${valid ? '0' : '(kh - 1) >> 1'});`,
    '// pass-1 output: the five horizontally filtered planes (H x MW), float64 whatever the storage:',
    '// var = m_xx - mu_x^2 cancels, and float32 moments would cost 1e-5 of S on flat images.',
    '// Storage type is that of the inputs and outputs only.',
    'const h_x = new Float64Array(H * MW), h_y = new Float64Array(H * MW), h_xx = new Float64Array(H * MW), h_yy = new Float64Array(H * MW), h_xy = new Float64Array(H * MW);',
    'const p_x = new Float64Array(PW), p_y = new Float64Array(PW), p_xx = new Float64Array(PW), p_yy = new Float64Array(PW), p_xy = new Float64Array(PW);',
    'const v_x = new Float64Array(MW), v_y = new Float64Array(MW), v_xx = new Float64Array(MW), v_yy = new Float64Array(MW), v_xy = new Float64Array(MW);',
  ];
}

const PASS1 = [
  '// pass 1: pad row i of x and y (and their products) by the boundary rule, correlate with tapsW',
  'for (let i = 0; i < H; i++) {',
  '  const row = base + i * W;',
  '  for (let q = 0; q < PW; q++) {',
  '    const s = colSource[q]!;',
  '    const xv = s < 0 ? 0 : x[row + s]!;',
  '    const yv = s < 0 ? 0 : y[row + s]!;',
  '    p_x[q] = xv; p_y[q] = yv; p_xx[q] = xv * xv; p_yy[q] = yv * yv; p_xy[q] = xv * yv;',
  '  }',
  '  const o = i * MW;',
  '  h_x.fill(0, o, o + MW); h_y.fill(0, o, o + MW); h_xx.fill(0, o, o + MW); h_yy.fill(0, o, o + MW); h_xy.fill(0, o, o + MW);',
  '  for (let t = 0; t < kw; t++) {',
  '    const w = tapsW[t]!;',
  '    for (let j = 0; j < MW; j++) {',
  '      h_x[o + j] = h_x[o + j]! + w * p_x[j + t]!; h_y[o + j] = h_y[o + j]! + w * p_y[j + t]!;',
  '      h_xx[o + j] = h_xx[o + j]! + w * p_xx[j + t]!; h_yy[o + j] = h_yy[o + j]! + w * p_yy[j + t]!; h_xy[o + j] = h_xy[o + j]! + w * p_xy[j + t]!;',
  '    }',
  '  }',
  '}',
];

const VERTICAL = [
  '  v_x.fill(0); v_y.fill(0); v_xx.fill(0); v_yy.fill(0); v_xy.fill(0);',
  '  for (let t = 0; t < kh; t++) {',
  '    const r = rowSource[i * kh + t]!;',
  '    if (r < 0) continue;',
  '    const w = tapsH[t]!;',
  '    const o = r * MW;',
  '    for (let j = crop; j < MW - crop; j++) {',
  '      v_x[j] = v_x[j]! + w * h_x[o + j]!; v_y[j] = v_y[j]! + w * h_y[o + j]!;',
  '      v_xx[j] = v_xx[j]! + w * h_xx[o + j]!; v_yy[j] = v_yy[j]! + w * h_yy[o + j]!; v_xy[j] = v_xy[j]! + w * h_xy[o + j]!;',
  '    }',
  '  }',
];

const MOMENTS = ['const mu_x = v_x[j]!, mu_y = v_y[j]!, m_xx = v_xx[j]!, m_yy = v_yy[j]!, m_xy = v_xy[j]!;'];

function valueKernel(boundary: Boundary, s: Storage, pointwise: string[], flops: number): string {
  const name = `ssimValue${pascal(boundary)}${s.suffix}`;
  return `/**
 * SSIM of x and y (${s.array} storage), boundary ${boundary}: the omega-weighted sum of S over the
 * region of the map. Passes 1-2; ${'5 kw + 5 kh'} multiply-adds and ${flops} flops of S per pixel.
 */
export function ${name}(x: ${s.array}, y: ${s.array}, p: KernelParams): number {
${indent(setup(boundary), 2)}
  let sum = 0;
  for (let plane = 0; plane < N * C; plane++) {
    const base = plane * H * W;
${indent(PASS1, 4)}
    // pass 2: vertical correlation with tapsH, fused with S (derivation: the definitions of mu, sigma, A, B)
    for (let i = crop; i < MH - crop; i++) {
${indent(VERTICAL, 4)}
      for (let j = crop; j < MW - crop; j++) {
${indent([...MOMENTS, ...pointwise, 'sum += S;'], 8)}
      }
    }
  }
  return sum * omega;
}
`;
}

function gradKernel(boundary: Boundary, s: Storage, pointwise: string[], flops: number): string {
  const name = `ssimGrad${pascal(boundary)}${s.suffix}`;
  const A = s.array;
  return `/**
 * SSIM of x and y and its gradient (${A} storage), boundary ${boundary}: returns the value, writes
 * d/dx into out.gradX and, when given, d/dy into out.gradY (each N x C x H x W). Passes 1-4;
 * 10 kw + 10 kh multiply-adds per pixel (8 kw + 8 kh for d/dx alone) and
 * ${flops} flops of S and its partials.
 */
export function ${name}(x: ${A}, y: ${A}, p: KernelParams, out: GradientOutputs<${A}>): number {
${indent(setup(boundary), 2)}
  const withY = out.gradY !== null;
  // pass-2 output: the weighted partial maps g = omega dS/d(moment), zero outside the region (MH x MW);
  // float64 whatever the storage: the three chain-rule terms cancel, and would amplify float32 rounding
  const g_mu_xs = new Float64Array(MH * MW), g_xxs = new Float64Array(MH * MW), g_xys = new Float64Array(MH * MW);
  const g_mu_ys = new Float64Array(withY ? MH * MW : 0), g_yys = new Float64Array(withY ? MH * MW : 0);
  // pass-4 scratch: transposed rows before and after folding the padding back
  const a_mu_x = new Float64Array(PW), a_xx = new Float64Array(PW), a_xy = new Float64Array(PW), a_mu_y = new Float64Array(PW), a_yy = new Float64Array(PW);
  const b_mu_x = new Float64Array(W), b_xx = new Float64Array(W), b_xy = new Float64Array(W), b_mu_y = new Float64Array(W), b_yy = new Float64Array(W);
  let sum = 0;
  for (let plane = 0; plane < N * C; plane++) {
    const base = plane * H * W;
${indent(PASS1, 4)}
    // pass 2: vertical correlation fused with S and its partials (derivation: the local partials of S)
    for (let i = crop; i < MH - crop; i++) {
${indent(VERTICAL, 4)}
      const o = i * MW;
      for (let j = crop; j < MW - crop; j++) {
${indent([...MOMENTS, ...pointwise], 8)}
        sum += S;
        g_mu_xs[o + j] = g_mu_x; g_xxs[o + j] = g_xx; g_xys[o + j] = g_xy;
        if (withY) { g_mu_ys[o + j] = g_mu_y; g_yys[o + j] = g_yy; }
      }
    }
    // pass 3: vertical transpose W_H^T of the partial maps, scattered into the pass-1 planes
    h_x.fill(0); h_xx.fill(0); h_xy.fill(0);
    if (withY) { h_y.fill(0); h_yy.fill(0); }
    for (let i = crop; i < MH - crop; i++) {
      const o = i * MW;
      for (let t = 0; t < kh; t++) {
        const r = rowSource[i * kh + t]!;
        if (r < 0) continue;
        const w = tapsH[t]!;
        const d = r * MW;
        for (let j = crop; j < MW - crop; j++) {
          h_x[d + j] = h_x[d + j]! + w * g_mu_xs[o + j]!; h_xx[d + j] = h_xx[d + j]! + w * g_xxs[o + j]!; h_xy[d + j] = h_xy[d + j]! + w * g_xys[o + j]!;
        }
        if (withY) {
          for (let j = crop; j < MW - crop; j++) { h_y[d + j] = h_y[d + j]! + w * g_mu_ys[o + j]!; h_yy[d + j] = h_yy[d + j]! + w * g_yys[o + j]!; }
        }
      }
    }
    // pass 4: horizontal transpose W_W^T (full correlation into a padded row), fold the padding
    // back by the boundary rule, then the chain rule d/dx = W^T g_mu + 2 x W^T g_xx + y W^T g_xy
    const gx = out.gradX, gy = out.gradY;
    for (let i = 0; i < H; i++) {
      const o = i * MW;
      a_mu_x.fill(0); a_xx.fill(0); a_xy.fill(0);
      if (withY) { a_mu_y.fill(0); a_yy.fill(0); }
      for (let t = 0; t < kw; t++) {
        const w = tapsW[t]!;
        for (let j = 0; j < MW; j++) {
          a_mu_x[j + t] = a_mu_x[j + t]! + w * h_x[o + j]!; a_xx[j + t] = a_xx[j + t]! + w * h_xx[o + j]!; a_xy[j + t] = a_xy[j + t]! + w * h_xy[o + j]!;
        }
        if (withY) {
          for (let j = 0; j < MW; j++) { a_mu_y[j + t] = a_mu_y[j + t]! + w * h_y[o + j]!; a_yy[j + t] = a_yy[j + t]! + w * h_yy[o + j]!; }
        }
      }
      b_mu_x.fill(0); b_xx.fill(0); b_xy.fill(0); b_mu_y.fill(0); b_yy.fill(0);
      for (let q = 0; q < PW; q++) {
        const s = colSource[q]!;
        if (s < 0) continue;
        b_mu_x[s] = b_mu_x[s]! + a_mu_x[q]!; b_xx[s] = b_xx[s]! + a_xx[q]!; b_xy[s] = b_xy[s]! + a_xy[q]!;
        if (withY) { b_mu_y[s] = b_mu_y[s]! + a_mu_y[q]!; b_yy[s] = b_yy[s]! + a_yy[q]!; }
      }
      const row = base + i * W;
      for (let j = 0; j < W; j++) {
        const xv = x[row + j]!, yv = y[row + j]!;
        gx[row + j] = b_mu_x[j]! + 2 * xv * b_xx[j]! + yv * b_xy[j]!;
        if (gy !== null) gy[row + j] = b_mu_y[j]! + 2 * yv * b_yy[j]! + xv * b_xy[j]!;
      }
    }
  }
  return sum * omega;
}
`;
}

/** The generated file for one boundary rule. */
export function emitSsimKernelFile(boundary: Boundary): string {
  const g = pointwiseGraphs();
  const value = emitPointwise(g.value, g.names);
  const grad = emitPointwise(g.grad, g.names);
  const rule = BOUNDARY_SOURCE[boundary];
  const header = `// Generated by \`${GENERATE_COMMAND}\` (scripts/generate.ts, src/emit/kernels.ts) from the SSIM
// expression graph. Do not edit: change the emitter and regenerate; a test fails when this is stale.
//
// SSIM kernels, boundary '${boundary}' (${rule.doc}).
// Value kernel, 2 passes over memory:
//   1. horizontal correlation of x, y, x*x, y*y, x*y with tapsW: 5 kw multiply-adds per pixel
//   2. vertical correlation with tapsH (5 kh multiply-adds per map pixel) fused with S (${value.flops} flops) and the sum
//   multiply-adds per pixel: 5 kw + 5 kh = 110 for 11 taps
// Value-and-gradient kernel, 4 passes:
//   1-2. as above, with S's five weighted partials (${grad.flops} flops)
//   3. vertical transpose of the partial maps: 5 kh multiply-adds (3 kh for d/dx alone)
//   4. horizontal transpose fused with the chain rule: 5 kw multiply-adds + 5 (3 kw + 3 for d/dx alone)
//   multiply-adds per pixel: 10 kw + 10 kh = 220 for 11 taps (8 kw + 8 kh = 176 for d/dx alone)
// Temporaries keep the derivation's names: mu_x, var_x, cov, A1, B1, A2, B2, S; g_* are omega dS/d(moment).
`;
  const body = [
    header,
    "import type { GradientOutputs, KernelParams } from '../emit/params.js';",
    '',
    `/** Where index j of an axis of length n reads under '${boundary}' (-1: a zero). */`,
    'function source(j: number, n: number): number {',
    indent(rule.body, 2),
    '}',
    '',
    '/** Column sources of a padded row of length pw over a row of length n, starting at -offset. */',
    'function axisSources(pw: number, n: number, offset: number): Int32Array {',
    '  const t = new Int32Array(pw);',
    '  for (let q = 0; q < pw; q++) t[q] = source(q - offset, n);',
    '  return t;',
    '}',
    '',
    '/** Rows read by the k taps of each of the m output rows over an axis of length n. */',
    'function windowRows(m: number, k: number, n: number, offset: number): Int32Array {',
    '  const t = new Int32Array(m * k);',
    '  for (let i = 0; i < m; i++) for (let s = 0; s < k; s++) t[i * k + s] = source(i + s - offset, n);',
    '  return t;',
    '}',
    '',
  ];
  for (const s of STORAGES) {
    body.push(valueKernel(boundary, s, value.lines, value.flops));
    body.push(gradKernel(boundary, s, grad.lines, grad.flops));
  }
  return body.join('\n');
}

/** The generated index: one table from boundary to kernels. */
export function emitIndexFile(boundaries: readonly Boundary[]): string {
  const lines = [
    `// Generated by \`${GENERATE_COMMAND}\` (scripts/generate.ts). Do not edit.`,
    '// The kernel table: boundary rule -> value and value-and-gradient kernels per storage type.',
    '',
    ...boundaries.map(
      (b) => `import { ssimGrad${pascal(b)}F32, ssimGrad${pascal(b)}F64, ssimValue${pascal(b)}F32, ssimValue${pascal(b)}F64 } from './ssim-${b}.js';`,
    ),
    '',
    'export const ssimKernels = {',
    ...boundaries.map(
      (b) => `  ${b}: { valueF64: ssimValue${pascal(b)}F64, gradF64: ssimGrad${pascal(b)}F64, valueF32: ssimValue${pascal(b)}F32, gradF32: ssimGrad${pascal(b)}F32 },`,
    ),
    '} as const;',
    '',
  ];
  return lines.join('\n');
}
