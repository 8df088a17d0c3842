/**
 * The boundary rules: how a window reads outside the image, one entry each. Everything that
 * names a rule reads it here: the index tables (boundaryIndex), the C++ and CUDA kernels (the
 * rule printed from the same program), the CLI's --padding, the derivation documents and the
 * checker's transpose mistakes. Adding a rule is adding an entry (test/field/boundary.test.ts
 * adds one and follows it everywhere).
 */
import { ix, type IndexRule } from './index-rule.js';

/** One boundary rule, in every form the project uses it. */
export interface BoundaryRule {
  /**
   * Whether a window reads outside the image. false only for 'valid', which never does: its map
   * shrinks by k - 1 instead (the geometry spells out 'valid' where it differs).
   */
  readonly pads: boolean;
  /**
   * Where index j of an axis of length n reads (-1: a zero), for every j (also |j| > n); the
   * TypeScript index tables run it and the C++ and CUDA kernels print it.
   */
  readonly source: IndexRule;
  /** Whether the adjoint folds padded samples back onto pixels (zero padding drops them; 'valid' has none). */
  readonly foldsBack: boolean;
  /**
   * Whether, for a symmetric window, W^T = W (so the forward filter reused as its adjoint is
   * right): true for zero padding and half-sample symmetry; false under 'valid' (W^T is larger).
   */
  readonly selfAdjoint: boolean;
  /** A few words and the pattern it reads, for the C++ kernels' comments. */
  readonly sketch: string;
  /** The CLI help's gloss on --padding's value (absent: the name says it). */
  readonly help?: string;
  /** The derivation document's sentences: the forward padding, and its transpose (markdown with TeX). */
  readonly doc: { readonly forward: string; readonly transpose: string };
  /** How the checker names the rule in its transpose mistake, boundary-transpose-<name>. */
  readonly mistake: string;
}

const { add, and, eq, ge, let: define, lt, mod, mul, pick, return: give, returnIf, sub } = ix;

// the table; BOUNDARY_RULES below is its typed face
const RULES = {
  same: {
    pads: true,
    source: [give(pick(and(ge('j', 0), lt('j', 'n')), 'j', -1))],
    foldsBack: false,
    selfAdjoint: true,
    sketch: 'zero padding',
    help: 'zero padding',
    doc: {
      forward: 'zero padding ("same"): samples outside the image read as 0, and the map has the image size',
      transpose:
        'the transpose of zero padding drops what falls outside: $W^\\top$ is the correlation with the flipped window $\\tilde w_a = w_{-a}$, reading zeros outside the map (the "full" correlation cropped to the image)',
    },
    mistake: "zero padding ('same')",
  },
  valid: {
    pads: false,
    source: [give('j')],
    foldsBack: false,
    selfAdjoint: false,
    sketch: "'valid': no padding, the map shrinks by k - 1",
    doc: {
      forward: '"valid": only windows that fit inside the image, so the map is $(H-k+1) \\times (W-k+1)$',
      transpose: 'the transpose of "valid" is the "full" correlation with the flipped window: the map padded by $k-1$ zeros on every side',
    },
    mistake: "'valid'",
  },
  // scipy 'reflect', MATLAB 'symmetric': period 2n
  reflect: {
    pads: true,
    source: [define('period', mul(2, 'n')), define('k', mod(add(mod('j', 'period'), 'period'), 'period')), give(pick(lt('k', 'n'), 'k', sub(sub('period', 1), 'k')))],
    foldsBack: true,
    selfAdjoint: true,
    sketch: "half-sample symmetric (scipy 'reflect'): d c b a | a b c d | d c b a",
    help: 'scipy half-sample',
    doc: {
      forward: 'half-sample symmetric padding (scipy "reflect", MATLAB "symmetric"): $x_{-1-a} = x_a$',
      transpose:
        'with the padding written as its own linear map $P$, $W = (w \\star \\cdot) \\circ P$ and $W^\\top = P^\\top \\circ (\\tilde w \\star \\cdot)$: $P^\\top$ folds every padded sample back onto the pixel it copied. For a symmetric window this happens to equal $W$ itself',
    },
    mistake: "half-sample reflection ('reflect', scipy)",
  },
  // PyTorch 'reflect': period 2n - 2 (an axis of one pixel reads it everywhere)
  mirror: {
    pads: true,
    source: [
      returnIf(eq('n', 1), 0),
      define('period', sub(mul(2, 'n'), 2)),
      define('k', mod(add(mod('j', 'period'), 'period'), 'period')),
      give(pick(lt('k', 'n'), 'k', sub('period', 'k'))),
    ],
    foldsBack: true,
    selfAdjoint: false,
    sketch: "whole-sample mirror (PyTorch 'reflect'): c b | a b c d | c b",
    help: 'torch reflect',
    doc: {
      forward: 'whole-sample mirror padding (PyTorch "reflect"): $x_{-a} = x_a$, the edge pixel not repeated',
      transpose:
        '$W^\\top = P^\\top \\circ (\\tilde w \\star \\cdot)$, where $P^\\top$ folds each padded sample back onto the pixel it mirrored. Unlike half-sample symmetry, this is not the forward filter again: the edge pixel is read once, its neighbours twice',
    },
    mistake: "whole-sample mirror ('mirror', torch 'reflect')",
  },
  replicate: {
    pads: true,
    source: [give(pick(lt('j', 0), 0, pick(ge('j', 'n'), sub('n', 1), 'j')))],
    foldsBack: true,
    selfAdjoint: false,
    sketch: 'replicate: a a | a b c d | d d',
    doc: {
      forward: 'replicate padding: samples outside read the nearest edge pixel',
      transpose: '$W^\\top = P^\\top \\circ (\\tilde w \\star \\cdot)$, where $P^\\top$ adds every padded copy back onto the edge pixel it repeated',
    },
    mistake: "edge replication ('replicate')",
  },
} satisfies Record<string, BoundaryRule>;

/** How an index outside the signal is read: the name of a boundary rule. */
export type Boundary = keyof typeof RULES;

/** Every boundary rule, by its name (the order is the C++ enum's and the CUDA kernels' index). */
export const BOUNDARY_RULES: Readonly<Record<Boundary, BoundaryRule>> = RULES;

/** The rules' names, in the table's order. */
export const BOUNDARIES = Object.keys(BOUNDARY_RULES) as readonly Boundary[];
