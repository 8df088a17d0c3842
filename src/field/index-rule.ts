/**
 * An index rule written once, as data: a few integer statements over the index j and the axis
 * length n. src/field runs it (compileIndexRule) and src/kernel/index-rule.ts lowers it into the
 * kernel program, which every printer prints, so every target reads a padded sample from the same program.
 */

/** An integer expression: j, n, a local, a number, arithmetic, or a choice. */
export type IndexExpr =
  | { readonly kind: 'name'; readonly name: string }
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'arith'; readonly op: '+' | '-' | '*' | '%'; readonly a: IndexExpr; readonly b: IndexExpr }
  | { readonly kind: 'pick'; readonly cond: IndexCond; readonly then: IndexExpr; readonly else: IndexExpr };

/** A condition: a comparison, or two of them joined by and. */
export type IndexCond =
  | { readonly kind: 'compare'; readonly op: '<' | '>=' | '=='; readonly a: IndexExpr; readonly b: IndexExpr }
  | { readonly kind: 'and'; readonly a: IndexCond; readonly b: IndexCond };

/** One line of the rule: name a value, return early under a condition, or return. */
export type IndexStatement =
  | { readonly kind: 'const'; readonly name: string; readonly value: IndexExpr }
  | { readonly kind: 'return-if'; readonly cond: IndexCond; readonly value: IndexExpr }
  | { readonly kind: 'return'; readonly value: IndexExpr };

/** The body of source(j, n): where index j of an axis of length n reads (-1: a zero). */
export type IndexRule = readonly IndexStatement[];

type Operand = IndexExpr | number | string;
const expr = (x: Operand): IndexExpr => (typeof x === 'number' ? { kind: 'number', value: x } : typeof x === 'string' ? { kind: 'name', name: x } : x);

/** The constructors the boundary table writes its rules with ('j', 'n' and locals by name). */
export const ix = {
  add: (a: Operand, b: Operand): IndexExpr => ({ kind: 'arith', op: '+', a: expr(a), b: expr(b) }),
  sub: (a: Operand, b: Operand): IndexExpr => ({ kind: 'arith', op: '-', a: expr(a), b: expr(b) }),
  mul: (a: Operand, b: Operand): IndexExpr => ({ kind: 'arith', op: '*', a: expr(a), b: expr(b) }),
  /** C's and JavaScript's %: the sign of the dividend. */
  mod: (a: Operand, b: Operand): IndexExpr => ({ kind: 'arith', op: '%', a: expr(a), b: expr(b) }),
  lt: (a: Operand, b: Operand): IndexCond => ({ kind: 'compare', op: '<', a: expr(a), b: expr(b) }),
  ge: (a: Operand, b: Operand): IndexCond => ({ kind: 'compare', op: '>=', a: expr(a), b: expr(b) }),
  eq: (a: Operand, b: Operand): IndexCond => ({ kind: 'compare', op: '==', a: expr(a), b: expr(b) }),
  and: (a: IndexCond, b: IndexCond): IndexCond => ({ kind: 'and', a, b }),
  pick: (cond: IndexCond, then: Operand, otherwise: Operand): IndexExpr => ({ kind: 'pick', cond, then: expr(then), else: expr(otherwise) }),
  let: (name: string, value: Operand): IndexStatement => ({ kind: 'const', name, value: expr(value) }),
  returnIf: (cond: IndexCond, value: Operand): IndexStatement => ({ kind: 'return-if', cond, value: expr(value) }),
  return: (value: Operand): IndexStatement => ({ kind: 'return', value: expr(value) }),
};

// compiled once into closures over a frame of slots (j, n, then the locals): boundaryIndex calls them per padded sample
type Frame = number[];
type Slots = Map<string, number>;

function compileExpr(e: IndexExpr, slots: Slots): (f: Frame) => number {
  switch (e.kind) {
    case 'name': {
      const i = slots.get(e.name);
      if (i === undefined) throw new Error(`index rule: '${e.name}' is not defined`);
      return (f) => f[i]!;
    }
    case 'number': {
      const v = e.value;
      return () => v;
    }
    case 'arith': {
      const a = compileExpr(e.a, slots);
      const b = compileExpr(e.b, slots);
      return e.op === '+' ? (f) => a(f) + b(f) : e.op === '-' ? (f) => a(f) - b(f) : e.op === '*' ? (f) => a(f) * b(f) : (f) => a(f) % b(f);
    }
    case 'pick': {
      const c = compileCond(e.cond, slots);
      const t = compileExpr(e.then, slots);
      const o = compileExpr(e.else, slots);
      return (f) => (c(f) ? t(f) : o(f));
    }
  }
}

function compileCond(c: IndexCond, slots: Slots): (f: Frame) => boolean {
  if (c.kind === 'and') {
    const a = compileCond(c.a, slots);
    const b = compileCond(c.b, slots);
    return (f) => a(f) && b(f);
  }
  const a = compileExpr(c.a, slots);
  const b = compileExpr(c.b, slots);
  return c.op === '<' ? (f) => a(f) < b(f) : c.op === '>=' ? (f) => a(f) >= b(f) : (f) => a(f) === b(f);
}

/** The rule as a function of (j, n). */
export function compileIndexRule(rule: IndexRule): (j: number, n: number) => number {
  const last = rule[rule.length - 1];
  if (last?.kind !== 'return') throw new Error('index rule: the last statement must return');
  const slots: Slots = new Map([
    ['j', 0],
    ['n', 1],
  ]);
  // each statement: a slot to fill, or a value to return (under a condition)
  const steps = rule.map((s) => {
    if (s.kind === 'const') {
      const value = compileExpr(s.value, slots); // before the name is bound: a local cannot read itself
      if (slots.has(s.name)) throw new Error(`index rule: '${s.name}' is defined twice`);
      slots.set(s.name, slots.size);
      return { slot: slots.get(s.name)!, value, when: null };
    }
    return { slot: -1, value: compileExpr(s.value, slots), when: s.kind === 'return-if' ? compileCond(s.cond, slots) : null };
  });
  const size = slots.size;
  return (j, n) => {
    const f: Frame = new Array<number>(size);
    f[0] = j;
    f[1] = n;
    for (const s of steps) {
      if (s.slot >= 0) f[s.slot] = s.value(f);
      else if (s.when === null || s.when(f)) return s.value(f);
    }
    throw new Error('index rule: no return'); // unreachable: the last statement returns
  };
}
