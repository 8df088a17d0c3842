/** A derivation document as data: blocks of prose, numbered equations and tables, printed by render.ts. */

/** One displayed formula: its LaTeX, and an infix twin that mathjs parses and evaluates. */
export interface Equation {
  readonly kind: 'eq';
  /** Anchor id, e.g. "eq-7". */
  readonly id: string;
  readonly number: number;
  readonly latex: string;
  /** mathjs syntax; evaluated on each sample's scope it must give the sample's expected value. */
  readonly twin: string;
  /** Points at which the twin is checked against the graph (or the field operators). */
  readonly samples: () => ReadonlyArray<{ scope: Record<string, number | number[]>; expected: number }>;
}

export type Block =
  | { readonly kind: 'h2'; readonly text: string; readonly id: string }
  | { readonly kind: 'p'; readonly text: string }
  | Equation
  | { readonly kind: 'table'; readonly header: readonly string[]; readonly rows: ReadonlyArray<readonly string[]> };

export interface DerivationDoc {
  /** File stem: derivations/<name>.md */
  readonly name: string;
  readonly title: string;
  /** One line for the index page. */
  readonly summary: string;
  readonly blocks: readonly Block[];
}
