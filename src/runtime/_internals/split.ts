/**
 * How the worker-thread path splits a kernel call: planes (image x channel) first, and row bands of
 * a plane when there are fewer planes than threads. A band owns rows [a, b) of the gradient and of
 * the SSIM map and reads `halo` more input rows on each side, enough for every row it owns to see
 * exactly the inputs (and the partial maps) the whole-plane kernel sees; rows near a band's own
 * edges come out wrong and are thrown away.
 */

/** Rows [a, b) of one plane (a = 0, b = H: the whole plane). */
export interface Segment {
  readonly plane: number;
  readonly a: number;
  readonly b: number;
}

/**
 * Input rows a band must read beyond the rows it owns: the gradient at a row reads the partial maps
 * up to kh - 1 rows away ('valid') or (kh - 1) / 2 rows away whose statistics read (kh - 1) / 2 rows
 * further; the crop moves the region's edge inwards by `crop` rows at a band's artificial edge.
 */
export function bandHalo(kh: number, crop: number): number {
  return kh - 1 + crop;
}

/**
 * Bands per plane for `planes` planes of `H` rows on `threads` threads: enough units that they share
 * out evenly (threads / gcd(planes, threads)), fewer when a band would be thinner than twice the halo
 * (its halo would cost more than its rows) or than one row.
 */
export function bandsPerPlane(planes: number, H: number, threads: number, halo: number): number {
  const gcd = (p: number, q: number): number => (q === 0 ? p : gcd(q, p % q));
  let bands = threads / gcd(planes, threads);
  while (bands > 1 && Math.floor(H / bands) < Math.max(1, 2 * halo)) bands--;
  return bands;
}

/**
 * The segments each thread runs, in plane and row order: planes x bands units dealt out in equal
 * contiguous runs, neighbouring bands of one plane merged. Threads beyond the units get nothing.
 */
export function splitWork(planes: number, H: number, threads: number, halo: number): Segment[][] {
  const bands = bandsPerPlane(planes, H, threads, halo);
  const units = planes * bands;
  const edge = (band: number): number => Math.floor((band * H) / bands);
  const shares = Math.min(threads, units);
  const out: Segment[][] = [];
  for (let t = 0; t < shares; t++) {
    const segs: Segment[] = [];
    for (let u = Math.floor((t * units) / shares); u < Math.floor(((t + 1) * units) / shares); u++) {
      const plane = Math.floor(u / bands), band = u % bands;
      const last = segs[segs.length - 1];
      if (last !== undefined && last.plane === plane && last.b === edge(band)) segs[segs.length - 1] = { plane, a: last.a, b: edge(band + 1) };
      else segs.push({ plane, a: edge(band), b: edge(band + 1) });
    }
    out.push(segs);
  }
  return out;
}
