/**
 * The TypeScript printer of the kernel program: functions and serial kernels as strict TypeScript
 * (noUncheckedIndexedAccess: every indexed read asserted). It binds the program's real types: the
 * storage's typed array for 'real' buffers; numbers for arithmetic, rounded after every operation
 * by Math.fround when the arithmetic is float32 (emulating a float32 kernel, for the rounding floor);
 * 'f64' always float64. It knows nothing of what the kernels compute.
 */
import { arrayNameOf as arrayOf, type Precision } from '../field/precision.js';
import type { BinaryOp, Expr, Func, Kernel, Param, Stmt, ValueType } from './ir.js';
import { cComment, cIfWithJumps, cReturn } from './print-c.js';

/** The precisions a TypeScript kernel is printed for: its storage and its arithmetic. */
export interface TsBinding {
  readonly storage: Precision;
  readonly arithmetic: Precision;
  /** The names of the 'rule' enumeration's values (string literals), and its type's name. */
  readonly rules?: { readonly names: readonly string[]; readonly type: string };
}

// C and JavaScript precedence, loosest first
const PREC: Record<BinaryOp, number> = { '||': 1, '&&': 2, '==': 3, '!=': 3, '<': 4, '<=': 4, '>': 4, '>=': 4, '>>': 5, '+': 6, '-': 6, '*': 7, '/': 7, '%': 7 };
const UNARY = 8;
const ATOM = 9;
const TERNARY = 0;


/** A number as a TypeScript literal (negative ones bracketed where they sit in an expression). */
function numberText(v: number): string {
  if (Object.is(v, -0)) return '-0';
  return String(v);
}

export class TsPrinter {
  constructor(readonly binding: TsBinding) {}

  /** The typed array of a buffer of this element type. */
  array(elem: ValueType): string {
    if (elem === 'i32' || elem === 'bool') return 'Int32Array';
    if (elem === 'real') return arrayOf(this.binding.storage);
    if (elem === 'acc') return arrayOf(this.binding.arithmetic);
    return 'Float64Array';
  }

  private rounds(t: ValueType): boolean {
    return (t === 'acc' || t === 'real') && this.binding.arithmetic === 'float32';
  }

  private fround(t: ValueType, text: string): { text: string; prec: number } {
    return this.rounds(t) ? { text: `Math.fround(${text})`, prec: ATOM } : { text, prec: -1 };
  }

  /** e printed, bracketed when its precedence is below `min`. */
  expr(e: Expr, min = 0): string {
    const { text, prec } = this.go(e);
    return prec < min ? `(${text})` : text;
  }

  private go(e: Expr): { text: string; prec: number } {
    switch (e.k) {
      case 'lit': {
        if (e.type === 'rule') return { text: `'${this.binding.rules?.names[e.value] ?? e.value}'`, prec: ATOM };
        const v = this.rounds(e.type) ? Math.fround(e.value) : e.value;
        return { text: numberText(v), prec: v < 0 || Object.is(v, -0) ? UNARY : ATOM };
      }
      case 'ref':
        return { text: e.name, prec: ATOM };
      case 'load':
        return { text: `${e.buf}[${this.expr(e.at)}]!`, prec: ATOM };
      case 'length':
        return { text: `${e.buf}.length`, prec: ATOM };
      case 'present':
        return { text: `${e.buf} != null`, prec: PREC['!='] };
      case 'neg':
        return { text: `-${this.expr(e.a, UNARY + 1)}`, prec: UNARY };
      case 'not':
        return { text: `!${this.expr(e.a, UNARY + 1)}`, prec: UNARY };
      case 'cast':
        if (e.type === 'i32') return { text: `Math.trunc(${this.expr(e.a)})`, prec: ATOM };
        return this.rounds(e.type) && e.a.type !== e.type ? { text: `Math.fround(${this.expr(e.a)})`, prec: ATOM } : this.go(e.a);
      case 'select':
        return { text: `${this.expr(e.cond, TERNARY + 1)} ? ${this.expr(e.then, TERNARY + 1)} : ${this.expr(e.else, TERNARY)}`, prec: TERNARY };
      case 'bin': {
        const p = PREC[e.op];
        if (e.type === 'i32' && e.op === '/') return { text: `Math.trunc(${this.expr(e.a)} / ${this.expr(e.b, p + 1)})`, prec: ATOM };
        const op = e.op === '==' ? '===' : e.op === '!=' ? '!==' : e.op;
        // left-associative: the right operand binds tighter
        const text = `${this.expr(e.a, p)} ${op} ${this.expr(e.b, p + 1)}`;
        const r = e.op === '+' || e.op === '-' || e.op === '*' || e.op === '/' ? this.fround(e.type, text) : { text, prec: -1 };
        return r.prec === -1 ? { text, prec: p } : r;
      }
      case 'call': {
        const args = e.args.map((a) => this.expr(a)).join(', ');
        const fn = e.fn === 'sqrt' || e.fn === 'exp' || e.fn === 'log' || e.fn === 'abs' || e.fn === 'pow' || e.fn === 'max' || e.fn === 'min' || e.fn === 'sign' ? `Math.${e.fn}` : e.fn;
        const text = `${fn}(${args})`;
        // abs, sign, min and max are exact; the others round
        const exact = e.fn === 'abs' || e.fn === 'sign' || e.fn === 'min' || e.fn === 'max' || !(e.fn in MATH);
        return exact ? { text, prec: ATOM } : { text: this.fround(e.type, text).text, prec: ATOM };
      }
    }
  }

  /** Statements as lines, indented by `depth` levels of two spaces. */
  stmts(list: readonly Stmt[], depth: number): string[] {
    return list.flatMap((st) => this.stmt(st, depth));
  }

  private stmt(st: Stmt, depth: number): string[] {
    const pad = '  '.repeat(depth);
    switch (st.k) {
      case 'let':
        return [`${pad}${st.mutable ? 'let' : 'const'} ${st.name} = ${this.expr(st.init)};`];
      case 'set':
        return [`${pad}${st.name} = ${this.expr(st.value)};`];
      case 'store':
        return [`${pad}${st.buf}[${this.expr(st.at)}] = ${this.expr(st.value)};`];
      case 'alloc':
        return [`${pad}const ${st.name} = new ${this.array(st.elem)}(${this.expr(st.size)});`];
      case 'copy': {
        const from = this.expr(st.srcAt);
        const end = from === '0' ? this.expr(st.count) : `${this.expr(st.srcAt, PREC['+'])} + ${this.expr(st.count, PREC['+'] + 1)}`;
        return [`${pad}${st.dst}.set(${st.src}.subarray(${from}, ${end}), ${this.expr(st.dstAt)});`];
      }
      case 'fill': {
        const from = this.expr(st.at);
        const end = `${this.expr(st.at, PREC['+'])} + ${this.expr(st.count, PREC['+'] + 1)}`;
        return [`${pad}${st.buf}.fill(${this.expr(st.value)}, ${from}, ${end});`];
      }
      case 'for':
        return [
          `${pad}for (let ${st.v} = ${this.expr(st.from)}; ${st.v} < ${this.expr(st.to, PREC['<'] + 1)}; ${st.step === undefined ? `${st.v}++` : `${st.v} += ${this.expr(st.step)}`}) {`,
          ...this.stmts(st.body, depth + 1),
          `${pad}}`,
        ];
      case 'if':
        return cIfWithJumps(pad, st, this.expr(st.cond), (j) => this.stmt(j, 0)[0]!, (b) => this.stmts(b, depth + 1));
      case 'continue':
        return [`${pad}continue;`];
      case 'return':
        return [cReturn(pad, st.value === null ? null : this.expr(st.value))];
      case 'fail':
        return [`${pad}if (${this.expr(st.cond)}) throw new Error(${JSON.stringify(st.message)});`];
      case 'comment':
        return cComment(pad, st.text);
    }
  }

  private paramType(p: Param): string {
    if (p.k === 'scalar') return p.type === 'bool' ? 'boolean' : p.type === 'rule' ? (this.binding.rules?.type ?? 'number') : 'number';
    if (p.k === 'record') return p.typeName.replaceAll('{real}', this.array('real'));
    const t = this.array(p.elem);
    return p.optional === 'null' ? `${t} | null` : t;
  }

  /** A function the kernels call. */
  func(fn: Func): string {
    const doc = fn.doc === undefined ? [] : [`/** ${fn.doc} */`];
    const params = fn.params.map((p) => `${p.name}: ${p.type === 'bool' ? 'boolean' : 'number'}`).join(', ');
    return [...doc, `function ${fn.name}(${params}): ${fn.returns === 'bool' ? 'boolean' : 'number'} {`, ...this.stmts(fn.body, 1), '}'].join('\n');
  }

  /** A serial kernel, exported; a record parameter's fields are destructured first, with their defaults. */
  kernel(k: Kernel): string {
    const params = k.params.map((p) => `${p.name}${p.k === 'buffer' && p.optional === 'undefined' ? '?' : ''}: ${this.paramType(p)}`).join(', ');
    const destructure = k.params.flatMap((p) => {
      if (p.k !== 'record') return [];
      const fields = p.fields.map((q) => {
        const name = q.k === 'scalar' && q.local !== undefined ? `${q.name}: ${q.local}` : q.name;
        return q.k === 'scalar' && q.default !== undefined ? `${name} = ${numberText(q.default)}` : name;
      });
      return [`  const { ${fields.join(', ')} } = ${p.name};`];
    });
    const returns = k.returns === null ? 'void' : k.returns === 'bool' ? 'boolean' : 'number';
    const doc = ['/**', ...k.doc.split('\n').map((l) => ` * ${l}`.trimEnd()), ' */'];
    return [...doc, `export function ${k.name}(${params}): ${returns} {`, ...destructure, ...this.stmts(k.body, 1), '}'].join('\n');
  }
}

const MATH = { sqrt: 1, exp: 1, log: 1, abs: 1, pow: 1, max: 1, min: 1, sign: 1 };
