/**
 * The kernel program's meaning, run in JavaScript: every printer's output must compute what this
 * computes. Reals are bound to float64 or float32 per type ('real', 'acc', 'f64'); under float32
 * each operation's result is rounded (Math.fround), as a float32 GPU computes (fused multiply-adds
 * aside). It runs serial kernels and pass programs (each pass's grid in order, one invocation after
 * another: a GPU's writes never overlap, so the order cannot matter), so a GPU program is tested
 * here on any machine.
 */
import type { Precision } from '../field/precision.js';
import type { Expr, Func, Kernel, Module, PassProgram, Stmt, ValueType } from './ir.js';

/** The precision of each real type. */
export interface Binding {
  readonly real: Precision;
  readonly acc: Precision;
  readonly f64: Precision;
}

export const FLOAT64: Binding = { real: 'float64', acc: 'float64', f64: 'float64' };

/** What a buffer holds at run time. */
export type BufferValue = Float64Array | Float32Array | Int32Array;
export type Value = number | boolean | BufferValue | null | undefined | Readonly<Record<string, unknown>>;

type Frame = Value[];
type Slots = Map<string, number>;
type Ev = (f: Frame) => number;
type Run = (f: Frame) => Signal;
// what a statement list did: ran through, continued the loop, or returned
type Signal = undefined | { readonly kind: 'continue' } | { readonly kind: 'return'; readonly value: number };
const CONTINUE: Signal = { kind: 'continue' };

const isReal = (t: ValueType): t is 'real' | 'acc' | 'f64' => t === 'real' || t === 'acc' || t === 'f64';

/** A zero-filled array of n elements of a type under the binding. */
function arrayFor(binding: Binding, elem: ValueType, n: number): BufferValue {
  if (!isReal(elem)) return new Int32Array(n);
  return binding[elem] === 'float32' ? new Float32Array(n) : new Float64Array(n);
}

class Compiler {
  private readonly slots: Slots = new Map();
  constructor(
    private readonly binding: Binding,
    private readonly funcs: ReadonlyMap<string, (args: number[]) => number>,
  ) {}

  get size(): number {
    return this.slots.size;
  }

  slot(name: string): number {
    let i = this.slots.get(name);
    if (i === undefined) {
      i = this.slots.size;
      this.slots.set(name, i);
    }
    return i;
  }

  private known(name: string): number {
    const i = this.slots.get(name);
    if (i === undefined) throw new Error(`kernel program: '${name}' is not defined`);
    return i;
  }

  private round(t: ValueType): (v: number) => number {
    if (!isReal(t)) return (v) => v;
    return this.binding[t] === 'float32' ? Math.fround : (v) => v;
  }

  expr(e: Expr): Ev {
    const r = this.round(e.type);
    switch (e.k) {
      case 'lit': {
        const v = r(e.value);
        return () => v;
      }
      case 'ref': {
        const i = this.known(e.name);
        return (f) => f[i] as number;
      }
      case 'load': {
        const i = this.known(e.buf);
        const at = this.expr(e.at);
        const buf = e.buf;
        return (f) => {
          const b = f[i] as BufferValue | undefined;
          if (b === undefined) throw new Error(`kernel program: buffer '${buf}' is not given`);
          const j = at(f);
          if (!(j >= 0 && j < b.length)) throw new Error(`kernel program: ${buf}[${j}] is outside its ${b.length} elements`);
          return b[j]!;
        };
      }
      case 'neg': {
        const a = this.expr(e.a);
        return (f) => -a(f);
      }
      case 'not': {
        const a = this.expr(e.a);
        return (f) => (a(f) ? 0 : 1);
      }
      case 'length': {
        const i = this.known(e.buf);
        return (f) => (f[i] as BufferValue).length;
      }
      case 'present': {
        const i = this.known(e.buf);
        return (f) => +(f[i] !== undefined && f[i] !== null);
      }
      case 'cast': {
        const a = this.expr(e.a);
        if (e.type === 'i32') return (f) => Math.trunc(a(f));
        return (f) => r(a(f));
      }
      case 'select': {
        const c = this.expr(e.cond), a = this.expr(e.then), b = this.expr(e.else);
        return (f) => (c(f) ? a(f) : b(f));
      }
      case 'bin': {
        const a = this.expr(e.a), b = this.expr(e.b);
        const integer = e.type === 'i32';
        switch (e.op) {
          case '+':
            return integer ? (f) => (a(f) + b(f)) | 0 : (f) => r(a(f) + b(f));
          case '-':
            return integer ? (f) => (a(f) - b(f)) | 0 : (f) => r(a(f) - b(f));
          case '*':
            return integer ? (f) => Math.imul(a(f), b(f)) : (f) => r(a(f) * b(f));
          case '/':
            return integer ? (f) => (a(f) / b(f)) | 0 : (f) => r(a(f) / b(f));
          case '%':
            return (f) => a(f) % b(f);
          case '>>':
            return (f) => a(f) >> b(f);
          case '<':
            return (f) => +(a(f) < b(f));
          case '<=':
            return (f) => +(a(f) <= b(f));
          case '>':
            return (f) => +(a(f) > b(f));
          case '>=':
            return (f) => +(a(f) >= b(f));
          case '==':
            return (f) => +(a(f) === b(f));
          case '!=':
            return (f) => +(a(f) !== b(f));
          case '&&':
            return (f) => +(a(f) !== 0 && b(f) !== 0);
          case '||':
            return (f) => +(a(f) !== 0 || b(f) !== 0);
        }
        break;
      }
      case 'call': {
        const args = e.args.map((x) => this.expr(x));
        const [a, b] = args;
        switch (e.fn) {
          case 'sqrt':
            return (f) => r(Math.sqrt(a!(f)));
          case 'exp':
            return (f) => r(Math.exp(a!(f)));
          case 'log':
            return (f) => r(Math.log(a!(f)));
          case 'abs':
            return (f) => Math.abs(a!(f));
          case 'sign':
            return (f) => Math.sign(a!(f));
          case 'pow':
            return (f) => r(Math.pow(a!(f), b!(f)));
          // min and max of two values are one of them: exact
          case 'max':
            return (f) => Math.max(a!(f), b!(f));
          case 'min':
            return (f) => Math.min(a!(f), b!(f));
          default: {
            const fn = this.funcs.get(e.fn);
            if (fn === undefined) throw new Error(`kernel program: no function '${e.fn}'`);
            return (f) => fn(args.map((x) => x(f)));
          }
        }
      }
    }
    throw new Error(`kernel program: unknown expression ${JSON.stringify(e)}`);
  }

  private array(elem: ValueType, n: number): BufferValue {
    return arrayFor(this.binding, elem, n);
  }

  stmts(list: readonly Stmt[]): Run {
    const runs = list.map((st) => this.stmt(st));
    return (f) => {
      for (const r of runs) {
        const sig = r(f);
        if (sig !== undefined) return sig;
      }
      return undefined;
    };
  }

  stmt(st: Stmt): Run {
    switch (st.k) {
      case 'let': {
        const init = this.expr(st.init);
        const r = this.round(st.type);
        const i = this.slot(st.name);
        return (f) => {
          f[i] = r(init(f));
          return undefined;
        };
      }
      case 'set': {
        const i = this.known(st.name);
        const v = this.expr(st.value);
        return (f) => {
          f[i] = v(f);
          return undefined;
        };
      }
      case 'store': {
        const i = this.known(st.buf);
        const at = this.expr(st.at), v = this.expr(st.value);
        const buf = st.buf;
        return (f) => {
          const b = f[i] as BufferValue | undefined;
          if (b === undefined) throw new Error(`kernel program: buffer '${buf}' is not given`);
          const j = at(f);
          if (!(j >= 0 && j < b.length)) throw new Error(`kernel program: store ${buf}[${j}] is outside its ${b.length} elements`);
          b[j] = v(f);
          return undefined;
        };
      }
      case 'alloc': {
        const size = this.expr(st.size);
        const i = this.slot(st.name);
        return (f) => {
          f[i] = this.array(st.elem, size(f));
          return undefined;
        };
      }
      case 'copy': {
        const d = this.known(st.dst), src = this.known(st.src);
        const dAt = this.expr(st.dstAt), sAt = this.expr(st.srcAt), n = this.expr(st.count);
        return (f) => {
          const a = sAt(f);
          (f[d] as BufferValue).set((f[src] as BufferValue).subarray(a, a + n(f)), dAt(f));
          return undefined;
        };
      }
      case 'fill': {
        const b = this.known(st.buf);
        const at = this.expr(st.at), n = this.expr(st.count), v = this.expr(st.value);
        return (f) => {
          const a = at(f);
          (f[b] as BufferValue).fill(v(f), a, a + n(f));
          return undefined;
        };
      }
      case 'for': {
        const from = this.expr(st.from), to = this.expr(st.to);
        const step = st.step === undefined ? () => 1 : this.expr(st.step);
        const i = this.slot(st.v);
        const body = this.stmts(st.body);
        return (f) => {
          const end = to(f);
          const by = step(f);
          for (let v = from(f); v < end; v += by) {
            f[i] = v;
            const sig = body(f);
            if (sig !== undefined && sig.kind === 'return') return sig;
          }
          return undefined;
        };
      }
      case 'if': {
        const c = this.expr(st.cond);
        const a = this.stmts(st.then), b = this.stmts(st.else);
        return (f) => (c(f) ? a(f) : b(f));
      }
      case 'continue':
        return () => CONTINUE;
      case 'return': {
        const v = st.value === null ? () => NaN : this.expr(st.value);
        return (f) => ({ kind: 'return', value: v(f) });
      }
      case 'fail': {
        const c = this.expr(st.cond);
        return (f) => {
          if (c(f)) throw new Error(st.message);
          return undefined;
        };
      }
      case 'comment':
        return () => undefined;
    }
  }
}

/** A module's functions, compiled against the binding. */
function compileFuncs(funcs: readonly Func[], binding: Binding): Map<string, (args: number[]) => number> {
  const table = new Map<string, (args: number[]) => number>();
  for (const fn of funcs) {
    const c = new Compiler(binding, table);
    const slots = fn.params.map((p) => c.slot(p.name));
    const body = c.stmts(fn.body);
    table.set(fn.name, (args) => {
      const f: Frame = new Array<Value>(c.size);
      slots.forEach((s, i) => (f[s] = args[i]));
      const sig = body(f);
      if (sig === undefined || sig.kind !== 'return') throw new Error(`kernel program: ${fn.name} did not return`);
      return sig.value;
    });
  }
  return table;
}

/** A serial kernel as a function of its parameters by name; returns what the kernel returns. */
export function interpretKernel(kernel: Kernel, funcs: readonly Func[], binding: Binding = FLOAT64): (args: Readonly<Record<string, Value>>) => number | undefined {
  const c = new Compiler(binding, compileFuncs(funcs, binding));
  // a record's fields are bound by their own names (as a destructuring would), with their defaults
  const slots = kernel.params.flatMap((p): Array<{ record: string | null; name: string; slot: number; fallback: number | undefined }> =>
    p.k === 'record'
      ? p.fields.map((q) => ({ record: p.name, name: q.name, slot: c.slot(q.k === 'scalar' && q.local !== undefined ? q.local : q.name), fallback: q.k === 'scalar' ? q.default : undefined }))
      : [{ record: null, name: p.name, slot: c.slot(p.name), fallback: p.k === 'scalar' ? p.default : undefined }],
  );
  const body = c.stmts(kernel.body);
  return (args) => {
    const f: Frame = new Array<Value>(c.size);
    for (const { record, name, slot, fallback } of slots) {
      const v = record === null ? args[name] : (args[record] as unknown as Readonly<Record<string, Value>> | undefined)?.[name];
      f[slot] = v ?? fallback;
    }
    const sig = body(f);
    return sig?.kind === 'return' ? sig.value : undefined;
  };
}

/**
 * A pass program run on the CPU: scalars and the input and output buffers by name; the scratch
 * buffers are allocated here (zero-filled, each its program size). Returns every buffer.
 */
export function interpretProgram(
  program: PassProgram,
  funcs: readonly Func[],
  args: Readonly<Record<string, Value>>,
  binding: Binding = FLOAT64,
): Map<string, BufferValue> {
  const table = compileFuncs(funcs, binding);
  const sizes = new Compiler(binding, table);
  const scalarSlots = program.scalars.map((sc) => [sc.name, sizes.slot(sc.name)] as const);
  const frame: Frame = [];
  for (const [name, i] of scalarSlots) {
    if (typeof args[name] !== 'number') throw new Error(`kernel program ${program.name}: scalar '${name}' is not given`);
    frame[i] = args[name];
  }
  const buffers = new Map<string, BufferValue>();
  for (const b of program.buffers) {
    const n = sizes.expr(b.size)(frame);
    if (b.role === 'scratch') {
      buffers.set(b.name, arrayFor(binding, b.elem, n));
      continue;
    }
    const given = args[b.name];
    if (!(given instanceof Float64Array || given instanceof Float32Array || given instanceof Int32Array)) throw new Error(`kernel program ${program.name}: buffer '${b.name}' is not given`);
    if (given.length < n) throw new Error(`kernel program ${program.name}: buffer '${b.name}' has ${given.length} elements, needs ${n}`);
    buffers.set(b.name, given);
  }
  for (const pass of program.passes) {
    const c = new Compiler(binding, table);
    const sc = program.scalars.map((x) => [x.name, c.slot(x.name)] as const);
    const bufs = program.buffers.map((x) => [x.name, c.slot(x.name)] as const);
    const index = pass.index.map((v) => c.slot(v));
    const grid = pass.grid.map((g) => c.expr(g));
    const body = c.stmts(pass.body);
    const f: Frame = new Array<Value>(c.size);
    for (const [name, i] of sc) f[i] = args[name];
    for (const [name, i] of bufs) f[i] = buffers.get(name);
    const extents = grid.map((g) => g(f));
    // the grid in order, the first index the fastest
    const total = extents.reduce((a, b) => a * b, 1);
    for (let t = 0; t < total; t++) {
      let rest = t;
      for (let d = 0; d < extents.length; d++) {
        f[index[d]!] = rest % extents[d]!;
        rest = Math.floor(rest / extents[d]!);
      }
      body(f);
    }
  }
  return buffers;
}

/** Every function of a module by name (for a printer's tests). */
export function moduleFunctions(m: Module, binding: Binding = FLOAT64): Map<string, (args: number[]) => number> {
  return compileFuncs(m.funcs, binding);
}
