/**
 * The C++17 printer of the kernel program: functions and serial kernels as header-only C++ (every
 * function `inline`; the caller puts them in a namespace). It binds the program's types: 'real' is
 * the template parameter T (the storage), 'acc' the template parameter Acc (the arithmetic and the
 * scratch), 'f64' double, 'i32' long, 'bool' bool, 'rule' the caller's enumeration. An operation
 * typed 'acc' converts its operands that are not Acc (a float sample, a double tap) so that it runs
 * in Acc, as the TypeScript kernels compute: Acc = double is what their float64 arithmetic does,
 * Acc = float what their emulated float32 arithmetic does. A record parameter is a struct passed by
 * const reference (printed by `structs`), its fields bound to locals at the top of the kernel.
 * It knows nothing of what the kernels compute.
 */
import type { BinaryOp, Expr, Func, Kernel, Param, Stmt, ValueType } from './ir.js';
import { cIfWithJumps, cReturn } from './print-c.js';

/** How the printer spells what the program leaves to the caller. */
export interface CppBinding {
  /** The 'rule' enumeration: its C++ type (an enum class) and the names of its values, in order. */
  readonly rules: { readonly names: readonly string[]; readonly type: string };
}

// C precedence, loosest first (the same table as the TypeScript printer's)
const PREC: Record<BinaryOp, number> = { '||': 1, '&&': 2, '==': 3, '!=': 3, '<': 4, '<=': 4, '>': 4, '>=': 4, '>>': 5, '+': 6, '-': 6, '*': 7, '/': 7, '%': 7 };
const UNARY = 8;
const ATOM = 9;
const TERNARY = 0;

const LIBRARY = new Set(['sqrt', 'exp', 'log', 'abs', 'pow', 'max', 'min', 'sign']);

/** A finite double as a C++ literal that reads back as exactly v. */
function doubleText(v: number): string {
  if (Number.isNaN(v)) return 'std::numeric_limits<double>::quiet_NaN()';
  if (!Number.isFinite(v)) return `${v < 0 ? '-' : ''}std::numeric_limits<double>::infinity()`;
  if (Object.is(v, -0)) return '-0.0';
  const s = String(v);
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

/** What a name is in the scope being printed: its type, and whether it is a std::vector (an alloc). */
interface Symbol {
  readonly type: ValueType;
  readonly vector: boolean;
}

/** Every name a statement list reads (to bind only the record fields a kernel uses, and mark unused locals). */
function namesRead(list: readonly Stmt[], into: Set<string>): Set<string> {
  const expr = (e: Expr): void => {
    switch (e.k) {
      case 'ref':
        into.add(e.name);
        return;
      case 'load':
        into.add(e.buf);
        expr(e.at);
        return;
      case 'length':
        into.add(`${e.buf}#length`);
        return;
      case 'present':
        into.add(e.buf);
        return;
      case 'bin':
        expr(e.a);
        expr(e.b);
        return;
      case 'neg':
      case 'not':
      case 'cast':
        expr(e.a);
        return;
      case 'call':
        e.args.forEach(expr);
        return;
      case 'select':
        expr(e.cond);
        expr(e.then);
        expr(e.else);
        return;
      case 'lit':
        return;
    }
  };
  for (const st of list) {
    switch (st.k) {
      case 'let':
        expr(st.init);
        break;
      case 'set':
        into.add(st.name);
        expr(st.value);
        break;
      case 'store':
        into.add(st.buf);
        expr(st.at);
        expr(st.value);
        break;
      case 'alloc':
        expr(st.size);
        break;
      case 'copy':
        into.add(st.dst).add(st.src);
        [st.dstAt, st.srcAt, st.count].forEach(expr);
        break;
      case 'fill':
        into.add(st.buf);
        [st.at, st.count, st.value].forEach(expr);
        break;
      case 'for':
        [st.from, st.to, ...(st.step === undefined ? [] : [st.step])].forEach(expr);
        namesRead(st.body, into);
        break;
      case 'if':
        expr(st.cond);
        namesRead(st.then, into);
        namesRead(st.else, into);
        break;
      case 'return':
        if (st.value !== null) expr(st.value);
        break;
      case 'fail':
        expr(st.cond);
        break;
      case 'continue':
      case 'comment':
        break;
    }
  }
  return into;
}

/** The C++ name of a record's type: `{real}` in the caller's name stands for T. */
const recordType = (typeName: string): string => typeName.replaceAll('{real}', 'T');

export class CppPrinter {
  private scopes: Array<Map<string, Symbol>> = [];
  private read = new Set<string>();

  constructor(readonly binding: CppBinding) {}

  /** The C++ type of a value type. */
  type(t: ValueType): string {
    switch (t) {
      case 'real':
        return 'T';
      case 'acc':
        return 'Acc';
      case 'f64':
        return 'double';
      case 'i32':
        return 'long';
      case 'bool':
        return 'bool';
      case 'rule':
        return this.binding.rules.type;
    }
  }

  private declare(name: string, type: ValueType, vector = false): void {
    this.scopes[this.scopes.length - 1]!.set(name, { type, vector });
  }

  private lookup(name: string): Symbol | undefined {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const s = this.scopes[i]!.get(name);
      if (s !== undefined) return s;
    }
    return undefined;
  }

  /** The type an expression has in C++ (a reference's declared type, not the program's tag). */
  private ctype(e: Expr): ValueType {
    if (e.k === 'ref' || e.k === 'load') {
      const s = this.lookup(e.k === 'ref' ? e.name : e.buf);
      if (s !== undefined) return s.type;
    }
    if (e.k === 'select') {
      const a = this.ctype(e.then), b = this.ctype(e.else);
      if (a === b) return a;
    }
    return e.type;
  }

  /** e printed as a value of type t: converted (`Acc(e)`) where its C++ type differs and t is a real. */
  private as(t: ValueType, e: Expr, min = 0): string {
    const from = this.ctype(e);
    const real = t === 'real' || t === 'acc' || t === 'f64';
    if (from === t || !real) return this.expr(e, min);
    if (e.k === 'lit') return this.literal(t, e.value).text;
    return `${this.type(t)}(${this.expr(e)})`;
  }

  private literal(t: ValueType, v: number): { text: string; prec: number } {
    switch (t) {
      case 'rule':
        return { text: `${this.binding.rules.type}::${this.binding.rules.names[v] ?? String(v)}`, prec: ATOM };
      case 'bool':
        return { text: v !== 0 ? 'true' : 'false', prec: ATOM };
      case 'i32':
        return { text: String(v), prec: v < 0 ? UNARY : ATOM };
      case 'f64': {
        const text = doubleText(v);
        return { text, prec: text.startsWith('-') ? UNARY : ATOM };
      }
      case 'acc':
      case 'real':
        return { text: `${this.type(t)}(${doubleText(v)})`, prec: ATOM };
    }
  }

  /** e printed, bracketed when its precedence is below `min`. */
  expr(e: Expr, min = 0): string {
    const { text, prec } = this.go(e);
    return prec < min ? `(${text})` : text;
  }

  private go(e: Expr): { text: string; prec: number } {
    switch (e.k) {
      case 'lit':
        return this.literal(e.type, e.value);
      case 'ref':
        return { text: e.name, prec: ATOM };
      case 'load':
        return { text: `${e.buf}[${this.expr(e.at)}]`, prec: ATOM };
      case 'length':
        return { text: `${e.buf}_length`, prec: ATOM };
      case 'present':
        return { text: `${e.buf} != nullptr`, prec: PREC['!='] };
      case 'neg':
        return { text: `-${this.expr(e.a, UNARY + 1)}`, prec: UNARY };
      case 'not':
        return { text: `!${this.expr(e.a, UNARY + 1)}`, prec: UNARY };
      case 'cast':
        if (this.ctype(e.a) === e.type) return this.go(e.a);
        return { text: `${this.type(e.type)}(${this.expr(e.a)})`, prec: ATOM };
      case 'select': {
        const t = e.type;
        const same = this.ctype(e.then) === this.ctype(e.else);
        const branch = (b: Expr, min: number): string => (same || t === 'i32' ? this.expr(b, min) : this.as(t, b, min));
        return { text: `${this.expr(e.cond, TERNARY + 1)} ? ${branch(e.then, TERNARY + 1)} : ${branch(e.else, TERNARY)}`, prec: TERNARY };
      }
      case 'bin': {
        const p = PREC[e.op];
        const arith = e.op === '+' || e.op === '-' || e.op === '*' || e.op === '/';
        // an operation in a real type runs in that type: its operands converted (a float sample in a double kernel)
        const operand = (x: Expr, min: number): string => (arith && (e.type === 'acc' || e.type === 'f64') ? this.as(e.type, x, min) : this.expr(x, min));
        // left-associative: the right operand binds tighter; a shift's operands bracketed (g++ -Wparentheses)
        const [left, right] = e.op === '>>' ? [UNARY, UNARY] : [p, p + 1];
        return { text: `${operand(e.a, left)} ${e.op} ${operand(e.b, right)}`, prec: p };
      }
      case 'call': {
        if (!LIBRARY.has(e.fn)) return { text: `${e.fn}(${e.args.map((a) => this.expr(a)).join(', ')})`, prec: ATOM };
        const t = e.type;
        const args = e.args.map((a) => (t === 'i32' ? this.expr(a) : this.as(t, a)));
        if (e.fn === 'sign') {
          const a = this.as(t, e.args[0]!, PREC['<'] + 1);
          const zero = this.literal(t, 0).text;
          return { text: `${this.type(t)}((${a} > ${zero}) - (${a} < ${zero}))`, prec: ATOM };
        }
        // min and max on one type (a literal 64 is an int, a length a long)
        if (e.fn === 'min' || e.fn === 'max') return { text: `std::${e.fn}<${this.type(t)}>(${args.join(', ')})`, prec: ATOM };
        return { text: `std::${e.fn}(${args.join(', ')})`, prec: ATOM };
      }
    }
  }

  /** A pointer to element `at` of a buffer (a std::vector's data). */
  private at(buf: string, at: Expr): string {
    const base = this.lookup(buf)?.vector === true ? `${buf}.data()` : buf;
    return at.k === 'lit' && at.value === 0 ? base : `${base} + ${this.expr(at, PREC['+'] + 1)}`;
  }

  private elemOf(buf: string): ValueType {
    const s = this.lookup(buf);
    if (s === undefined) throw new Error(`print-cpp: buffer ${buf} is not declared`);
    return s.type;
  }

  /** Statements as lines, indented by `depth` levels of two spaces. */
  stmts(list: readonly Stmt[], depth: number): string[] {
    return list.flatMap((st) => this.stmt(st, depth));
  }

  private block(list: readonly Stmt[], depth: number, declare?: () => void): string[] {
    this.scopes.push(new Map());
    declare?.();
    const lines = this.stmts(list, depth);
    this.scopes.pop();
    return lines;
  }

  private stmt(st: Stmt, depth: number): string[] {
    const pad = '  '.repeat(depth);
    switch (st.k) {
      case 'let': {
        const init = this.as(st.type, st.init);
        this.declare(st.name, st.type);
        const unused = this.read.has(st.name) ? '' : '[[maybe_unused]] ';
        return [`${pad}${unused}${st.mutable ? '' : 'const '}${this.type(st.type)} ${st.name} = ${init};`];
      }
      case 'set':
        return [`${pad}${st.name} = ${this.as(this.lookup(st.name)?.type ?? st.value.type, st.value)};`];
      case 'store':
        return [`${pad}${st.buf}[${this.expr(st.at)}] = ${this.as(this.elemOf(st.buf), st.value)};`];
      case 'alloc': {
        if (st.elem === 'bool' || st.elem === 'rule') throw new Error(`print-cpp: no arrays of ${st.elem}`);
        const size = this.expr(st.size);
        this.declare(st.name, st.elem, true);
        // value-initialised: zero-filled
        return [`${pad}std::vector<${this.type(st.elem)}> ${st.name}(${size});`];
      }
      case 'copy':
        return [`${pad}std::copy_n(${this.at(st.src, st.srcAt)}, ${this.expr(st.count)}, ${this.at(st.dst, st.dstAt)});`];
      case 'fill':
        return [`${pad}std::fill_n(${this.at(st.buf, st.at)}, ${this.expr(st.count)}, ${this.as(this.elemOf(st.buf), st.value)});`];
      case 'for': {
        const head = `${pad}for (long ${st.v} = ${this.expr(st.from)}; ${st.v} < ${this.expr(st.to, PREC['<'] + 1)}; ${st.step === undefined ? `${st.v}++` : `${st.v} += ${this.expr(st.step)}`}) {`;
        return [head, ...this.block(st.body, depth + 1, () => this.declare(st.v, 'i32')), `${pad}}`];
      }
      case 'if':
        return cIfWithJumps(pad, st, this.expr(st.cond), (j) => this.stmt(j, 0)[0]!, (b) => this.block(b, depth + 1));
      case 'continue':
        return [`${pad}continue;`];
      case 'return':
        return [cReturn(pad, st.value === null ? null : this.returns === null ? this.expr(st.value) : this.as(this.returns, st.value))];
      case 'fail':
        return [`${pad}if (${this.expr(st.cond)}) throw std::invalid_argument(${JSON.stringify(st.message)});`];
      case 'comment':
        return st.text.split('\n').map((l) => `${pad}// ${l}`);
    }
  }

  private returns: ValueType | null = null;

  /** A function the kernels call: scalars in, one scalar out. */
  func(fn: Func): string {
    this.read = namesRead(fn.body, new Set());
    this.returns = fn.returns;
    this.scopes = [new Map(fn.params.map((p) => [p.name, { type: p.type, vector: false }]))];
    const doc = fn.doc === undefined ? [] : [`/** ${fn.doc} */`];
    const params = fn.params.map((p) => `${this.type(p.type)} ${p.name}`).join(', ');
    const body = this.stmts(fn.body, 1);
    return [...doc, `inline ${this.type(fn.returns)} ${fn.name}(${params}) {`, ...body, '}'].join('\n');
  }

  /** A buffer's pointer type. */
  private pointer(p: Param & { k: 'buffer' }): string {
    return `${p.access === 'read' ? 'const ' : ''}${this.type(p.elem)}*`;
  }

  /**
   * The structs of the record parameters of these kernels, once per type: a scalar as a field (with
   * its default), a buffer as a pointer (nullptr when an optional one is absent) and, where a kernel
   * reads its length, a `<name>_length` field. A type whose name has `{real}` is a template on T.
   */
  structs(kernels: readonly Kernel[]): string[] {
    const seen = new Map<string, string>();
    for (const k of kernels) {
      const read = namesRead(k.body, new Set());
      for (const p of k.params) {
        if (p.k !== 'record') continue;
        const name = p.typeName.replace(/<.*$/, '');
        if (seen.has(name)) continue;
        const template = p.typeName.includes('{real}');
        const fields = p.fields.flatMap((q) => {
          const doc = q.doc === undefined ? [] : [`  /** ${q.doc} */`];
          if (q.k === 'record') throw new Error('print-cpp: records of records are not printed');
          if (q.k === 'scalar') {
            const init = q.type === 'rule' ? this.literal('rule', q.default ?? 0).text : q.type === 'i32' || q.type === 'bool' ? this.literal(q.type, q.default ?? 0).text : doubleText(q.default ?? 0);
            return [...doc, `  ${this.type(q.type)} ${q.name} = ${init};`];
          }
          const lines = [...doc, `  ${this.pointer(q)} ${q.name} = nullptr;`];
          if (read.has(`${q.name}#length`)) lines.push(`  long ${q.name}_length = 0;`);
          return lines;
        });
        const doc = p.doc === undefined ? [] : [`/** ${p.doc} */`];
        seen.set(name, [...doc, ...(template ? ['template <typename T>'] : []), `struct ${name} {`, ...fields, '};'].join('\n'));
      }
    }
    return [...seen.values()];
  }

  /**
   * A serial kernel: `template <typename T, typename Acc> inline R name(params)`, a record's fields
   * that the body reads bound to locals first (a scalar field's `local` name where it has one).
   */
  kernel(k: Kernel): string {
    const read = namesRead(k.body, new Set());
    this.read = read;
    this.returns = k.returns;
    this.scopes = [new Map()];
    const params: string[] = [];
    const binds: string[] = [];
    for (const p of k.params) {
      if (p.k === 'scalar') {
        params.push(`${this.type(p.type)} ${p.name}`);
        this.declare(p.name, p.type);
      } else if (p.k === 'buffer') {
        params.push(`${this.pointer(p)} ${p.name}`);
        if (read.has(`${p.name}#length`)) params.push(`long ${p.name}_length`);
        this.declare(p.name, p.elem);
      } else {
        params.push(`const ${recordType(p.typeName)}& ${p.name}`);
        for (const q of p.fields) {
          if (q.k === 'record') throw new Error('print-cpp: records of records are not printed');
          const local = q.k === 'scalar' && q.local !== undefined ? q.local : q.name;
          if (q.k === 'scalar') {
            if (!read.has(local)) continue;
            binds.push(`  const ${this.type(q.type)} ${local} = ${p.name}.${q.name};`);
            this.declare(local, q.type);
          } else {
            if (read.has(q.name)) binds.push(`  ${this.pointer(q)} const ${q.name} = ${p.name}.${q.name};`);
            if (read.has(`${q.name}#length`)) binds.push(`  const long ${q.name}_length = ${p.name}.${q.name}_length;`);
            this.declare(q.name, q.elem);
          }
        }
      }
    }
    const returns = k.returns === null ? 'void' : this.type(k.returns);
    const doc = ['/**', ...k.doc.split('\n').map((l) => ` * ${l}`.trimEnd()), ' */'];
    const body = this.stmts(k.body, 1);
    return [...doc, 'template <typename T, typename Acc>', `inline ${returns} ${k.name}(${params.join(', ')}) {`, ...binds, ...body, '}'].join('\n');
  }
}

/** The buffers whose length these kernels read: their structs carry a `<name>_length` field. */
export function measuredBuffers(kernels: readonly Kernel[]): Set<string> {
  const read = new Set<string>();
  for (const k of kernels) namesRead(k.body, read);
  return new Set([...read].filter((n) => n.endsWith('#length')).map((n) => n.slice(0, -'#length'.length)));
}
