/**
 * A boundary's index rule (src/field/index-rule.ts, data written once in src/field/boundary.ts)
 * lowered into the kernel program as a function source(j, n): every printer then prints the rule
 * from its one home, never from a copied string.
 */
import { BOUNDARIES, BOUNDARY_RULES, type Boundary } from '../field/boundary.js';
import type { IndexCond, IndexExpr, IndexRule } from '../field/index-rule.js';
import { cmp, int, s, type Expr, type Func, type Stmt } from './ir.js';

function expr(e: IndexExpr): Expr {
  switch (e.kind) {
    case 'name':
      return int.ref(e.name);
    case 'number':
      return int.lit(e.value);
    case 'arith':
      return e.op === '+' ? int.add(expr(e.a), expr(e.b)) : e.op === '-' ? int.sub(expr(e.a), expr(e.b)) : e.op === '*' ? int.mul(expr(e.a), expr(e.b)) : int.mod(expr(e.a), expr(e.b));
    case 'pick':
      return int.select(cond(e.cond), expr(e.then), expr(e.else));
  }
}

function cond(c: IndexCond): Expr {
  if (c.kind === 'and') return cmp.and(cond(c.a), cond(c.b));
  const a = expr(c.a), b = expr(c.b);
  return c.op === '<' ? cmp.lt(a, b) : c.op === '>=' ? cmp.ge(a, b) : cmp.eq(a, b);
}

/** The statements of an index rule over the integers j and n. */
export function lowerIndexRule(rule: IndexRule): Stmt[] {
  return rule.map((st) => (st.kind === 'const' ? s.let(st.name, expr(st.value), 'i32') : st.kind === 'return-if' ? s.if(cond(st.cond), [s.return(expr(st.value))]) : s.return(expr(st.value))));
}

/** The name of a boundary's source function in a printed module. */
export const sourceFunctionName = (b: Boundary): string => `source_${b}`;

/**
 * source_<rule>(j, n): where index j of an axis of length n reads under the rule (-1: a zero),
 * j inside [0, n) reading itself. 'valid' never reads outside; its function is the identity.
 */
export function sourceFunction(b: Boundary): Func {
  const rule = BOUNDARY_RULES[b];
  const inside = s.if(cmp.and(cmp.ge(int.ref('j'), 0), cmp.lt(int.ref('j'), int.ref('n'))), [s.return(int.ref('j'))]);
  return {
    name: sourceFunctionName(b),
    params: [
      { name: 'j', type: 'i32' },
      { name: 'n', type: 'i32' },
    ],
    returns: 'i32',
    body: rule.pads ? [inside, ...lowerIndexRule(rule.source)] : [s.return(int.ref('j'))],
    doc: `where index j of an axis of length n reads under '${b}' (-1: a zero)`,
  };
}

/**
 * boundaryIndex(j, n, rule): every rule's source in one function, the rule an enumeration (its
 * values the indices of BOUNDARIES), what field/axis.ts's boundaryIndex computes.
 */
export function boundaryIndexFunction(): Func {
  const j = int.ref('j'), n = int.ref('n');
  // a rule that does not pad never reads outside: -1 (a zero), never reached by the kernels
  const body = [s.if(cmp.and(cmp.ge(j, 0), cmp.lt(j, n)), [s.return(j)]), ...byRule((b) => (BOUNDARY_RULES[b].pads ? lowerIndexRule(BOUNDARY_RULES[b].source) : null)), s.return(int.lit(-1))];
  return { name: 'boundaryIndex', params: ruleParams(['j', 'n']), returns: 'i32', body, doc: 'where index j of an axis of length n reads under the boundary rule (-1: a zero)' };
}

/** One `if (rule == b) { ... }` per rule that has a body. */
function byRule(body: (b: Boundary) => Stmt[] | null): Stmt[] {
  const rule: Expr = { k: 'ref', type: 'rule', name: 'rule' };
  return BOUNDARIES.flatMap((b, i) => {
    const stmts = body(b);
    return stmts === null ? [] : [s.if(cmp.eq(rule, { k: 'lit', type: 'rule', value: i }), stmts)];
  });
}

/** Integer parameters by name, and the rule (first or last). */
function ruleParams(ints: readonly string[], ruleFirst = false): Func['params'] {
  const p = ints.map((name) => ({ name, type: 'i32' as const }));
  const r = { name: 'rule', type: 'rule' as const };
  return ruleFirst ? [r, ...p] : [...p, r];
}

/**
 * mapLength(rule, n, k): the map's length along an axis of n samples under windows of k taps: n
 * under a rule that pads, one value per window that fits under one that does not (src/model/geometry.ts).
 */
export function mapLengthFunction(): Func {
  const body = [...byRule((b) => (BOUNDARY_RULES[b].pads ? null : [s.return(int.add(int.sub(int.ref('n'), int.ref('k')), 1))])), s.return(int.ref('n'))];
  return { name: 'mapLength', params: ruleParams(['n', 'k'], true), returns: 'i32', body, doc: "the map's length along an axis of n samples, windows of k taps" };
}
