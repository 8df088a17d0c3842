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
 * Every pass gathers (a dot product per output, accumulators in registers, one store). Window
 * taps, constants and sizes are parameters; taps must be symmetric (every window ssim-grad builds
 * is), so passes 1-2 share one multiply between mirrored samples. The boundary rule (how a row is
 * padded and how the padding is folded back) and the storage type are specialised.
 */
import type { Boundary } from '../field/index.js';
import { mul, variable, type Node } from '../expr/index.js';
import { pointwiseSsim } from '../ssim/pointwise.js';
import { csMap, ssimMap, wangMapParametric, type MapGraph } from '../ssim/maps.js';
import { emitPointwise, type Arithmetic } from './pointwise.js';

export const GENERATE_COMMAND = 'npm run generate';

/** The body of `source(j, n)`: where index j of a padded axis of length n reads (-1: a zero). */
export const BOUNDARY_SOURCE: Record<Boundary, { doc: string; body: string[] }> = {
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

/** The pointwise graphs the kernels evaluate: S, and the weighted partials for the gradient (the TS and the C++ kernels'). */
export function pointwiseGraphs(map: MapGraph = ssimMap()): { value: Array<[string, Node]>; grad: Array<[string, Node]>; names: Map<Node, string> } {
  const p = pointwiseSsim();
  const omega = variable('omega');
  const names = new Map<Node, string>(p.named.map(([n, node]) => [node, n] as [Node, string]));
  const v = map.name;
  return {
    value: [[v, map.F]],
    grad: [
      [v, map.F],
      ['g_mu_x', mul(omega, map.dX.mu)],
      ['g_xx', mul(omega, map.dX.sq)],
      ['g_xy', mul(omega, map.dX.cross)],
      ['g_mu_y', mul(omega, map.dY.mu)],
      ['g_yy', mul(omega, map.dY.sq)],
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

/**
 * The arithmetic being emitted: 'f64' as written, or 'f32' (Math.fround after every operation and
 * Float32Array planes), which emulates a float32 GPU kernel for measuring the rounding floor.
 * Set only by `withArithmetic` while one kernel is emitted.
 */
let ARITH: Arithmetic = 'f64';
/** The pointwise map being emitted (S, or MS-SSIM's cs): the name its value goes by in the kernel. */
let MAP: { value: string; prefix: string } = { value: 'S', prefix: 'ssim' };
const F = (e: string): string => (ARITH === 'f32' ? `Math.fround(${e})` : e);
const PLANE = (): string => (ARITH === 'f32' ? 'Float32Array' : 'Float64Array');

function withArithmetic<T>(arith: Arithmetic, f: () => T): T {
  const saved = ARITH;
  ARITH = arith;
  try {
    return f();
  } finally {
    ARITH = saved;
  }
}

/** Window sizes that get kernels with the tap loops unrolled (Gaussian 11, skimage's box 7); others run the generic loops. */
export const UNROLLED_SIZES = [7, 11] as const;

/**
 * One symmetric dot product per accumulator: acc = c * arr[center] + sum_{t < r} w_t (arr[a(t)] + arr[b(t)]).
 * With `k` null the tap loop is a loop over the runtime taps; with a size it is unrolled, the taps in locals.
 */
function symmetricDots(
  k: number | null,
  axis: 'H' | 'W',
  terms: ReadonlyArray<readonly [acc: string, arr: string]>,
  center: string,
  a: (t: string) => string,
  b: (t: string) => string,
): string[] {
  if (k === null) {
    const update = ([acc, arr]: readonly [string, string]): string =>
      ARITH === 'f32' ? `${acc} = ${F(`${acc} + ${F(`w * ${F(`${arr}[a]! + ${arr}[b]!`)}`)}`)};` : `${acc} += w * (${arr}[a]! + ${arr}[b]!);`;
    return [
      `let ${terms.map(([acc, arr]) => `${acc} = ${F(`c${axis} * ${arr}[${center}]!`)}`).join(', ')};`,
      `for (let t = 0; t < r${axis}; t++) {`,
      `  const w = taps${axis}[t]!, a = ${a('t')}, b = ${b('t')};`,
      `  ${terms.map(update).join(' ')}`,
      '}',
    ];
  }
  if (ARITH === 'f32') throw new Error('symmetricDots: float32 arithmetic is emitted with loops only');
  const r = (k - 1) / 2;
  return terms.map(([acc, arr]) => {
    const pairs = Array.from({ length: r }, (_, t) => `w${axis}${t} * (${arr}[${a(String(t))}]! + ${arr}[${b(String(t))}]!)`);
    return `let ${acc} = c${axis} * ${arr}[${center}]! + ${pairs.join(' + ')};`;
  });
}

/** `j + 3` rather than `j + 3 - 0`: folds a constant offset into an index expression. */
function plus(base: string, offset: string): string {
  const n = Number(offset);
  if (Number.isInteger(n)) return n === 0 ? base : n > 0 ? `${base} + ${n}` : `${base} - ${-n}`;
  return `${base} + ${offset}`;
}

/** Shared set-up of both kernels: sizes, index tables, pass-1 buffers, taps in locals. */
function setup(boundary: Boundary, k: number | null): string[] {
  const valid = boundary === 'valid';
  const lines = [
    'const { N, C, H, W, tapsH, tapsW, C1, C2, c_n, crop, omega: omegaAll, planeOmega, planeSums, rowSums } = p;',
    ...(MAP.prefix === 'wang' ? ['const { alpha = 1, beta = 1, gamma = 1 } = p;'] : []),
    'const kh = tapsH.length;',
    'const kw = tapsW.length;',
  ];
  if (k !== null) lines.push(`if (kh !== ${k} || kw !== ${k}) throw new Error('this kernel is unrolled for ${k} x ${k} windows');`);
  lines.push(
    valid ? '// the SSIM map: one value per window that fits' : '// the SSIM map has the image size',
    `const MH = ${valid ? 'H - kh + 1' : 'H'};`,
    `const MW = ${valid ? 'W - kw + 1' : 'W'};`,
    `const offH = ${valid ? '0' : '(kh - 1) >> 1'};`,
    `const offW = ${valid ? '0' : '(kw - 1) >> 1'};`,
    '// padded rows and columns: MW + kw - 1 samples per row, MH + kh - 1 rows; source(q - off) is what each reads',
    'const PW = MW + kw - 1;',
    '// row stride of the planes: MW plus one cache line, so that the kh rows a vertical tap reads do',
    '// not all fall in the same L1 sets (a power-of-two width would alias them)',
    'const SW = MW + 8;',
    'const PH = MH + kh - 1;',
    'const colSource = axisSources(PW, W, offW);',
    'const rowSource = windowRows(MH, kh, H, offH);',
    '// the horizontally filtered planes (pass 1), reused for the vertical transpose (pass 3): float64',
    '// whatever the storage, since var = m_xx - mu_x^2 cancels; the storage type is that of inputs and outputs.',
    '// One more row, kept zero: what a window reads outside the image under zero padding.',
    'const rows = Math.max(H, PH) + 1;',
    'const zeroRow = rows - 1;',
    `const h_x = new ${PLANE()}(rows * SW), h_y = new ${PLANE()}(rows * SW), h_xx = new ${PLANE()}(rows * SW), h_yy = new ${PLANE()}(rows * SW), h_xy = new ${PLANE()}(rows * SW);`,
    '// the offset of the pass-1 row each vertical tap reads, per map row (the zero row for a zero)',
    'const rowOffset = new Int32Array(MH * kh);',
    'for (let q = 0; q < MH * kh; q++) rowOffset[q] = (rowSource[q]! < 0 ? zeroRow : rowSource[q]!) * SW;',
    `const p_x = new ${PLANE()}(PW), p_y = new ${PLANE()}(PW), p_xx = new ${PLANE()}(PW), p_yy = new ${PLANE()}(PW), p_xy = new ${PLANE()}(PW);`,
    '// the taps are symmetric (every window is), so mirrored samples share one multiply',
    'const rH = (kh - 1) >> 1, rW = (kw - 1) >> 1;',
    'const cH = tapsH[rH]!, cW = tapsW[rW]!;',
    '// column block of the vertical passes: kh rows x 5 planes x BLOCK float64 fit a 32 KiB L1',
    'const BLOCK = 64;',
    '// each map row\'s sum of the map over the region, block after block; a plane\'s sum adds the rows in order,',
    '// so a band of rows computed elsewhere (worker threads) combines to the same bits',
    'const rowSum = new Float64Array(MH);',
  );
  if (k !== null) {
    const r = (k - 1) / 2;
    for (const axis of ['H', 'W']) {
      lines.push(`const ${Array.from({ length: r }, (_, t) => `w${axis}${t} = taps${axis}[${t}]!`).join(', ')};`);
    }
  }
  return lines;
}

function pass1(k: number | null): string[] {
  const kk = k === null ? null : k;
  return [
    '// pass 1: pad row i of x and y (and their products) by the boundary rule, correlate with tapsW (derivation eq. 1-2)',
    'for (let i = 0; i < H; i++) {',
    '  const row = base + i * W;',
    '  for (let q = 0; q < PW; q++) {',
    '    const s = colSource[q]!;',
    '    const xv = s < 0 ? 0 : x[row + s]!;',
    '    const yv = s < 0 ? 0 : y[row + s]!;',
    '    p_x[q] = xv; p_y[q] = yv; p_xx[q] = xv * xv; p_yy[q] = yv * yv; p_xy[q] = xv * yv;',
    '  }',
    '  const o = i * SW;',
    '  for (let j = 0; j < MW; j++) {',
    ...symmetricDots(
      kk,
      'W',
      [['s_x', 'p_x'], ['s_y', 'p_y'], ['s_xx', 'p_xx'], ['s_yy', 'p_yy'], ['s_xy', 'p_xy']],
      k === null ? 'j + rW' : plus('j', String((k - 1) / 2)),
      (t) => (k === null ? 'j + t' : plus('j', t)),
      (t) => (k === null ? 'j + kw - 1 - t' : plus('j', String(k - 1 - Number(t)))),
    ).map((l) => `    ${l}`),
    '    h_x[o + j] = s_x; h_y[o + j] = s_y; h_xx[o + j] = s_xx; h_yy[o + j] = s_yy; h_xy[o + j] = s_xy;',
    '  }',
    '}',
  ];
}

/** A plane's sum: its map rows' sums added in row order, weighted into the total; reported per plane and per row when asked. */
function planeTotal(): string[] {
  return [
    'let planeSum = 0;',
    'for (let i = crop; i < MH - crop; i++) planeSum += rowSum[i]!;',
    'total += omega * planeSum;',
    'if (planeSums !== undefined) planeSums[plane] = planeSum;',
    'if (rowSums !== undefined) rowSums.set(rowSum, plane * MH);',
  ];
}

/** Row offsets of the vertical taps of map row i, in locals when unrolled. */
function pass2Rows(k: number | null): string[] {
  if (k === null) return ['const ik = i * kh;'];
  return ['const ik = i * kh;', `const ${Array.from({ length: k }, (_, t) => `o${t} = rowOffset[${plus('ik', String(t))}]!`).join(', ')};`];
}

/** Pass 2's inner body: the five window moments at map pixel (i, j), from the pass-1 planes. */
function moments(k: number | null): string[] {
  const terms: Array<[string, string]> = [['mu_x', 'h_x'], ['mu_y', 'h_y'], ['m_xx', 'h_xx'], ['m_yy', 'h_yy'], ['m_xy', 'h_xy']];
  if (k === null) {
    return symmetricDots(null, 'H', terms, 'rowOffset[ik + rH]! + j', (t) => `rowOffset[ik + ${t}]! + j`, (t) => `rowOffset[ik + kh - 1 - ${t}]! + j`);
  }
  const r = (k - 1) / 2;
  return symmetricDots(k, 'H', terms, `o${r} + j`, (t) => `o${t} + j`, (t) => `o${k - 1 - Number(t)} + j`);
}

function valueKernel(boundary: Boundary, s: Storage, k: number | null, pointwise: string[], flops: number): string {
  const name = `${MAP.prefix}Value${pascal(boundary)}${s.suffix}${k === null ? '' : `K${k}`}`;
  return `/**
 * SSIM of x and y (${s.array} storage), boundary ${boundary}${k === null ? '' : `, ${k} x ${k} window (taps unrolled)`}: the
 * omega-weighted sum of S over the region of the map. Passes 1-2; 5 kw + 5 kh multiply-adds and
 * ${flops} flops of S per pixel.
 */
export function ${name}(x: ${s.array}, y: ${s.array}, p: KernelParams): number {
${indent(setup(boundary, k), 2)}
  let total = 0;
  for (let plane = 0; plane < N * C; plane++) {
    const base = plane * H * W;
    // the reduction weight of this plane's map pixels (one for all, or one per image and channel)
    const omega = planeOmega === undefined ? omegaAll : planeOmega[plane]!;
    rowSum.fill(0);
${indent(pass1(k), 4)}
    // pass 2: vertical correlation with tapsH (eq. 1-2), fused with S (eq. 3-10) and the mean (eq. 11),
    // in column blocks of BLOCK so that the kh rows of the five planes a block reads stay in L1
    for (let jb = crop; jb < MW - crop; jb += BLOCK) {
      const je = Math.min(jb + BLOCK, MW - crop);
      for (let i = crop; i < MH - crop; i++) {
${indent(pass2Rows(k), 8)}
        let blockSum = 0;
        for (let j = jb; j < je; j++) {
${indent([...moments(k), ...pointwise, `blockSum += ${MAP.value};`], 10)}
        }
        rowSum[i] = rowSum[i]! + blockSum;
      }
    }
${indent(planeTotal(), 4)}
  }
  return total;
}
`;
}

function gradKernel(boundary: Boundary, s: Storage, k: number | null, pointwise: string[], pointwiseX: string[], flops: number): string {
  const name = `${MAP.prefix}Grad${pascal(boundary)}${s.suffix}${k === null ? '' : `K${k}`}${ARITH === 'f32' ? 'Arith' : ''}`;
  const A = s.array;
  const P = PLANE();
  const r = k === null ? 0 : (k - 1) / 2;
  // pass 3: padded row rho gathers g rows rho - t (+ kh - 1 in the zero-bordered maps)
  const p3Rows =
    k === null
      ? ['for (let t = 0; t < rH; t++) {', '  above[t] = (rho - t + kh - 1) * SW;', '  below[t] = (rho + t) * SW;', '}']
      : [`const ${Array.from({ length: r }, (_, t) => `u${t} = (rho + ${k - 1 - t}) * SW, v${t} = ${t === 0 ? 'rho * SW' : `(rho + ${t}) * SW`}`).join(', ')};`];
  const p3a = (t: string): string => (k === null ? `above[${t}]! + j` : `u${t} + j`);
  const p3b = (t: string): string => (k === null ? `below[${t}]! + j` : `v${t} + j`);
  const p3center = 'mid + j';
  const p4center = k === null ? 'q + kw - 1 - rW' : plus('q', String(r));
  const p4a = (t: string): string => (k === null ? `q - ${t} + kw - 1` : plus('q', String(k - 1 - Number(t))));
  const p4b = (t: string): string => (k === null ? `q + ${t}` : plus('q', t));
  return `/**
 * SSIM of x and y and its gradient (${A} storage), boundary ${boundary}${k === null ? '' : `, ${k} x ${k} window (taps unrolled)`}:
 * returns the value, writes d/dx into out.gradX and, when given, d/dy into out.gradY (each
 * N x C x H x W). Passes 1-4; 10 kw + 10 kh multiply-adds per pixel (8 kw + 8 kh for d/dx alone)
 * and ${flops} flops of S and its partials.
 */
export function ${name}(x: ${A}, y: ${A}, p: KernelParams, out: GradientOutputs<${A}>): number {
${indent(setup(boundary, k), 2)}
  const withY = out.gradY !== null;
  // pass-2 output: the weighted partial maps g = omega dS/d(moment), zero outside the region, with
  // kh - 1 zero rows above and below (so the vertical transpose needs no bounds: map row i is row i + kh - 1);
  // float64 whatever the storage: the three chain-rule terms cancel, and would amplify float32 rounding
  const GH = MH + 2 * (kh - 1);
  const g_mu_xs = new ${P}(GH * SW), g_xxs = new ${P}(GH * SW), g_xys = new ${P}(GH * SW);
  const g_mu_ys = new ${P}(withY ? GH * SW : 0), g_yys = new ${P}(withY ? GH * SW : 0);
  const above = new Int32Array(kh), below = new Int32Array(kh);
  // pass-4 scratch: each transposed row copied between kw - 1 zeros, and the gathered padded row
  const EW = MW + 2 * (kw - 1);
  const e_mu_x = new ${P}(EW), e_xx = new ${P}(EW), e_xy = new ${P}(EW), e_mu_y = new ${P}(EW), e_yy = new ${P}(EW);
  const a_mu_x = new ${P}(PW), a_xx = new ${P}(PW), a_xy = new ${P}(PW), a_mu_y = new ${P}(PW), a_yy = new ${P}(PW);
  let total = 0;
  for (let plane = 0; plane < N * C; plane++) {
    const base = plane * H * W;
    // the reduction weight of this plane's map pixels (one for all, or one per image and channel)
    const omega = planeOmega === undefined ? omegaAll : planeOmega[plane]!;
    rowSum.fill(0);
${indent(pass1(k), 4)}
    // pass 2: vertical correlation (eq. 1-2) fused with S (eq. 3-10) and its weighted partials (eq. 12-17),
    // in column blocks of BLOCK so that the kh rows of the five planes a block reads stay in L1
    for (let jb = crop; jb < MW - crop; jb += BLOCK) {
      const je = Math.min(jb + BLOCK, MW - crop);
      for (let i = crop; i < MH - crop; i++) {
${indent(pass2Rows(k), 8)}
        const o = (i + kh - 1) * SW;
        let blockSum = 0;
        if (withY) {
          for (let j = jb; j < je; j++) {
${indent([...moments(k), ...pointwise], 12)}
            blockSum += ${MAP.value};
            g_mu_xs[o + j] = g_mu_x; g_xxs[o + j] = g_xx; g_xys[o + j] = g_xy;
            g_mu_ys[o + j] = g_mu_y; g_yys[o + j] = g_yy;
          }
        } else {
          // d/dx alone: the partials with respect to y's moments are not computed
          for (let j = jb; j < je; j++) {
${indent([...moments(k), ...pointwiseX], 12)}
            blockSum += ${MAP.value};
            g_mu_xs[o + j] = g_mu_x; g_xxs[o + j] = g_xx; g_xys[o + j] = g_xy;
          }
        }
        rowSum[i] = rowSum[i]! + blockSum;
      }
    }
    // pass 3: vertical transpose (eq. 18). Padded row rho gathers sum_t tapsH[t] g[rho - t] (mirrored taps
    // paired); then the rows of the padding are folded back onto the rows they were read from (the
    // boundary rule's transpose). Padded row rho of the result lives in row rho of the pass-1 planes.
    for (let jb = 0; jb < MW; jb += BLOCK) {
      const je = Math.min(jb + BLOCK, MW);
      for (let rho = 0; rho < PH; rho++) {
        const o = rho * SW;
        const mid = (rho + rH) * SW;
${indent(p3Rows, 8)}
        for (let j = jb; j < je; j++) {
${indent(symmetricDots(k, 'H', [['s_mu_x', 'g_mu_xs'], ['s_xx', 'g_xxs'], ['s_xy', 'g_xys']], p3center, p3a, p3b), 10)}
          h_x[o + j] = s_mu_x; h_xx[o + j] = s_xx; h_xy[o + j] = s_xy;
        }
        if (withY) {
          for (let j = jb; j < je; j++) {
${indent(symmetricDots(k, 'H', [['s_mu_y', 'g_mu_ys'], ['s_yy', 'g_yys']], p3center, p3a, p3b), 12)}
            h_y[o + j] = s_mu_y; h_yy[o + j] = s_yy;
          }
        }
      }
    }
    for (let rho = 0; rho < PH; rho++) {
      if (rho >= offH && rho < offH + H) continue; // an image row: nothing to fold
      const s = source(rho - offH, H);
      if (s < 0) continue;
      const from = rho * SW, to = (s + offH) * SW;
      for (let j = 0; j < MW; j++) {
        h_x[to + j] += h_x[from + j]!; h_xx[to + j] += h_xx[from + j]!; h_xy[to + j] += h_xy[from + j]!;
        if (withY) { h_y[to + j] += h_y[from + j]!; h_yy[to + j] += h_yy[from + j]!; }
      }
    }
    // pass 4: horizontal transpose (eq. 18; gather into a padded row, fold the padding back), fused with the
    // chain rule d/dx = W^T g_mu + 2 x W^T g_xx + y W^T g_xy (eq. 19; eq. 20 for d/dy)
    const gx = out.gradX, gy = out.gradY;
    for (let i = 0; i < H; i++) {
      const o = (i + offH) * SW;
      e_mu_x.set(h_x.subarray(o, o + MW), kw - 1); e_xx.set(h_xx.subarray(o, o + MW), kw - 1); e_xy.set(h_xy.subarray(o, o + MW), kw - 1);
      if (withY) { e_mu_y.set(h_y.subarray(o, o + MW), kw - 1); e_yy.set(h_yy.subarray(o, o + MW), kw - 1); }
      for (let q = 0; q < PW; q++) {
${indent(symmetricDots(k, 'W', [['s_mu_x', 'e_mu_x'], ['s_xx', 'e_xx'], ['s_xy', 'e_xy']], p4center, p4a, p4b), 8)}
        a_mu_x[q] = s_mu_x; a_xx[q] = s_xx; a_xy[q] = s_xy;
      }
      if (withY) {
        for (let q = 0; q < PW; q++) {
${indent(symmetricDots(k, 'W', [['s_mu_y', 'e_mu_y'], ['s_yy', 'e_yy']], p4center, p4a, p4b), 10)}
          a_mu_y[q] = s_mu_y; a_yy[q] = s_yy;
        }
      }
      for (let q = 0; q < PW; q++) {
        if (q >= offW && q < offW + W) continue;
        const s = colSource[q]!;
        if (s < 0) continue;
        a_mu_x[s + offW] += a_mu_x[q]!; a_xx[s + offW] += a_xx[q]!; a_xy[s + offW] += a_xy[q]!;
        a_mu_y[s + offW] += a_mu_y[q]!; a_yy[s + offW] += a_yy[q]!;
      }
      const row = base + i * W;
      for (let j = 0; j < W; j++) {
        const xv = x[row + j]!, yv = y[row + j]!, q = j + offW;
        gx[row + j] = ${F(`${F(`a_mu_x[q]! + ${F(`${F('2 * xv')} * a_xx[q]!`)}`)} + ${F('yv * a_xy[q]!')}`)};
        if (gy !== null) gy[row + j] = ${F(`${F(`a_mu_y[q]! + ${F(`${F('2 * yv')} * a_yy[q]!`)}`)} + ${F('xv * a_xy[q]!')}`)};
      }
    }
${indent(planeTotal(), 4)}
  }
  return total;
}
`;
}

/** Rewrites `a[i] += e;` as `a[i] = a[i]! + e;` (the strict index checks reject compound assignment). */
function strictAssign(code: string): string {
  return code.replace(/([a-z_]+\[[^\]\n]+\]) \+= ([^;\n]+);/g, (_, lhs: string, rhs: string) => `${lhs} = ${lhs}! + ${rhs};`);
}

/** What every kernel file opens with: the import, and the boundary rule's index functions. */
function prelude(boundary: Boundary): string[] {
  const rule = BOUNDARY_SOURCE[boundary];
  return [
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
}

/** The generated file for one boundary rule. */
export function emitSsimKernelFile(boundary: Boundary): string {
  const g = pointwiseGraphs();
  const value = emitPointwise(g.value, g.names);
  const grad = emitPointwise(g.grad, g.names);
  const gradX = emitPointwise(g.grad.slice(0, 4), g.names);
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
// Taps are symmetric, so each dot product pairs mirrored samples (11 taps: 6 multiplies, 10 adds); the
// K7 and K11 kernels have their taps unrolled, the others loop. Vertical passes run in column blocks
// over planes with a row stride of width + 8 (no 4 KiB aliasing between the rows a tap reads).
// Temporaries keep the derivation's names: mu_x, var_x, cov, A1, B1, A2, B2, S; g_* are omega dS/d(moment).
// Equation numbers refer to derivations/ssim-<preset>.md (ssim-matlab.md numbers one higher: it opens with
// the downsampling, which runs before these kernels).
`;
  const body = [
    header,
    ...prelude(boundary),
  ];
  for (const k of [null, ...UNROLLED_SIZES]) {
    for (const s of STORAGES) {
      body.push(strictAssign(valueKernel(boundary, s, k, value.lines, value.flops)));
      body.push(strictAssign(gradKernel(boundary, s, k, grad.lines, gradX.lines, grad.flops)));
    }
  }
  // float32 arithmetic emulated (the rounding floor of the checker): loops, Float32Array storage
  const g32 = emitPointwise(g.grad, g.names, 'f32');
  const g32x = emitPointwise(g.grad.slice(0, 4), g.names, 'f32');
  body.push(
    '/** The same value-and-gradient kernel in emulated float32 arithmetic (Math.fround after every operation, float32 planes): what a float32 GPU kernel computes, for the rounding floor. */',
    withArithmetic('f32', () => strictAssign(gradKernel(boundary, STORAGES[1]!, null, g32.lines, g32x.lines, g32.flops))),
  );
  return body.join('\n');
}

/**
 * The kernels of MS-SSIM's contrast-structure map cs = A2/B2 for one boundary rule: value and
 * value-and-gradient, float64 storage, generic and unrolled for 11 taps, with a weight per plane.
 */
export function emitCsKernelFile(boundary: Boundary): string {
  return emitMapKernelFile(boundary, csMap(), 'cs', `MS-SSIM's contrast-structure map cs = A2 / B2`, 'MS-SSIM calls them with planeOmega (its product rule weighs each image\n// and channel differently) and reads planeSums, the per-plane sums of cs.');
}

/** The kernels of Wang's general form l^alpha c^beta s^gamma, the exponents runtime parameters (p.alpha, p.beta, p.gamma). */
export function emitWangKernelFile(boundary: Boundary): string {
  return emitMapKernelFile(boundary, wangMapParametric(), 'wang', "Wang et al.'s general form l^alpha c^beta s^gamma (alpha, beta, gamma parameters)", 'Where a variance is zero, d sigma / d var is taken as 0 (see src/ssim/maps.ts, wangMap).');
}

function emitMapKernelFile(boundary: Boundary, map: MapGraph, prefix: string, what: string, note: string): string {
  const g = pointwiseGraphs(map);
  const value = emitPointwise(g.value, g.names);
  const grad = emitPointwise(g.grad, g.names);
  const gradX = emitPointwise(g.grad.slice(0, 4), g.names);
  const rule = BOUNDARY_SOURCE[boundary];
  const body = [
    `// Generated by \`${GENERATE_COMMAND}\` (scripts/generate.ts, src/emit/kernels.ts) from the SSIM
// expression graph. Do not edit: change the emitter and regenerate; a test fails when this is stale.
//
// ${what}, boundary '${boundary}' (${rule.doc}): the same passes and schedule as the SSIM kernels
// (see ssim-${boundary}.ts), with this map (${value.flops} flops; ${grad.flops} with its weighted partials) in place of S.
// ${note}
`,
    ...prelude(boundary),
  ];
  withMap({ value: map.name, prefix }, () => {
    for (const k of [null, 11]) {
      body.push(strictAssign(valueKernel(boundary, STORAGES[0]!, k, value.lines, value.flops)));
      body.push(strictAssign(gradKernel(boundary, STORAGES[0]!, k, grad.lines, gradX.lines, grad.flops)));
    }
  });
  return body.join('\n');
}

function withMap(map: { value: string; prefix: string }, f: () => void): void {
  const saved = MAP;
  MAP = map;
  try {
    f();
  } finally {
    MAP = saved;
  }
}

/** The generated index: one table from boundary to kernels. */
export function emitIndexFile(boundaries: readonly Boundary[]): string {
  const variants = [null, ...UNROLLED_SIZES];
  const names = (b: Boundary, k: number | null): string[] =>
    ['Value', 'Grad'].flatMap((kind) => ['F64', 'F32'].map((st) => `ssim${kind}${pascal(b)}${st}${k === null ? '' : `K${k}`}`));
  const entry = (b: Boundary, k: number | null): string => {
    const [vf64, vf32, gf64, gf32] = names(b, k);
    return `{ valueF64: ${vf64}, valueF32: ${vf32}, gradF64: ${gf64}, gradF32: ${gf32} }`;
  };
  const lines = [
    `// Generated by \`${GENERATE_COMMAND}\` (scripts/generate.ts). Do not edit.`,
    '// The kernel table: boundary rule -> window size (unrolled) or generic -> kernels per storage type.',
    '',
    ...boundaries.map((b) => `import {\n  ${[...variants.flatMap((k) => names(b, k)), `ssimGrad${pascal(b)}F32Arith`].join(',\n  ')},\n} from './ssim-${b}.js';`),
    ...boundaries.map((b) => `import { csGrad${pascal(b)}F64, csGrad${pascal(b)}F64K11, csValue${pascal(b)}F64, csValue${pascal(b)}F64K11 } from './cs-${b}.js';`),
    ...boundaries.map((b) => `import { wangGrad${pascal(b)}F64, wangGrad${pascal(b)}F64K11, wangValue${pascal(b)}F64, wangValue${pascal(b)}F64K11 } from './wang-${b}.js';`),
    '',
    `/** Window sizes with unrolled kernels. */`,
    `export const unrolledSizes: readonly number[] = [${UNROLLED_SIZES.join(', ')}];`,
    '',
    'export const ssimKernels = {',
    ...boundaries.map((b) => `  ${b}: {\n    generic: ${entry(b, null)},\n${UNROLLED_SIZES.map((k) => `    k${k}: ${entry(b, k)},`).join('\n')}\n    gradF32Arith: ssimGrad${pascal(b)}F32Arith,\n  },`),
    '} as const;',
    '',
    '/** Wang\'s kernels (float64; alpha, beta, gamma in the parameters): boundary rule -> generic or 11 taps unrolled. */',
    'export const wangKernels = {',
    ...boundaries.map((b) => `  ${b}: { generic: { value: wangValue${pascal(b)}F64, grad: wangGrad${pascal(b)}F64 }, k11: { value: wangValue${pascal(b)}F64K11, grad: wangGrad${pascal(b)}F64K11 } },`),
    '} as const;',
    '',
    '/** MS-SSIM\'s cs kernels (float64): boundary rule -> generic or 11 taps unrolled. */',
    'export const csKernels = {',
    ...boundaries.map((b) => `  ${b}: { generic: { value: csValue${pascal(b)}F64, grad: csGrad${pascal(b)}F64 }, k11: { value: csValue${pascal(b)}F64K11, grad: csGrad${pascal(b)}F64K11 } },`),
    '} as const;',
    '',
  ];
  return lines.join('\n');
}
