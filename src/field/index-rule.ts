/**
 * An index rule written once, as data: a few integer statements over the index j and the axis
 * length n. src/field runs it (compileIndexRule) and the C++ emitter prints it (indexRuleCpp), so
 * the TypeScript kernels and the C++ ones read a padded sample from the same program.
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

type Env = Map<string, number>;

function valueOf(e: IndexExpr, env: Env): number {
  switch (e.kind) {
    case 'name': {
      const v = env.get(e.name);
      if (v === undefined) throw new Error(`index rule: '${e.name}' is not defined`);
      return v;
    }
    case 'number':
      return e.value;
    case 'arith': {
      const a = valueOf(e.a, env);
      const b = valueOf(e.b, env);
      return e.op === '+' ? a + b : e.op === '-' ? a - b : e.op === '*' ? a * b : a % b;
    }
    case 'pick':
      return holds(e.cond, env) ? valueOf(e.then, env) : valueOf(e.else, env);
  }
}

function holds(c: IndexCond, env: Env): boolean {
  if (c.kind === 'and') return holds(c.a, env) && holds(c.b, env);
  const a = valueOf(c.a, env);
  const b = valueOf(c.b, env);
  return c.op === '<' ? a < b : c.op === '>=' ? a >= b : a === b;
}

/** The rule as a function of (j, n). */
export function compileIndexRule(rule: IndexRule): (j: number, n: number) => number {
  const last = rule[rule.length - 1];
  if (last?.kind !== 'return') throw new Error('index rule: the last statement must return');
  return (j, n) => {
    const env: Env = new Map([
      ['j', j],
      ['n', n],
    ]);
    for (const s of rule) {
      if (s.kind === 'const') env.set(s.name, valueOf(s.value, env));
      else if (s.kind === 'return') return valueOf(s.value, env);
      else if (holds(s.cond, env)) return valueOf(s.value, env);
    }
    throw new Error('index rule: no return'); // unreachable: the last statement returns
  };
}

// C precedence, loosest first: ?: < && < comparisons < + - < * %
const PRECEDENCE = { pick: 0, and: 1, compare: 2, '+': 3, '-': 3, '*': 4, '%': 4 } as const;

/** e in C++, parenthesised where C's precedence needs it, and a % always when inside another operator. */
function cppExpr(e: IndexExpr, min: number): string {
  switch (e.kind) {
    case 'name':
      return e.name;
    case 'number':
      return `${e.value}`;
    case 'arith': {
      const p = PRECEDENCE[e.op];
      // left-associative: the right operand of - binds tighter
      const s = `${cppExpr(e.a, p)} ${e.op} ${cppExpr(e.b, p + 1)}`;
      return p < min || (e.op === '%' && min > 0) ? `(${s})` : s;
    }
    case 'pick': {
      // right-associative: a choice in the else branch needs no parentheses
      const s = `${cppCond(e.cond, PRECEDENCE.pick + 1)} ? ${cppExpr(e.then, PRECEDENCE.pick + 1)} : ${cppExpr(e.else, PRECEDENCE.pick)}`;
      return min > PRECEDENCE.pick ? `(${s})` : s;
    }
  }
}

function cppCond(c: IndexCond, min: number): string {
  const p = PRECEDENCE[c.kind];
  const s = c.kind === 'and' ? `${cppCond(c.a, p)} && ${cppCond(c.b, p + 1)}` : `${cppExpr(c.a, p + 1)} ${c.op} ${cppExpr(c.b, p + 1)}`;
  return p < min ? `(${s})` : s;
}

/** The rule as the lines of a C++ function body over `long j, long n`. */
export function indexRuleCpp(rule: IndexRule): string[] {
  return rule.map((s) =>
    s.kind === 'const'
      ? `const long ${s.name} = ${cppExpr(s.value, 0)};`
      : s.kind === 'return-if'
        ? `if (${cppCond(s.cond, 0)}) return ${cppExpr(s.value, 0)};`
        : `return ${cppExpr(s.value, 0)};`,
  );
}
