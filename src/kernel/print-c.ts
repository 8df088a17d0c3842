/**
 * What the C-like printers (TypeScript, C++, CUDA, WGSL) spell alike: an `if` with its branches, a
 * `return`, a comment, and the rule that a lone `continue` or `return` prints on its condition's
 * line. Each printer prints its own conditions, values and bodies and hands them here.
 */
import type { Stmt } from './ir.js';

/** `if (cond) {`, the branch, `} else {` and the other branch where there is one, `}`. */
export function cIf(pad: string, cond: string, then: readonly string[], otherwise: readonly string[]): string[] {
  const lines = [`${pad}if (${cond}) {`, ...then];
  if (otherwise.length > 0) lines.push(`${pad}} else {`, ...otherwise);
  lines.push(`${pad}}`);
  return lines;
}

/** The statement an `if` holds alone, when it is a jump (continue, return) that prints on the condition's line. */
function loneJump(st: Stmt & { k: 'if' }): Stmt | null {
  if (st.else.length !== 0 || st.then.length !== 1) return null;
  const only = st.then[0]!;
  return only.k === 'continue' || only.k === 'return' ? only : null;
}

/** An `if` whose lone jump prints on the condition's line (`jump` prints it unindented), its branches through `block` otherwise. */
export function cIfWithJumps(pad: string, st: Stmt & { k: 'if' }, cond: string, jump: (s: Stmt) => string, block: (b: readonly Stmt[]) => string[]): string[] {
  const only = loneJump(st);
  return only !== null ? [`${pad}if (${cond}) ${jump(only)}`] : cIf(pad, cond, block(st.then), block(st.else));
}

/** `return;` or `return value;`. */
export const cReturn = (pad: string, value: string | null): string => `${pad}return${value === null ? '' : ` ${value}`};`;

/** A comment, a `//` line per line of text. */
export const cComment = (pad: string, text: string): string[] => text.split('\n').map((l) => `${pad}// ${l}`);
