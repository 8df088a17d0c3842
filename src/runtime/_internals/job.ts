/**
 * One worker's share of a kernel call, and how it runs: whole planes go to the kernel together
 * (consecutive ones in one call, so the kernel's scratch planes are made once); a row band goes to
 * the kernel as a sub-image with its halo rows, and only the rows it owns are copied out.
 * Runs the same in a worker thread and on the calling thread (tests).
 */
import type { KernelParams } from '../../emit/params.js';
import type { Boundary, Precision } from '../../field/index.js';
import { ssimKernels } from '../../generated/index.js';
import { mapSize } from '../../model/geometry.js';
import type { Segment } from './split.js';

type Storage = Float64Array | Float32Array;

/** What a worker is handed: typed arrays over SharedArrayBuffers (structured clone shares their memory). */
export interface Job {
  readonly kind: 'value' | 'grad';
  readonly padding: Boundary;
  readonly variant: 'k7' | 'k11' | 'generic';
  readonly precision: Precision;
  /** The whole call's parameters (N, C, H, W of the whole input; omega of the whole mean). */
  readonly params: KernelParams;
  readonly x: Storage;
  readonly y: Storage;
  readonly gradX: Storage | null;
  readonly gradY: Storage | null;
  /** N x C x MH per-row sums of the map (see KernelParams.rowSums). */
  readonly rowSums: Float64Array;
  readonly segments: readonly Segment[];
  /** Input rows read beyond a band's own rows (bandHalo). */
  readonly halo: number;
}

function newStorage(precision: Precision, n: number): Storage {
  return precision === 'float32' ? new Float32Array(n) : new Float64Array(n);
}

/**
 * A copy of n values from `offset` in ordinary (unshared) memory. The kernels run on copies, in and
 * out: typed arrays over a SharedArrayBuffer ran the kernel loops about twice as slowly here (512 x 512
 * gray value + d/dx, best of 4 x 8 runs on a loaded machine: 95 ms against 45 ms;
 * `npx tsx bench/shared-memory.ts`), and a memcpy costs far less than that.
 */
function local(job: Job, a: Storage, offset: number, n: number): Storage {
  const out = newStorage(job.precision, n);
  out.set(a.subarray(offset, offset + n));
  return out;
}

/** Runs the kernel on `count` consecutive rows-planes: sub-arrays of x and y, N = 1, C = count, height Hs. */
function kernelCall(job: Job, x: Storage, y: Storage, params: KernelParams, out: { gradX: Storage; gradY: Storage | null } | null): void {
  const k = ssimKernels[job.padding][job.variant];
  if (out === null) {
    if (job.precision === 'float32') k.valueF32(x as Float32Array, y as Float32Array, params);
    else k.valueF64(x as Float64Array, y as Float64Array, params);
  } else if (job.precision === 'float32') {
    k.gradF32(x as Float32Array, y as Float32Array, params, out as { gradX: Float32Array; gradY: Float32Array | null });
  } else {
    k.gradF64(x as Float64Array, y as Float64Array, params, out as { gradX: Float64Array; gradY: Float64Array | null });
  }
}

/** Runs a job's segments, writing the rows each owns into the shared gradients and row sums. */
export function runJob(job: Job): void {
  const { H, W } = job.params;
  const kh = job.params.tapsH.length, kw = job.params.tapsW.length;
  const { MH } = mapSize(job.padding, H, W, kh, kw);
  const plane = H * W;
  const grad = job.kind === 'grad';
  const segs = job.segments;
  for (let s = 0; s < segs.length; ) {
    const seg = segs[s]!;
    if (seg.a === 0 && seg.b === H) {
      // whole planes: this and the whole planes right after it, in one kernel call
      let e = s + 1;
      while (e < segs.length && segs[e]!.a === 0 && segs[e]!.b === H && segs[e]!.plane === segs[e - 1]!.plane + 1) e++;
      const p0 = seg.plane, count = e - s;
      const rows = new Float64Array(count * MH);
      const params: KernelParams = { ...job.params, N: 1, C: count, rowSums: rows };
      const n = count * plane;
      const out = grad ? { gradX: newStorage(job.precision, n), gradY: job.gradY === null ? null : newStorage(job.precision, n) } : null;
      kernelCall(job, local(job, job.x, p0 * plane, n), local(job, job.y, p0 * plane, n), params, out);
      job.rowSums.set(rows, p0 * MH);
      if (out !== null) {
        job.gradX!.set(out.gradX, p0 * plane);
        if (out.gradY !== null) job.gradY!.set(out.gradY, p0 * plane);
      }
      s = e;
      continue;
    }
    // a row band: the sub-image of input rows [lo, hi), the band's rows [a, b) and its halo
    const lo = Math.max(0, seg.a - job.halo), hi = Math.min(H, seg.b + job.halo);
    const Hb = hi - lo;
    const MHb = mapSize(job.padding, Hb, W, kh, kw).MH;
    const base = seg.plane * plane;
    const rows = new Float64Array(MHb);
    const params: KernelParams = { ...job.params, N: 1, C: 1, H: Hb, rowSums: rows };
    const out = grad ? { gradX: newStorage(job.precision, Hb * W), gradY: job.gradY === null ? null : newStorage(job.precision, Hb * W) } : null;
    kernelCall(job, local(job, job.x, base + lo * W, Hb * W), local(job, job.y, base + lo * W, Hb * W), params, out);
    // map row i of the plane is row i - lo of the band's map (under every boundary rule, 'valid' included)
    for (let i = seg.a; i < Math.min(seg.b, MH); i++) job.rowSums[seg.plane * MH + i] = rows[i - lo]!;
    if (out !== null) {
      job.gradX!.set(out.gradX.subarray((seg.a - lo) * W, (seg.b - lo) * W), base + seg.a * W);
      if (out.gradY !== null) job.gradY!.set(out.gradY.subarray((seg.a - lo) * W, (seg.b - lo) * W), base + seg.a * W);
    }
    s++;
  }
}

/**
 * The value from the per-row sums, added exactly as the kernel adds them: each plane's rows inside
 * the region in row order, then omega times each plane's sum in plane order.
 */
export function combineRowSums(rowSums: Float64Array, planes: number, MH: number, crop: number, omega: number): number {
  let total = 0;
  for (let p = 0; p < planes; p++) {
    let planeSum = 0;
    for (let i = crop; i < MH - crop; i++) planeSum += rowSums[p * MH + i]!;
    total += omega * planeSum;
  }
  return total;
}
