/**
 * The kernel program: a small, language-neutral description of a kernel that every printer
 * (TypeScript, C++, CUDA, WGSL) prints and the interpreter runs. It knows nothing of SSIM: buffers
 * and their element types, integer index arithmetic, loops (serial, or parallel: one thread per
 * index on a GPU), accumulators, stores, and the pointwise code lowered from the scalar graph
 * (scalar.ts). Which kernels exist and in what order their sums run is the builder's (src/emit);
 * how a line is spelled is the printer's.
 *
 * Types. Three real types keep the program independent of precision; a printer binds them:
 *  - 'real': the element type of the images (the storage: Float64Array or Float32Array, T in C++),
 *  - 'acc':  the arithmetic and scratch type (float64, or float32 when a float32 kernel is emulated),
 *  - 'f64':  a parameter kept in double where the target has doubles (window taps, constants);
 *            WGSL, which has none, prints it as f32.
 * and 'i32' (indices), 'bool' (conditions) and 'rule' (an enumeration, the boundary rule: a
 * string-literal union in TypeScript, an integer elsewhere; a 'rule' literal's value is the index of
 * its name in the printer's list of names).
 */

export type RealType = 'real' | 'acc' | 'f64';
export type ValueType = RealType | 'i32' | 'bool' | 'rule';

/** Binary operators: arithmetic on reals or integers, comparisons, logic; '>>' and '%' on integers. */
export type BinaryOp = '+' | '-' | '*' | '/' | '%' | '>>' | '<' | '<=' | '>' | '>=' | '==' | '!=' | '&&' | '||';

/** Library functions a printer spells (Math.sqrt, std::sqrt, sqrt). min and max take two arguments. */
export type CallFn = 'sqrt' | 'exp' | 'log' | 'abs' | 'pow' | 'max' | 'min' | 'sign';

/** An expression. `type` is the value's type, which the printers need (rounding, literals, casts). */
export type Expr =
  | { readonly k: 'lit'; readonly type: ValueType; readonly value: number }
  | { readonly k: 'ref'; readonly type: ValueType; readonly name: string }
  | { readonly k: 'load'; readonly type: ValueType; readonly buf: string; readonly at: Expr }
  | { readonly k: 'bin'; readonly type: ValueType; readonly op: BinaryOp; readonly a: Expr; readonly b: Expr }
  | { readonly k: 'neg'; readonly type: ValueType; readonly a: Expr }
  | { readonly k: 'not'; readonly type: 'bool'; readonly a: Expr }
  | { readonly k: 'call'; readonly type: ValueType; readonly fn: CallFn | string; readonly args: readonly Expr[] }
  | { readonly k: 'select'; readonly type: ValueType; readonly cond: Expr; readonly then: Expr; readonly else: Expr }
  | { readonly k: 'cast'; readonly type: ValueType; readonly a: Expr }
  /** The number of elements of a buffer (a serial kernel's parameter). */
  | { readonly k: 'length'; readonly type: 'i32'; readonly buf: string }
  /** Whether an optional buffer was given (a serial kernel's optional parameter). */
  | { readonly k: 'present'; readonly type: 'bool'; readonly buf: string };

/** A statement. */
export type Stmt =
  | { readonly k: 'let'; readonly name: string; readonly type: ValueType; readonly init: Expr; readonly mutable: boolean }
  | { readonly k: 'set'; readonly name: string; readonly value: Expr }
  | { readonly k: 'store'; readonly buf: string; readonly at: Expr; readonly value: Expr }
  /** A scratch array local to one run of the kernel (CPU targets; GPU programs declare scratch buffers instead), zero-filled. */
  | { readonly k: 'alloc'; readonly name: string; readonly elem: ValueType; readonly size: Expr }
  /** dst[dstAt + i] = src[srcAt + i] for i < count. */
  | { readonly k: 'copy'; readonly dst: string; readonly dstAt: Expr; readonly src: string; readonly srcAt: Expr; readonly count: Expr }
  /** buf[at + i] = value for i < count. */
  | { readonly k: 'fill'; readonly buf: string; readonly at: Expr; readonly count: Expr; readonly value: Expr }
  /** for (v = from; v < to; v += step): step 1 unless given. */
  | { readonly k: 'for'; readonly v: string; readonly from: Expr; readonly to: Expr; readonly step?: Expr; readonly body: readonly Stmt[] }
  | { readonly k: 'if'; readonly cond: Expr; readonly then: readonly Stmt[]; readonly else: readonly Stmt[] }
  | { readonly k: 'continue' }
  | { readonly k: 'return'; readonly value: Expr | null }
  /** Stops with an error (a kernel's precondition): TS throws, C++ throws std::invalid_argument, GPUs cannot and skip it. */
  | { readonly k: 'fail'; readonly cond: Expr; readonly message: string }
  | { readonly k: 'comment'; readonly text: string };

/**
 * A parameter: a buffer (its element type, whether the kernel writes it, whether it may be absent:
 * `optional` says how an absent one is spelled, undefined or null), a scalar (with a default when it
 * may be absent), or a record of such fields passed as one object (a struct in C++; `typeName` is
 * the caller's type, `{real}` in it standing for the storage's array type).
 */
export type Param =
  | { readonly k: 'buffer'; readonly name: string; readonly elem: ValueType; readonly access: 'read' | 'write' | 'readwrite'; readonly optional?: 'undefined' | 'null'; readonly doc?: string }
  /** `local`: the name the body reads a record's field by, when not its own (a field `omega` read as `omegaAll`). */
  | { readonly k: 'scalar'; readonly name: string; readonly type: ValueType; readonly default?: number; readonly local?: string; readonly doc?: string }
  | { readonly k: 'record'; readonly name: string; readonly typeName: string; readonly fields: readonly Param[]; readonly doc?: string };

/** A function the kernels call (an index rule, say): scalars in, one scalar out. */
export interface Func {
  readonly name: string;
  readonly params: ReadonlyArray<{ readonly name: string; readonly type: ValueType }>;
  readonly returns: ValueType;
  readonly body: readonly Stmt[];
  readonly doc?: string;
}

/**
 * A serial kernel: a function of its parameters with a body, returning a value or nothing (the
 * CPU targets run it as it is written).
 */
export interface Kernel {
  readonly name: string;
  readonly doc: string;
  readonly params: readonly Param[];
  readonly returns: ValueType | null;
  readonly body: readonly Stmt[];
}

/**
 * A data-parallel pass (the GPU targets): one invocation per point of `grid` (up to three extents,
 * the first the fastest), each running `body` with the grid indices bound to `index` names. Reads
 * and writes global buffers only; writes of distinct invocations never overlap.
 */
export interface Pass {
  readonly name: string;
  readonly doc: string;
  readonly index: readonly string[];
  readonly grid: readonly Expr[];
  readonly body: readonly Stmt[];
}

/**
 * A GPU program: its scalars and buffers (inputs, outputs, scratch with sizes over the scalars),
 * the index tables the host builds, and the passes it launches in order.
 */
export interface PassProgram {
  readonly name: string;
  readonly doc: string;
  readonly scalars: ReadonlyArray<{ readonly name: string; readonly type: ValueType; readonly doc?: string }>;
  readonly buffers: ReadonlyArray<{ readonly name: string; readonly elem: ValueType; readonly role: 'input' | 'output' | 'scratch'; readonly size: Expr; readonly doc?: string }>;
  readonly passes: readonly Pass[];
}

/** A module: functions, serial kernels and pass programs, printed as one file. */
export interface Module {
  readonly funcs: readonly Func[];
  readonly kernels: readonly Kernel[];
  readonly programs: readonly PassProgram[];
}

// ---- constructors: what builders write programs with ----

type Operand = Expr | number;
const isum = (x: Operand): Expr => (typeof x === 'number' ? { k: 'lit', type: 'i32', value: x } : x);

/** Integer expressions: literals are i32; folds `a + 0` and constant arithmetic so printed indices stay short. */
export const int = {
  lit: (value: number): Expr => ({ k: 'lit', type: 'i32', value }),
  ref: (name: string): Expr => ({ k: 'ref', type: 'i32', name }),
  add(a: Operand, b: Operand): Expr {
    const x = isum(a), y = isum(b);
    if (y.k === 'lit' && y.value === 0) return x;
    if (x.k === 'lit' && x.value === 0) return y;
    if (x.k === 'lit' && y.k === 'lit') return int.lit(x.value + y.value);
    if (y.k === 'lit' && y.value < 0) return { k: 'bin', type: 'i32', op: '-', a: x, b: int.lit(-y.value) };
    return { k: 'bin', type: 'i32', op: '+', a: x, b: y };
  },
  sub(a: Operand, b: Operand): Expr {
    const x = isum(a), y = isum(b);
    if (y.k === 'lit' && y.value === 0) return x;
    if (x.k === 'lit' && y.k === 'lit') return int.lit(x.value - y.value);
    return { k: 'bin', type: 'i32', op: '-', a: x, b: y };
  },
  mul(a: Operand, b: Operand): Expr {
    const x = isum(a), y = isum(b);
    if (y.k === 'lit' && y.value === 1) return x;
    if (x.k === 'lit' && x.value === 1) return y;
    if (x.k === 'lit' && y.k === 'lit') return int.lit(x.value * y.value);
    return { k: 'bin', type: 'i32', op: '*', a: x, b: y };
  },
  div: (a: Operand, b: Operand): Expr => ({ k: 'bin', type: 'i32', op: '/', a: isum(a), b: isum(b) }),
  mod: (a: Operand, b: Operand): Expr => ({ k: 'bin', type: 'i32', op: '%', a: isum(a), b: isum(b) }),
  shr: (a: Operand, b: Operand): Expr => ({ k: 'bin', type: 'i32', op: '>>', a: isum(a), b: isum(b) }),
  min: (a: Operand, b: Operand): Expr => ({ k: 'call', type: 'i32', fn: 'min', args: [isum(a), isum(b)] }),
  max: (a: Operand, b: Operand): Expr => ({ k: 'call', type: 'i32', fn: 'max', args: [isum(a), isum(b)] }),
  /** One of two integers. */
  select: (cond: Expr, a: Operand, b: Operand): Expr => ({ k: 'select', type: 'i32', cond, then: isum(a), else: isum(b) }),
};

/** Comparisons and logic. */
export const cmp = {
  lt: (a: Operand, b: Operand): Expr => ({ k: 'bin', type: 'bool', op: '<', a: isum(a), b: isum(b) }),
  le: (a: Operand, b: Operand): Expr => ({ k: 'bin', type: 'bool', op: '<=', a: isum(a), b: isum(b) }),
  gt: (a: Operand, b: Operand): Expr => ({ k: 'bin', type: 'bool', op: '>', a: isum(a), b: isum(b) }),
  ge: (a: Operand, b: Operand): Expr => ({ k: 'bin', type: 'bool', op: '>=', a: isum(a), b: isum(b) }),
  eq: (a: Operand, b: Operand): Expr => ({ k: 'bin', type: 'bool', op: '==', a: isum(a), b: isum(b) }),
  ne: (a: Operand, b: Operand): Expr => ({ k: 'bin', type: 'bool', op: '!=', a: isum(a), b: isum(b) }),
  and: (a: Expr, b: Expr): Expr => ({ k: 'bin', type: 'bool', op: '&&', a, b }),
  or: (a: Expr, b: Expr): Expr => ({ k: 'bin', type: 'bool', op: '||', a, b }),
  not: (a: Expr): Expr => ({ k: 'not', type: 'bool', a }),
};

/** Real expressions of a given real type ('acc' unless said). */
export const real = {
  lit: (value: number, type: RealType = 'acc'): Expr => ({ k: 'lit', type, value }),
  ref: (name: string, type: RealType = 'acc'): Expr => ({ k: 'ref', type, name }),
  add: (a: Expr, b: Expr): Expr => ({ k: 'bin', type: wider(a, b), op: '+', a, b }),
  sub: (a: Expr, b: Expr): Expr => ({ k: 'bin', type: wider(a, b), op: '-', a, b }),
  mul: (a: Expr, b: Expr): Expr => ({ k: 'bin', type: wider(a, b), op: '*', a, b }),
  div: (a: Expr, b: Expr): Expr => ({ k: 'bin', type: wider(a, b), op: '/', a, b }),
  neg: (a: Expr): Expr => ({ k: 'neg', type: a.type, a }),
  call: (fn: CallFn, ...args: Expr[]): Expr => ({ k: 'call', type: args.reduce<ValueType>((t, e) => widerType(t, e.type), args[0]!.type), fn, args }),
  select: (cond: Expr, a: Expr, b: Expr): Expr => ({ k: 'select', type: wider(a, b), cond, then: a, else: b }),
  cast: (type: RealType, a: Expr): Expr => ({ k: 'cast', type, a }),
};

/**
 * The type of an operation on two reals: the arithmetic's ('acc') unless both are 'f64'. 'real' is
 * a storage type only: an operation on two image samples computes in the arithmetic (a float32
 * image's samples multiplied in double in a float64 kernel), so a printer converts where its
 * language would not.
 */
export function widerType(a: ValueType, b: ValueType): ValueType {
  if (a === 'f64' && b === 'f64') return 'f64';
  if (a === 'acc' || b === 'acc' || a === 'real' || b === 'real' || a === 'f64' || b === 'f64') return 'acc';
  return a;
}
const wider = (a: Expr, b: Expr): ValueType => widerType(a.type, b.type);

/** The length of a buffer. */
export const length = (buf: string): Expr => ({ k: 'length', type: 'i32', buf });

/** Whether the optional buffer `buf` was given. */
export const present = (buf: string): Expr => ({ k: 'present', type: 'bool', buf });

/** A load of buf[at]; `elem` is the buffer's element type. */
export const load = (buf: string, at: Operand, elem: ValueType = 'acc'): Expr => ({ k: 'load', type: elem, buf, at: isum(at) });

/** Statements. */
export const s = {
  let: (name: string, init: Expr, type: ValueType = init.type): Stmt => ({ k: 'let', name, type, init, mutable: false }),
  var: (name: string, init: Expr, type: ValueType = init.type): Stmt => ({ k: 'let', name, type, init, mutable: true }),
  set: (name: string, value: Expr): Stmt => ({ k: 'set', name, value }),
  store: (buf: string, at: Operand, value: Expr): Stmt => ({ k: 'store', buf, at: isum(at), value }),
  alloc: (name: string, elem: ValueType, size: Operand): Stmt => ({ k: 'alloc', name, elem, size: isum(size) }),
  copy: (dst: string, dstAt: Operand, src: string, srcAt: Operand, count: Operand): Stmt => ({ k: 'copy', dst, dstAt: isum(dstAt), src, srcAt: isum(srcAt), count: isum(count) }),
  fill: (buf: string, at: Operand, count: Operand, value: Expr): Stmt => ({ k: 'fill', buf, at: isum(at), count: isum(count), value }),
  for: (v: string, from: Operand, to: Operand, body: readonly Stmt[]): Stmt => ({ k: 'for', v, from: isum(from), to: isum(to), body }),
  forStep: (v: string, from: Operand, to: Operand, step: Operand, body: readonly Stmt[]): Stmt => ({ k: 'for', v, from: isum(from), to: isum(to), step: isum(step), body }),
  if: (cond: Expr, then: readonly Stmt[], otherwise: readonly Stmt[] = []): Stmt => ({ k: 'if', cond, then, else: otherwise }),
  continue: (): Stmt => ({ k: 'continue' }),
  return: (value: Expr | null = null): Stmt => ({ k: 'return', value }),
  fail: (cond: Expr, message: string): Stmt => ({ k: 'fail', cond, message }),
  comment: (text: string): Stmt => ({ k: 'comment', text }),
};

/**
 * A module's functions, each once: programs built apart (two schedules of one family) call the same
 * helpers, and a printer that is handed both lists must declare each name once. Two different
 * functions under one name are an error, not a choice.
 */
export function uniqueFuncs(funcs: readonly Func[]): Func[] {
  const byName = new Map<string, Func>();
  for (const f of funcs) {
    const seen = byName.get(f.name);
    if (seen === undefined) byName.set(f.name, f);
    else if (seen !== f && JSON.stringify(seen) !== JSON.stringify(f)) throw new Error(`two different functions are named '${f.name}'`);
  }
  return [...byName.values()];
}
