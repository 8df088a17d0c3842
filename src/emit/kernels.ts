/**
 * The TypeScript kernel emitter. From a pointwise map of the window moments (S, from pointwise.ts
 * in src/model, or another: families.ts) and a schedule it writes a value kernel and a
 * value-and-gradient kernel per storage type, for every boundary rule. The algorithm is the graph;
 * the schedule (Halide's split) is here:
 *
 *   pass 1  horizontal correlation of x, y, x*x, y*y, x*y with tapsW (rows padded by the rule)
 *   pass 2  vertical correlation with tapsH, fused with the pointwise S (and its partials) and the sum
 *   pass 3  vertical transpose of the partial maps             (gradient only)
 *   pass 4  horizontal transpose, fused with the chain rule      (gradient only)
 *           d/dx = W^T g_mu + 2 x W^T g_xx + y W^T g_xy
 *
 * Every pass gathers (a dot product per output, accumulators in registers, one store). Window
 * taps, constants and sizes are parameters; taps must be symmetric (every window ssim-grad builds
 * is), so passes 1-2 share one multiply between mirrored samples. The boundary rule is a runtime
 * parameter (p.padding): it only builds the index tables (where a padded sample reads, where its
 * adjoint is folded back), through boundaryIndex of src/field/axis.ts, outside the inner loops.
 * Specialised: the storage type, the unrolled window sizes, and the emulated float32 arithmetic.
 * Which maps get kernels, and with what, is a list (families.ts).
 */
import { mul, variable, vjp, type Node } from '../expr/index.js';
import { momentProducts, pointwiseSsim } from '../model/pointwise.js';
import { ssimMap, type MapGraph } from '../model/maps.js';
import { arrayNameOf, precisionOf, suffixOf, type Precision, type StorageSuffix } from '../field/index.js';
import type { KernelFamily } from './families.js';
import { emitPointwise, type Language, type PointwiseCode } from '../expr/pointwise.js';

export const GENERATE_COMMAND = 'npm run generate';

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
  readonly suffix: StorageSuffix;
  readonly array: ReturnType<typeof arrayNameOf>;
}

/** A storage precision's kernel-name suffix and typed array. */
const storage = (p: Precision): Storage => ({ suffix: suffixOf(p), array: arrayNameOf(p) });

/**
 * What one kernel is emitted for, handed down to every printer below (never kept between calls).
 * `arith`: 'float64' as written, or 'float32' (Math.fround after every operation and Float32Array planes),
 * which emulates a float32 GPU kernel for measuring the rounding floor. The rest is the family's:
 * the name its map's value goes by in the kernel, its name, its runtime scalar parameters.
 */
interface KernelContext {
  readonly arith: Precision;
  readonly value: string;
  readonly name: string;
  readonly params: Readonly<Record<string, number>>;
}

/** e, rounded to float32 after the operation when the arithmetic is float32. */
const rounded = (arith: Precision, e: string): string => (arith === 'float32' ? `Math.fround(${e})` : e);
/** The typed array of the scratch planes. */
const planeArray = arrayNameOf;

/**
 * One symmetric dot product per accumulator: acc = c * arr[center] + sum_{t < r} w_t (arr[a(t)] + arr[b(t)]).
 * With `k` null the tap loop is a loop over the runtime taps; with a size it is unrolled, the taps in locals.
 */
function symmetricDots(
  arith: Precision,
  k: number | null,
  axis: 'H' | 'W',
  terms: ReadonlyArray<readonly [acc: string, arr: string]>,
  center: string,
  a: (t: string) => string,
  b: (t: string) => string,
): string[] {
  if (k === null) {
    const F = (e: string): string => rounded(arith, e);
    const update = ([acc, arr]: readonly [string, string]): string =>
      arith === 'float32' ? `${acc} = ${F(`${acc} + ${F(`w * ${F(`${arr}[a]! + ${arr}[b]!`)}`)}`)};` : `${acc} += w * (${arr}[a]! + ${arr}[b]!);`;
    return [
      `let ${terms.map(([acc, arr]) => `${acc} = ${F(`c${axis} * ${arr}[${center}]!`)}`).join(', ')};`,
      `for (let t = 0; t < r${axis}; t++) {`,
      `  const w = taps${axis}[t]!, a = ${a('t')}, b = ${b('t')};`,
      `  ${terms.map(update).join(' ')}`,
      '}',
    ];
  }
  if (arith === 'float32') throw new Error('symmetricDots: float32 arithmetic is emitted with loops only');
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
function setup(c: KernelContext, k: number | null): string[] {
  const params = Object.entries(c.params);
  const P = planeArray(c.arith);
  const lines = [
    'const { N, C, H, W, tapsH, tapsW, C1, C2, c_n, crop, omega: omegaAll, planeOmega, planeSums, rowSums, padding } = p;',
    ...(params.length === 0 ? [] : [`const { ${params.map(([name, d]) => `${name} = ${d}`).join(', ')} } = p;`]),
    'const kh = tapsH.length;',
    'const kw = tapsW.length;',
  ];
  if (k !== null) lines.push(`if (kh !== ${k} || kw !== ${k}) throw new Error('this kernel is unrolled for ${k} x ${k} windows');`);
  lines.push(
    "// the map has the image size, or under 'valid' one value per window that fits (mapSize; no padding:",
    '// the index tables then never read outside, and nothing is folded back)',
    'const { MH, MW } = mapSize(padding, H, W, kh, kw);',
    "const valid = padding === 'valid';",
    'const offH = valid ? 0 : (kh - 1) >> 1;',
    'const offW = valid ? 0 : (kw - 1) >> 1;',
    '// padded rows and columns: MW + kw - 1 samples per row, MH + kh - 1 rows; boundaryIndex(q - off) is what each reads',
    'const PW = MW + kw - 1;',
    '// row stride of the planes: MW plus one cache line, so that the kh rows a vertical tap reads do',
    '// not all fall in the same L1 sets (a power-of-two width would alias them)',
    'const SW = MW + 8;',
    'const PH = MH + kh - 1;',
    'const colSource = axisSources(PW, W, offW, padding);',
    'const rowSource = windowRows(MH, kh, H, offH, padding);',
    '// the horizontally filtered planes (pass 1), reused for the vertical transpose (pass 3): float64',
    '// whatever the storage, since var = m_xx - mu_x^2 cancels; the storage type is that of inputs and outputs.',
    '// One more row, kept zero: what a window reads outside the image under zero padding.',
    'const rows = Math.max(H, PH) + 1;',
    'const zeroRow = rows - 1;',
    `const h_x = new ${P}(rows * SW), h_y = new ${P}(rows * SW), h_xx = new ${P}(rows * SW), h_yy = new ${P}(rows * SW), h_xy = new ${P}(rows * SW);`,
    '// the offset of the pass-1 row each vertical tap reads, per map row (the zero row for a zero)',
    'const rowOffset = new Int32Array(MH * kh);',
    'for (let q = 0; q < MH * kh; q++) rowOffset[q] = (rowSource[q]! < 0 ? zeroRow : rowSource[q]!) * SW;',
    `const p_x = new ${P}(PW), p_y = new ${P}(PW), p_xx = new ${P}(PW), p_yy = new ${P}(PW), p_xy = new ${P}(PW);`,
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

function pass1(arith: Precision, k: number | null): string[] {
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
      arith,
      k,
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
function moments(arith: Precision, k: number | null): string[] {
  const terms: Array<[string, string]> = [['mu_x', 'h_x'], ['mu_y', 'h_y'], ['m_xx', 'h_xx'], ['m_yy', 'h_yy'], ['m_xy', 'h_xy']];
  if (k === null) {
    return symmetricDots(arith, null, 'H', terms, 'rowOffset[ik + rH]! + j', (t) => `rowOffset[ik + ${t}]! + j`, (t) => `rowOffset[ik + kh - 1 - ${t}]! + j`);
  }
  const r = (k - 1) / 2;
  return symmetricDots(arith, k, 'H', terms, `o${r} + j`, (t) => `o${t} + j`, (t) => `o${k - 1 - Number(t)} + j`);
}

/**
 * What both kernels open with after the set-up, up to pass 2's inner loop: the loop over the planes,
 * this plane's weight, pass 1, and pass 2's column blocks and map rows; `fused` says what pass 2
 * computes besides the vertical correlation.
 */
function planesOpening(c: KernelContext, k: number | null, fused: string): string {
  return `  let total = 0;
  for (let plane = 0; plane < N * C; plane++) {
    const base = plane * H * W;
    // the reduction weight of this plane's map pixels (one for all, or one per image and channel)
    const omega = planeOmega === undefined ? omegaAll : planeOmega[plane]!;
    rowSum.fill(0);
${indent(pass1(c.arith, k), 4)}
    // pass 2: vertical correlation ${fused},
    // in column blocks of BLOCK so that the kh rows of the five planes a block reads stay in L1
    for (let jb = crop; jb < MW - crop; jb += BLOCK) {
      const je = Math.min(jb + BLOCK, MW - crop);
      for (let i = crop; i < MH - crop; i++) {
${indent(pass2Rows(k), 8)}`;
}

function valueKernel(c: KernelContext, s: Storage, k: number | null, pointwise: string[], flops: number): string {
  const name = `${c.name}Value${s.suffix}${k === null ? '' : `K${k}`}`;
  return `/**
 * The omega-weighted sum of ${c.value} over the region of the map of x and y (${s.array} storage),
 * boundary rule p.padding${k === null ? '' : `, ${k} x ${k} window (taps unrolled)`}. Passes 1-2; 5 kw + 5 kh multiply-adds and
 * ${flops} flops of ${c.value} per pixel.
 */
export function ${name}(x: ${s.array}, y: ${s.array}, p: KernelParams): number {
${indent(setup(c, k), 2)}
${planesOpening(c, k, 'with tapsH (eq. 1-2), fused with S (eq. 3-10) and the mean (eq. 11)')}
        let blockSum = 0;
        for (let j = jb; j < je; j++) {
${indent([...moments(c.arith, k), ...pointwise, `blockSum += ${c.value};`], 10)}
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

function gradKernel(c: KernelContext, s: Storage, k: number | null, pointwise: string[], pointwiseX: string[], flops: number): string {
  const name = `${c.name}Grad${s.suffix}${k === null ? '' : `K${k}`}${c.arith === 'float32' ? 'Arith' : ''}`;
  const chain = chainRule(c.arith);
  const A = s.array;
  const P = planeArray(c.arith);
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
 * The omega-weighted sum of ${c.value} over the region of the map of x and y, and its gradient (${A} storage),
 * boundary rule p.padding${k === null ? '' : `, ${k} x ${k} window (taps unrolled)`}: returns the value, writes d/dx into out.gradX and, when given, d/dy into out.gradY (each
 * N x C x H x W). Passes 1-4; 10 kw + 10 kh multiply-adds per pixel (8 kw + 8 kh for d/dx alone)
 * and ${flops} flops of ${c.value} and its partials.
 */
export function ${name}(x: ${A}, y: ${A}, p: KernelParams, out: GradientOutputs<${A}>): number {
${indent(setup(c, k), 2)}
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
${planesOpening(c, k, '(eq. 1-2) fused with S (eq. 3-10) and its weighted partials (eq. 12-17)')}
        const o = (i + kh - 1) * SW;
        let blockSum = 0;
        if (withY) {
          for (let j = jb; j < je; j++) {
${indent([...moments(c.arith, k), ...pointwise], 12)}
            blockSum += ${c.value};
            g_mu_xs[o + j] = g_mu_x; g_xxs[o + j] = g_xx; g_xys[o + j] = g_xy;
            g_mu_ys[o + j] = g_mu_y; g_yys[o + j] = g_yy;
          }
        } else {
          // d/dx alone: the partials with respect to y's moments are not computed
          for (let j = jb; j < je; j++) {
${indent([...moments(c.arith, k), ...pointwiseX], 12)}
            blockSum += ${c.value};
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
${indent(symmetricDots(c.arith, k, 'H', [['s_mu_x', 'g_mu_xs'], ['s_xx', 'g_xxs'], ['s_xy', 'g_xys']], p3center, p3a, p3b), 10)}
          h_x[o + j] = s_mu_x; h_xx[o + j] = s_xx; h_xy[o + j] = s_xy;
        }
        if (withY) {
          for (let j = jb; j < je; j++) {
${indent(symmetricDots(c.arith, k, 'H', [['s_mu_y', 'g_mu_ys'], ['s_yy', 'g_yys']], p3center, p3a, p3b), 12)}
            h_y[o + j] = s_mu_y; h_yy[o + j] = s_yy;
          }
        }
      }
    }
    for (let rho = 0; rho < PH; rho++) {
      if (rho >= offH && rho < offH + H) continue; // an image row: nothing to fold
      const s = boundaryIndex(rho - offH, H, padding);
      if (s < 0) continue;
      const from = rho * SW, to = (s + offH) * SW;
      for (let j = 0; j < MW; j++) {
        h_x[to + j] += h_x[from + j]!; h_xx[to + j] += h_xx[from + j]!; h_xy[to + j] += h_xy[from + j]!;
        if (withY) { h_y[to + j] += h_y[from + j]!; h_yy[to + j] += h_yy[from + j]!; }
      }
    }
    // pass 4: horizontal transpose (eq. 18; gather into a padded row, fold the padding back), fused with the
    // chain rule d/dx = W^T g_mu + 2 x W^T g_xx + y W^T g_xy (eq. 19; eq. 20 for d/dy): the vjp of the
    // moment products x, y, x x, y y, x y seeded with the transposed partials t_* (momentProducts)
    const gx = out.gradX, gy = out.gradY;
    for (let i = 0; i < H; i++) {
      const o = (i + offH) * SW;
      e_mu_x.set(h_x.subarray(o, o + MW), kw - 1); e_xx.set(h_xx.subarray(o, o + MW), kw - 1); e_xy.set(h_xy.subarray(o, o + MW), kw - 1);
      if (withY) { e_mu_y.set(h_y.subarray(o, o + MW), kw - 1); e_yy.set(h_yy.subarray(o, o + MW), kw - 1); }
      for (let q = 0; q < PW; q++) {
${indent(symmetricDots(c.arith, k, 'W', [['s_mu_x', 'e_mu_x'], ['s_xx', 'e_xx'], ['s_xy', 'e_xy']], p4center, p4a, p4b), 8)}
        a_mu_x[q] = s_mu_x; a_xx[q] = s_xx; a_xy[q] = s_xy;
      }
      if (withY) {
        for (let q = 0; q < PW; q++) {
${indent(symmetricDots(c.arith, k, 'W', [['s_mu_y', 'e_mu_y'], ['s_yy', 'e_yy']], p4center, p4a, p4b), 10)}
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
        const t_mu_x = a_mu_x[q]!, t_xx = a_xx[q]!, t_xy = a_xy[q]!;
${indent(chain.dx, 8)}
        gx[row + j] = d_x;
        if (gy !== null) {
          const t_mu_y = a_mu_y[q]!, t_yy = a_yy[q]!;
${indent(chain.dy, 10)}
          gy[row + j] = d_y;
        }
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

/**
 * The chain rule of pass 4, printed from the scalar graph: the vector-Jacobian product of the
 * moment products (x, y, x x, y y, x y; momentProducts) seeded with the transposed partials t_*,
 * so the 2x of d(x x)/dx comes from the graph, not from this file. d_x and d_y are the outputs,
 * over the locals xv, yv and t_*; TypeScript or C++ (with `type` for its declarations). The reverse
 * sweep creates the later products' contributions first and a sum keeps its terms in creation
 * order, so the products go in as x, y, x y, x x, y y: the sums then read t_mu + 2 x t_xx + y t_xy,
 * left to right, the order the kernels have always added in (the same bits).
 */
export function chainRule(arith: Precision, lang: Language = 'ts', type = 'T'): { dx: string[]; dy: string[] } {
  const { x, y, products: p } = momentProducts('xv', 'yv');
  const seeds = ['t_mu_x', 't_mu_y', 't_xy', 't_xx', 't_yy'].map(variable);
  const outputs = [p.mu_x, p.mu_y, p.m_xy, p.m_xx, p.m_yy];
  const [dx] = vjp(outputs, seeds, [x]);
  const [dy] = vjp(outputs, seeds, [y]);
  const code = (name: string, node: Node, temp: string): string[] =>
    // temporaries tx0, ... and ty0, ...: d/dy's block does not shadow d/dx's
    emitPointwise([[name, node]], new Map(), { lang, fround: arith === 'float32' }).lines.map((l) => l.replace(/\bt(\d+)\b/g, `${temp}$1`).replace(/^const T /, `const ${type} `).replace(/\bT\(/g, `${type}(`));
  return { dx: code('d_x', dx!, 'tx'), dy: code('d_y', dy!, 'ty') };
}

/** What every kernel file opens with: the imports, and the index tables built by the boundary rule. */
function prelude(): string[] {
  return [
    "import type { GradientOutputs, KernelParams } from '../emit/params.js';",
    "import { boundaryIndex, type Boundary } from '../field/axis.js';",
    "import { mapSize } from '../model/geometry.js';",
    '',
    '/** Column sources of a padded row of length pw over a row of length n, starting at -offset (-1: a zero). */',
    'function axisSources(pw: number, n: number, offset: number, rule: Boundary): Int32Array {',
    '  const t = new Int32Array(pw);',
    '  for (let q = 0; q < pw; q++) t[q] = boundaryIndex(q - offset, n, rule);',
    '  return t;',
    '}',
    '',
    '/** Rows read by the k taps of each of the m output rows over an axis of length n (-1: a zero). */',
    'function windowRows(m: number, k: number, n: number, offset: number, rule: Boundary): Int32Array {',
    '  const t = new Int32Array(m * k);',
    '  for (let i = 0; i < m; i++) for (let s = 0; s < k; s++) t[i * k + s] = boundaryIndex(i + s - offset, n, rule);',
    '  return t;',
    '}',
    '',
  ];
}

/** The kernel names of a family at one window size (null: generic), by storage. */
function kernelNames(family: KernelFamily, k: number | null, s: StorageSuffix): { value: string; grad: string } {
  const size = k === null ? '' : `K${k}`;
  return { value: `${family.name}Value${s}${size}`, grad: `${family.name}Grad${s}${size}` };
}

/**
 * The generated file of one family: value and value-and-gradient kernels for each of its storage
 * types, generic and unrolled for each of its window sizes, and the emulated float32 one if asked.
 */
export function emitMapKernelFile(family: KernelFamily): string {
  const graph = family.map();
  const g = pointwiseGraphs(graph);
  const value = emitPointwise(g.value, g.names);
  const grad = emitPointwise(g.grad, g.names);
  const gradX = emitPointwise(g.grad.slice(0, 4), g.names);
  const v = graph.name;
  const header = `// Generated by \`${GENERATE_COMMAND}\` (scripts/generate.ts, src/emit/kernels.ts) from the SSIM
// expression graph. Do not edit: change the emitter and regenerate; a test fails when this is stale.
//
// ${family.what}, map ${v}; every boundary rule (p.padding, at run time: it builds the index tables).
// Value kernel, 2 passes over memory:
//   1. horizontal correlation of x, y, x*x, y*y, x*y with tapsW: 5 kw multiply-adds per pixel
//   2. vertical correlation with tapsH (5 kh multiply-adds per map pixel) fused with ${v} (${value.flops} flops) and the sum
//   multiply-adds per pixel: 5 kw + 5 kh = 110 for 11 taps
// Value-and-gradient kernel, 4 passes:
//   1-2. as above, with ${v}'s five weighted partials (${grad.flops} flops)
//   3. vertical transpose of the partial maps: 5 kh multiply-adds (3 kh for d/dx alone)
//   4. horizontal transpose fused with the chain rule: 5 kw multiply-adds + 5 (3 kw + 3 for d/dx alone)
//   multiply-adds per pixel: 10 kw + 10 kh = 220 for 11 taps (8 kw + 8 kh = 176 for d/dx alone)
// Taps are symmetric, so each dot product pairs mirrored samples (11 taps: 6 multiplies, 10 adds); the
// ${family.unrolled.map((k) => `K${k}`).join(' and ')} kernels have their taps unrolled, the others loop. Vertical passes run in column blocks
// over planes with a row stride of width + 8 (no 4 KiB aliasing between the rows a tap reads).
// ${family.note.split('\n').join('\n// ')}
`;
  const body = [header, ...prelude()];
  const f64: KernelContext = { arith: 'float64', value: v, name: family.name, params: family.params };
  for (const k of [null, ...family.unrolled]) {
    for (const s of family.storages) {
      body.push(strictAssign(valueKernel(f64, storage(precisionOf(s)), k, value.lines, value.flops)));
      body.push(strictAssign(gradKernel(f64, storage(precisionOf(s)), k, grad.lines, gradX.lines, grad.flops)));
    }
  }
  if (family.f32Arith) {
    // float32 arithmetic emulated (the rounding floor of the checker): loops, Float32Array storage
    const g32: PointwiseCode = emitPointwise(g.grad, g.names, { fround: true });
    const g32x = emitPointwise(g.grad.slice(0, 4), g.names, { fround: true });
    body.push(
      '/** The same value-and-gradient kernel in emulated float32 arithmetic (Math.fround after every operation, float32 planes): what a float32 GPU kernel computes, for the rounding floor. */',
      strictAssign(gradKernel({ ...f64, arith: 'float32' }, storage('float32'), null, g32.lines, g32x.lines, g32.flops)),
    );
  }
  return body.join('\n');
}

/**
 * The generated index: per family, a table from boundary rule to window size (k<size>, unrolled, or
 * generic) to kernels per storage type. Every rule's entry holds the same kernels with the rule set:
 * the table's key is the boundary the kernel runs (p.padding is set to it).
 */
export function emitIndexFile(families: readonly KernelFamily[]): string {
  const lines = [
    `// Generated by \`${GENERATE_COMMAND}\` (scripts/generate.ts). Do not edit.`,
    '// The kernel tables: boundary rule -> window size (unrolled) or generic -> kernels per storage type.',
    '',
    "import type { GradientOutputs, KernelParams } from '../emit/params.js';",
    "import { BOUNDARIES, type Boundary } from '../field/axis.js';",
  ];
  for (const f of families) {
    const names = [null, ...f.unrolled].flatMap((k) => f.storages.flatMap((s) => Object.values(kernelNames(f, k, s))));
    if (f.f32Arith) names.push(`${f.name}GradF32Arith`);
    lines.push(`import {\n  ${names.join(',\n  ')},\n} from './${f.name}.js';`);
  }
  const sizes = [...new Set(families.flatMap((f) => f.unrolled))].sort((a, b) => a - b);
  lines.push(
    '',
    '/** Window sizes with unrolled kernels. */',
    `export const unrolledSizes: readonly number[] = [${sizes.join(', ')}];`,
    '',
    '/** A value kernel with the boundary rule b. */',
    'function value<A>(b: Boundary, f: (x: A, y: A, p: KernelParams) => number): (x: A, y: A, p: KernelParams) => number {',
    '  return (x, y, p) => f(x, y, p.padding === b ? p : { ...p, padding: b });',
    '}',
    '',
    '/** A value-and-gradient kernel with the boundary rule b. */',
    'function grad<A>(b: Boundary, f: (x: A, y: A, p: KernelParams, out: GradientOutputs<A>) => number): (x: A, y: A, p: KernelParams, out: GradientOutputs<A>) => number {',
    '  return (x, y, p, out) => f(x, y, p.padding === b ? p : { ...p, padding: b }, out);',
    '}',
    '',
    '/** The table of every boundary rule. */',
    'function byBoundary<T>(entry: (b: Boundary) => T): Readonly<Record<Boundary, T>> {',
    '  return Object.fromEntries(BOUNDARIES.map((b) => [b, entry(b)])) as Record<Boundary, T>;',
    '}',
  );
  for (const f of families) {
    const one = f.storages.length === 1;
    const entry = (k: number | null): string =>
      `{ ${f.storages
        .flatMap((s) => {
          const n = kernelNames(f, k, s);
          return [`value${one ? '' : s}: value(b, ${n.value})`, `grad${one ? '' : s}: grad(b, ${n.grad})`];
        })
        .join(', ')} }`;
    lines.push(
      '',
      `/** ${f.what}: boundary rule -> generic or ${f.unrolled.map((k) => `${k}`).join(' or ')} taps unrolled -> ${one ? `the ${f.storages[0]} kernels` : 'kernels per storage type'}. */`,
      `export const ${f.name}Kernels = byBoundary((b) => ({`,
      `  generic: ${entry(null)},`,
      ...f.unrolled.map((k) => `  k${k}: ${entry(k)},`),
      ...(f.f32Arith ? [`  gradF32Arith: grad(b, ${f.name}GradF32Arith),`] : []),
      '}));',
    );
  }
  // every family's float64 kernels by the family's name, for the field graph's blocks (src/graph/kernels.ts)
  const f64 = (f: KernelFamily, k: number | null): string => {
    const n = kernelNames(f, k, suffixOf('float64'));
    return `{ value: value(b, ${n.value}), grad: grad(b, ${n.grad}) }`;
  };
  lines.push(
    '',
    '/** A float64 value kernel and its value-and-gradient kernel. */',
    'export interface Float64Kernels {',
    '  readonly value: (x: Float64Array, y: Float64Array, p: KernelParams) => number;',
    '  readonly grad: (x: Float64Array, y: Float64Array, p: KernelParams, out: GradientOutputs<Float64Array>) => number;',
    '}',
    '',
    '/** Every family\'s float64 kernels by its name: boundary rule -> generic or k<size> (taps unrolled). */',
    'export const float64Kernels: Readonly<Record<string, Readonly<Record<Boundary, Readonly<Record<string, Float64Kernels>>>>>> = {',
    ...families.map((f) => `  ${f.name}: byBoundary((b) => ({ generic: ${f64(f, null)}, ${f.unrolled.map((k) => `k${k}: ${f64(f, k)}`).join(', ')} })),`),
    '};',
    '',
    '/** The families with a value-and-gradient kernel in emulated float32 arithmetic, by name: boundary rule -> that kernel. */',
    'export const float32ArithKernels: Readonly<Record<string, Readonly<Record<Boundary, (x: Float32Array, y: Float32Array, p: KernelParams, out: GradientOutputs<Float32Array>) => number>>>> = {',
    ...families.filter((f) => f.f32Arith).map((f) => `  ${f.name}: byBoundary((b) => grad(b, ${f.name}GradF32Arith)),`),
    '};',
    '',
  );
  return lines.join('\n');
}
