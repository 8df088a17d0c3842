/**
 * The known mistakes of forward mode and second order: what a hand-written JVP or HVP gets wrong,
 * built from the gradient's library (mistakesFor) and the graph, nothing here knowing a variant.
 *
 * A JVP is linear in the gradient: jvp = <d value/dx, dx> + <d value/dy, dy>. A mistake of reverse
 * mode, a rewrite of the adjoint program, has its forward-mode twin in the transpose of its
 * rewrite: the per-pixel chain rule (W^T replaced by W^T 1 times the partial) is the tangent taken
 * per pixel ((W 1) dx in place of W dx); the transpose under another boundary rule is the tangent
 * windowed under that rule; the forward used as its own transpose is the transpose applied to the
 * tangent. So each twin's JVP is <g_x, dx> + <g_y, dy> with the mistake's gradients g, and its words
 * are said here in forward mode's terms. Beside them, the JVP that leaves dy out.
 *
 * An HVP is the derivative of the gradient along v: each gradient mistake has the HVP of its
 * mistaken gradient (forward over its rewritten adjoint program), and second order has mistakes of
 * its own, each a second-order term left out: the windowed map's partials held constant along v (its
 * second partials dropped), the second derivative of the products x x, y y dropped, the loss's own
 * maps' second partials dropped.
 */
import { hessianVector } from '../graph/forward.js';
import type { Step } from '../graph/adjoint.js';
import type { KnownMistake, MistakeContext } from './context.js';
import { anatomy } from './match.js';

/** A forward-mode mistake's words (as a gradient mistake's: src/mistakes/context.ts). */
export interface ForwardMistake {
  readonly kind: string;
  readonly title: string;
  readonly explanation: string;
  readonly correctFormula: string;
  /** A scale of the exact JVP or HVP (a normaliser, the sign): compared as it is, never up to a further scale. */
  readonly scaleOnly: boolean;
}

export const JVP_CORRECT =
  'jvp = <d ssim/dx, dx> + <d ssim/dy, dy>: the mean over the map of the tangent of S, dS/dmu_x W dx + dS/dm_xx W(2x dx) + dS/dm_xy W(y dx + x dy) ' +
  '+ dS/dmu_y W dy + dS/dm_yy W(2y dy), each moment\'s tangent windowed by the forward\'s own window and boundary';

export const HVP_CORRECT =
  'H v = the derivative of d ssim/dx = W^T g_mu + 2x W^T g_xx + y W^T g_xy along v: W^T g_mu\' + 2v W^T g_xx + 2x W^T g_xx\' + y W^T g_xy\', ' +
  "g_*' the tangents of the partial maps (S's second partials times the moments' tangents W v, W(2x v), W(y v))";

/** Forward mode's words for a gradient mistake's twin, by its kind (a variant's `<variant>/<kind>` by the part after the slash). */
const JVP_WORDS: Readonly<Record<string, { title: string; explanation: string }>> = {
  'per-pixel-chain-rule': {
    title: 'per-pixel chain rule: the window missing from the tangent',
    explanation:
      "The statistics at map pixel q are windowed means over q's window, so their tangents are windowed too: mu_x' = W dx, m_xx' = W(2x dx), " +
      "m_xy' = W(y dx + x dy). The per-pixel rule takes the tangent of S at q from the directions at q alone, (W 1)(q) dx(q), (W 1)(q) 2x dx(q), ..., " +
      'as if dx and dy were constant across the window (the forward-mode twin of the seed question\'s missing window transpose).',
  },
  'sign-flipped': {
    title: 'sign flipped: the JVP of 1 - ssim (or -ssim)',
    explanation: 'The candidate is minus the exact JVP of ssim. That is right for the loss 1 - ssim; ssim-grad checks d ssim in the direction. If it is meant to be the loss\'s JVP, negate it to check it.',
  },
  'other-image': {
    title: 'the directions swapped: dx applied to y and dy to x',
    explanation: "SSIM is symmetric in x and y, its JVP in a direction is not: the candidate moves y along dx and x along dy (check the argument order of dx and dy).",
  },
  'square-term-factor': {
    title: "the factor 2 of d(x^2) dropped: m_xx's tangent W(x dx)",
    explanation: "m_xx = W(x . x), so its tangent is W(2x dx), not W(x dx) (and m_yy's W(2y dy)).",
  },
  'forward-as-adjoint': {
    title: "the window's transpose applied to the tangents",
    explanation:
      'A tangent goes through the same window as the value, W dx. Under whole-sample mirror (torch \'reflect\') and replicate padding W is not its own ' +
      'transpose, and the candidate windows the tangents with W^T (correlation with the flipped taps, the padding scattered back): the forward-mode twin of the forward window used as its own transpose.',
  },
};

/** The JVP twin's words of gradient mistake `m`. */
export function jvpWords(m: KnownMistake): ForwardMistake {
  const slash = m.kind.lastIndexOf('/');
  const base = m.kind.slice(slash + 1);
  const inside = slash >= 0 ? `inside ${m.kind.slice(0, slash)}, ` : '';
  const boundary = /^boundary-transpose-(.+)$/.exec(base);
  const own = JVP_WORDS[base];
  const words = own !== undefined
    ? own
    : boundary !== null
      ? {
          title: `the tangents windowed under ${boundary[1]} padding instead of the forward's boundary`,
          explanation:
            `The value's windowed means pad with one rule, the tangents' with another (${boundary[1]}: a convolution's own default reused for the tangent). ` +
            "The interior is right; within the window radius of the edges the tangent reads the wrong samples (the forward-mode twin of the window's transpose under another boundary rule).",
        }
      : {
          title: `${m.title} (in the JVP: <g, dx> + <g_y, dy> with that gradient)`,
          explanation: `${m.explanation} The candidate JVP is what this gradient mistake gives in the direction: its gradients' inner products with dx and dy.`,
        };
  return {
    kind: m.kind,
    title: inside === '' ? words.title : `${inside}${words.title}`,
    explanation: words.explanation,
    correctFormula: JVP_CORRECT,
    scaleOnly: m.scaleOnly,
  };
}

/** The HVP twin's words of gradient mistake `m`: the HVP of its mistaken gradient. */
export function hvpWords(m: KnownMistake): ForwardMistake {
  return {
    kind: m.kind,
    title: `the HVP of a gradient with this mistake: ${m.title}`,
    explanation: `${m.explanation} The candidate is that mistaken gradient's derivative along v (as autograd over it, or its finite difference, gives).`,
    correctFormula: HVP_CORRECT,
    scaleOnly: m.scaleOnly,
  };
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

/** What a JVP's mistakes are evaluated in: the gradient's contexts for x and for y, the exact gradients and the directions. */
export interface JvpMistakeInput {
  readonly ctx: { readonly x: MistakeContext; readonly y: MistakeContext };
  readonly exact: { readonly x: Float64Array; readonly y: Float64Array };
  readonly dx: Float64Array;
  /** Null: y does not move. */
  readonly dy: Float64Array | null;
  /** The gradient's library for these images (mistakesFor). */
  readonly library: readonly KnownMistake[];
}

/**
 * The JVP's known mistakes with their values: each gradient mistake's twin (<g_x, dx> + <g_y, dy>;
 * a side where it does not apply keeps the exact gradient), and with dy the JVP that leaves it out.
 * Those equal to the exact JVP or to an earlier one (to 1e-12 relative) are left out.
 */
export function jvpMistakes(a: JvpMistakeInput, exactJvp: number): Array<{ mistake: ForwardMistake; value: number }> {
  const built: Array<{ mistake: ForwardMistake; value: number }> = [];
  for (const m of a.library) {
    const gx = m.build(a.ctx.x);
    const gy = a.dy === null ? null : m.build(a.ctx.y);
    if (gx === null && gy === null) continue;
    const value = dot(gx ?? a.exact.x, a.dx) + (a.dy === null ? 0 : dot(gy ?? a.exact.y, a.dy));
    built.push({ mistake: jvpWords(m), value });
  }
  if (a.dy !== null) {
    built.push({
      mistake: {
        kind: 'dy-ignored',
        title: 'the JVP without the share of dy: y held fixed',
        explanation:
          'The direction moves both images, so the JVP is <d ssim/dx, dx> + <d ssim/dy, dy>; the candidate has only the first share, as if y were a constant ' +
          '(the tangents of mu_y, m_yy and m_xy\'s x dy part left out).',
        correctFormula: JVP_CORRECT,
        scaleOnly: false,
      },
      value: dot(a.exact.x, a.dx),
    });
  }
  const same = (p: number, q: number): boolean => Math.abs(p - q) <= 1e-12 * Math.max(Math.abs(p), Math.abs(q));
  const out: Array<{ mistake: ForwardMistake; value: number }> = [];
  for (const b of built) {
    if (!Number.isFinite(b.value) || same(b.value, exactJvp) || out.some((o) => same(o.value, b.value))) continue;
    out.push(b);
  }
  return out;
}

/** What an HVP's mistakes are evaluated in: the gradient's context for `wrt` (its image), v over that image and the library. */
export interface HvpMistakeInput {
  readonly ctx: MistakeContext;
  readonly v: Float64Array;
  readonly library: readonly KnownMistake[];
}

/**
 * The HVP's known mistakes with their values: the second-order terms left out, then each gradient
 * mistake's HVP (forward over its rewritten program, in the same direction). Those equal to the
 * exact HVP or to an earlier one (distinctMistakes' rule) are left out by the caller.
 */
export function hvpMistakes(a: HvpMistakeInput): Array<{ mistake: ForwardMistake; value: Float64Array | null }> {
  const ctx = a.ctx;
  const an = anatomy(ctx);
  const vg = an.vg;
  const wrt = ctx.wrt;
  const dir = { [wrt]: a.v };
  const dropped = (ids: ReadonlySet<number>) => (): Float64Array | null => {
    if (ids.size === 0) return null;
    const r = hessianVector(vg.loss, vg.inputs, dir, { wrt: [wrt], dropSecond: (s: Step) => s.rule.kind === 'partial' && ids.has(s.from.id) });
    return r.hvps[wrt]!;
  };
  const mapIds = new Set(an.moments.map((m) => m.map.id));
  const squareIds = new Set(an.moments.flatMap((m) => [m.square.x.id, m.square.y.id]));
  const outerIds = new Set(an.outerMaps.map((m) => m.id));
  const own: Array<{ mistake: ForwardMistake; value: () => Float64Array | null }> = [
    {
      mistake: {
        kind: 'map-second-partials-dropped',
        title: "the windowed map's second partials dropped: its partials g_* held constant along v",
        explanation:
          'The gradient W^T g_mu + 2x W^T g_xx + y W^T g_xy depends on x through the partial maps g_* too, so its derivative along v carries their tangents ' +
          "(S's second partials times the moments' tangents). The candidate differentiates only the explicit x, leaving 2v W^T g_xx: a Gauss-Newton-like HVP without the map's curvature.",
        correctFormula: HVP_CORRECT,
        scaleOnly: false,
      },
      value: dropped(mapIds),
    },
    {
      mistake: {
        kind: 'square-second-derivative-dropped',
        title: 'the second derivative of x^2 dropped: the term 2v W^T g_xx missing',
        explanation:
          "d(x^2)/dx = 2x depends on x, so the HVP carries 2v W^T g_xx beside the partial maps' tangents; the candidate differentiates g_* alone, as if 2x were a constant.",
        correctFormula: HVP_CORRECT,
        scaleOnly: false,
      },
      value: dropped(squareIds),
    },
    {
      mistake: {
        kind: 'loss-second-partials-dropped',
        title: "the loss's own maps' second partials dropped (outside the windowed maps)",
        explanation: `Outside its windowed maps the loss ${an.name} combines them with maps of their own (a product, a power, a weighted sum); the candidate holds those maps' partials constant along v.`,
        correctFormula: HVP_CORRECT,
        scaleOnly: false,
      },
      value: dropped(outerIds),
    },
  ];
  const twins = a.library.map((m) => ({
    mistake: hvpWords(m),
    value: (): Float64Array | null => {
      const p = m.program?.(ctx) ?? null;
      if (p === null) return null;
      const r = hessianVector(p.graph.loss, p.graph.inputs, dir, { wrt: [p.side], program: p.program });
      return r.hvps[p.side]!;
    },
  }));
  return [...own, ...twins].map((b) => ({ mistake: b.mistake, value: b.value() }));
}
