/**
 * The WGSL printer: a pass program and its functions as one WebGPU shader module, and the layout
 * the host needs to run it (webgpu.ts). It prints the kernel program (ir.ts) and knows nothing
 * of what the program computes; its meaning is the interpreter's under a float32 binding.
 *
 *  - Types: 'real', 'acc' and 'f64' all print as f32 (WGSL has no f64), 'i32' as i32, 'bool' as
 *    bool in code and as i32 (0 or 1) in buffers and in the scalars' struct (bool is not host-shareable).
 *    WGSL converts nothing implicitly: every operand is converted to the type its operation wants.
 *  - Bindings (group 0): the scalars as one uniform struct at binding 0 (when there are any), then
 *    one storage buffer per program buffer in the program's order, `read_write` when some pass stores
 *    to it, `read` otherwise.
 *  - One entry point per pass, `@workgroup_size(64)`: the pass's grid linearised (the first extent
 *    the fastest, as the interpreter runs it), dispatched as a 2-D grid of workgroups so that no
 *    dimension exceeds WebGPU's 65535, with a bounds guard; the grid indices are bound to the pass's
 *    `index` names.
 *  - Integer `/` and `%` truncate in WGSL as in C and JavaScript, so index rules print as they are.
 *  - `fail` cannot stop a GPU: it prints as a comment. `alloc`, `copy` and `fill` are CPU-only and throw.
 */
import type { Expr, Func, PassProgram, Stmt, ValueType } from './ir.js';
import { uniqueFuncs } from './ir.js';
import { cIf } from './print-c.js';

/** Invocations per workgroup (one dimension). */
export const WORKGROUP_SIZE = 64;

/** A WGSL storage type. */
export type WgslScalar = 'f32' | 'i32';

/** Where the host finds each part of a printed program. Plain data (it crosses into a page as JSON). */
export interface WgslLayout {
  readonly program: string;
  readonly workgroupSize: number;
  /** The uniform struct of the scalars: its binding (null when the program has no scalars), byte size, members. */
  readonly uniform: {
    readonly binding: number | null;
    readonly size: number;
    readonly members: ReadonlyArray<{ readonly name: string; readonly type: ValueType; readonly storage: WgslScalar; readonly offset: number }>;
  };
  readonly buffers: ReadonlyArray<{
    readonly name: string;
    readonly elem: ValueType;
    readonly storage: WgslScalar;
    readonly role: 'input' | 'output' | 'scratch';
    /** Elements, over the scalars. */
    readonly size: Expr;
    readonly binding: number;
    readonly access: 'read' | 'read_write';
  }>;
  readonly passes: ReadonlyArray<{
    readonly name: string;
    readonly entryPoint: string;
    /** The grid's extents over the scalars (the first the fastest). */
    readonly grid: readonly Expr[];
    /** The bindings the entry point uses (its 'auto' bind group layout holds exactly these). */
    readonly bindings: readonly number[];
  }>;
}

/** A printed program: the WGSL module, its layout, and the functions the host needs to evaluate sizes and grids. */
export interface PrintedWgsl {
  readonly code: string;
  readonly layout: WgslLayout;
  readonly funcs: readonly Func[];
}

/** Workgroups for `invocations` invocations: [x, y] with x, y <= maxPerDimension (x * y * size covers them). */
export function workgroupCounts(invocations: number, workgroupSize = WORKGROUP_SIZE, maxPerDimension = 65535): [number, number] {
  if (invocations <= 0) return [0, 0];
  const groups = Math.ceil(invocations / workgroupSize);
  const x = Math.min(groups, maxPerDimension);
  const y = Math.ceil(groups / x);
  if (y > maxPerDimension) throw new Error(`WGSL: ${invocations} invocations need more than ${maxPerDimension}^2 workgroups`);
  return [x, y];
}

// WGSL's keywords and reserved words (the spec's lists), the builtins a printed module calls or
// names, and the printer's own names: a program name among them gets a trailing underscore.
const RESERVED = new Set(
  (
    'alias break case const const_assert continue continuing default diagnostic discard else enable false fn for if let loop override requires return struct switch true var while ' +
    'NULL Self abstract active alignas alignof as asm asm_fragment async attribute auto await become binding_array cast catch class co_await co_return co_yield coherent column_major common compile compile_fragment concept const_cast consteval constexpr constinit crate debugger decltype delete demote demote_to_helper do dynamic_cast enum explicit export extends extern external fallthrough filter final finally friend from fxgroup get goto groupshared highp impl implements import inline instanceof interface layout lowp macro macro_rules match mediump meta mod module move mut mutable namespace new nil noexcept noinline nointerpolation non_coherent noncoherent noperspective null nullptr of operator package packoffset partition pass patch pixelfragment precise precision premerge priv protected pub public readonly ref regardless register reinterpret_cast require resource restrict self set shared sizeof smooth snorm static static_assert static_cast std subroutine super target template this thread_local throw trait try type typedef typeid typename typeof union unless unorm unsafe unsized use using varying virtual volatile wgsl where with writeonly yield ' +
    'f32 f16 i32 u32 bool vec2 vec3 vec4 array atomic ptr sqrt exp log abs pow max min sign select bitcast arrayLength ' +
    'gid groups linear scalars Scalars real_pow'
  ).split(' '),
);

/** A program name as a WGSL identifier. */
function ident(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || name === '_') throw new Error(`WGSL: '${name}' is not an identifier`);
  if (name.startsWith('__')) return `u${name}`;
  // the printer's own locals are grid_<d>, rest_<d> and end_<n>
  if (RESERVED.has(name) || /^(grid|rest|end)_\d+$/.test(name)) return `${name}_`;
  return name;
}

/**
 * pow as the interpreter (JavaScript's Math.pow) defines it: WGSL's pow is undefined for a negative
 * base (SwiftShader gives NaN) and for a zero base, where Math.pow gives +-|x|^y for an integer y
 * (a ratio of a covariance to a product of deviations can be negative, raised to an integer power).
 */
const REAL_POW = 'real_pow';
const REAL_POW_FN = [
  '// pow as JavaScript defines it: WGSL leaves a negative or zero base undefined',
  `fn ${REAL_POW}(x: f32, y: f32) -> f32 {`,
  '  if (y == 0.0f) {',
  '    return 1.0f;',
  '  }',
  '  if (x > 0.0f) {',
  '    return pow(x, y);',
  '  }',
  '  if (x == 0.0f) {',
  '    return select(0.0f, 1.0f / x, y < 0.0f);',
  '  }',
  '  if (y != floor(y)) {',
  '    return sqrt(x); // NaN: a negative base to a fractional power',
  '  }',
  '  let r: f32 = pow(-x, y);',
  '  return select(r, -r, fract(0.5f * y) != 0.0f);',
  '}',
  '',
];

const codeType = (t: ValueType): 'f32' | 'i32' | 'bool' => (t === 'i32' || t === 'rule' ? 'i32' : t === 'bool' ? 'bool' : 'f32');
const storageType = (t: ValueType): WgslScalar => (t === 'i32' || t === 'rule' || t === 'bool' ? 'i32' : 'f32');

/** An f32 literal: the float32 nearest the value, in the fewest digits that read back as it. */
export function f32Literal(value: number): string {
  const x = Math.fround(value);
  if (!Number.isFinite(x)) throw new Error(`WGSL: the literal ${value} is not a finite f32`);
  if (x === 0) return Object.is(x, -0) ? '(-0.0f)' : '0.0f';
  let text = '';
  for (let p = 1; p <= 9; p++) {
    text = Math.abs(x).toPrecision(p);
    if (Math.fround(Number(text)) === Math.abs(x)) break;
  }
  if (!/[.e]/.test(text)) text += '.0';
  return x < 0 ? `(-${text}f)` : `${text}f`;
}

/** An i32 literal. */
export function i32Literal(value: number): string {
  if (!Number.isInteger(value) || value < -2147483648 || value > 2147483647) throw new Error(`WGSL: ${value} is not an i32`);
  if (value === -2147483648) return 'i32(-2147483648)';
  return value < 0 ? `(${value}i)` : `${value}i`;
}

/** `text`, of WGSL type `from`, converted to `to`. */
function convert(text: string, from: 'f32' | 'i32' | 'bool', to: 'f32' | 'i32' | 'bool'): string {
  if (from === to) return text;
  if (to === 'bool') return `(${text} != ${from === 'f32' ? '0.0f' : '0i'})`;
  return `${to}(${text})`;
}

interface Name {
  readonly text: string;
  readonly type: ValueType;
  readonly mutable: boolean;
}

/** What a printer of one body knows: the names in scope, the buffers, the functions, whether it is in a loop or a function. */
class Body {
  private scopes: Array<Map<string, Name>> = [new Map()];
  private loops = 0;
  private hoisted = 0;
  /** The bindings the body used. */
  readonly used = new Set<number>();

  constructor(
    private readonly where: string,
    private readonly buffers: ReadonlyMap<string, { readonly text: string; readonly elem: ValueType; readonly binding: number }>,
    private readonly scalars: ReadonlyMap<string, { readonly text: string; readonly type: ValueType }>,
    private readonly uniformBinding: number | null,
    private readonly funcs: ReadonlyMap<string, Func>,
    /** The function's return type, or undefined in a pass. */
    private readonly returns: ValueType | undefined,
  ) {}

  declare(name: string, type: ValueType, mutable: boolean): string {
    const text = ident(name);
    this.scopes[this.scopes.length - 1]!.set(name, { text, type, mutable });
    return text;
  }

  private lookup(name: string): Name {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const n = this.scopes[i]!.get(name);
      if (n !== undefined) return n;
    }
    const sc = this.scalars.get(name);
    if (sc !== undefined) {
      if (this.uniformBinding !== null) this.used.add(this.uniformBinding);
      return { text: sc.type === 'bool' ? `(${sc.text} != 0i)` : sc.text, type: sc.type, mutable: false };
    }
    throw new Error(`WGSL ${this.where}: '${name}' is not defined`);
  }

  private buffer(name: string): { readonly text: string; readonly elem: ValueType } {
    const b = this.buffers.get(name);
    if (b === undefined) throw new Error(`WGSL ${this.where}: no buffer '${name}'${this.returns !== undefined ? ' (functions take scalars only)' : ''}`);
    this.used.add(b.binding);
    return b;
  }

  /** `e` printed as a value of WGSL type `to`. */
  as(e: Expr, to: ValueType): string {
    return convert(this.expr(e), codeType(e.type), codeType(to));
  }

  /** `e` printed; its WGSL type is codeType(e.type). */
  expr(e: Expr): string {
    switch (e.k) {
      case 'lit':
        return e.type === 'bool' ? (e.value ? 'true' : 'false') : e.type === 'i32' ? i32Literal(e.value) : f32Literal(e.value);
      case 'ref': {
        const n = this.lookup(e.name);
        return convert(n.text, codeType(n.type), codeType(e.type));
      }
      case 'load': {
        const b = this.buffer(e.buf);
        return convert(`${b.text}[${this.as(e.at, 'i32')}]`, storageType(b.elem), codeType(e.type));
      }
      case 'neg':
        return `(-${this.as(e.a, e.type)})`;
      case 'not':
        return `(!${this.as(e.a, 'bool')})`;
      case 'cast':
        return this.as(e.a, e.type);
      case 'length':
      case 'present':
        throw new Error(`WGSL ${this.where}: '${e.k}' reads a serial kernel's parameters; a pass reads the program's buffers`);
      case 'select':
        return `select(${this.as(e.else, e.type)}, ${this.as(e.then, e.type)}, ${this.as(e.cond, 'bool')})`;
      case 'bin': {
        switch (e.op) {
          case '&&':
          case '||':
            return `(${this.as(e.a, 'bool')} ${e.op} ${this.as(e.b, 'bool')})`;
          case '<':
          case '<=':
          case '>':
          case '>=':
          case '==':
          case '!=': {
            // compared as reals if either side is one, as integers otherwise (bools compare as bools)
            const ta = codeType(e.a.type), tb = codeType(e.b.type);
            const t: ValueType = ta === 'f32' || tb === 'f32' ? 'acc' : ta === 'bool' && tb === 'bool' && (e.op === '==' || e.op === '!=') ? 'bool' : 'i32';
            return `(${this.as(e.a, t)} ${e.op} ${this.as(e.b, t)})`;
          }
          case '>>':
            return `(${this.as(e.a, 'i32')} >> u32(${this.as(e.b, 'i32')}))`;
          default:
            return `(${this.as(e.a, e.type)} ${e.op} ${this.as(e.b, e.type)})`;
        }
      }
      case 'call': {
        const builtin = { sqrt: 1, exp: 1, log: 1, pow: 2, abs: 1, sign: 1, max: 2, min: 2 } as Record<string, number>;
        const arity = builtin[e.fn];
        if (arity !== undefined) {
          if (e.args.length !== arity) throw new Error(`WGSL ${this.where}: ${e.fn} takes ${arity} argument(s), not ${e.args.length}`);
          // sqrt, exp, log and pow are real; abs, sign, min and max work on the call's type
          const t: ValueType = ['sqrt', 'exp', 'log', 'pow'].includes(e.fn) ? 'acc' : e.type;
          return convert(`${e.fn === 'pow' ? REAL_POW : e.fn}(${e.args.map((a) => this.as(a, t)).join(', ')})`, codeType(t), codeType(e.type));
        }
        const fn = this.funcs.get(e.fn);
        if (fn === undefined) throw new Error(`WGSL ${this.where}: no function '${e.fn}'`);
        if (fn.params.length !== e.args.length) throw new Error(`WGSL ${this.where}: ${e.fn} takes ${fn.params.length} argument(s), not ${e.args.length}`);
        return convert(`${ident(fn.name)}(${e.args.map((a, i) => this.as(a, fn.params[i]!.type)).join(', ')})`, codeType(fn.returns), codeType(e.type));
      }
    }
  }

  stmts(list: readonly Stmt[], indent: string, scoped = true): string[] {
    if (scoped) this.scopes.push(new Map());
    const out = list.flatMap((st) => this.stmt(st, indent));
    if (scoped) this.scopes.pop();
    return out;
  }

  private stmt(st: Stmt, ind: string): string[] {
    switch (st.k) {
      case 'let': {
        const init = this.as(st.init, st.type);
        const name = this.declare(st.name, st.type, st.mutable);
        return [`${ind}${st.mutable ? 'var' : 'let'} ${name}: ${codeType(st.type)} = ${init};`];
      }
      case 'set': {
        const n = this.lookup(st.name);
        if (!n.mutable) throw new Error(`WGSL ${this.where}: '${st.name}' is set but is not a var`);
        return [`${ind}${n.text} = ${this.as(st.value, n.type)};`];
      }
      case 'store': {
        const b = this.buffer(st.buf);
        const value = st.value.type === 'bool' ? `select(0i, 1i, ${this.as(st.value, 'bool')})` : convert(this.expr(st.value), codeType(st.value.type), storageType(b.elem));
        return [`${ind}${b.text}[${this.as(st.at, 'i32')}] = ${value};`];
      }
      case 'for': {
        const out: string[] = [];
        const from = this.as(st.from, 'i32');
        // the interpreter reads the bound once, before the loop: so does the printed loop (unless it cannot change)
        let to = this.as(st.to, 'i32');
        if (!(st.to.k === 'lit' || (st.to.k === 'ref' && !this.lookup(st.to.name).mutable))) {
          const end = `end_${this.hoisted++}`;
          out.push(`${ind}let ${end}: i32 = ${to};`);
          to = end;
        }
        this.scopes.push(new Map());
        const v = this.declare(st.v, 'i32', false);
        this.loops++;
        const body = this.stmts(st.body, ind + '  ');
        this.loops--;
        this.scopes.pop();
        out.push(`${ind}for (var ${v}: i32 = ${from}; ${v} < ${to}; ${v} += 1) {`, ...body, `${ind}}`);
        return out;
      }
      case 'if':
        return cIf(ind, this.as(st.cond, 'bool'), this.stmts(st.then, ind + '  '), this.stmts(st.else, ind + '  '));
      case 'continue':
        if (this.loops === 0) throw new Error(`WGSL ${this.where}: continue outside a loop`);
        return [`${ind}continue;`];
      case 'return':
        if (this.returns === undefined) return [`${ind}return;`]; // a pass's invocation ends
        if (st.value === null) throw new Error(`WGSL ${this.where}: a function returns a value`);
        return [`${ind}return ${this.as(st.value, this.returns)};`];
      case 'fail':
        return [`${ind}// not checked on a GPU (it cannot stop): ${st.message.replace(/\s+/g, ' ')}`];
      case 'comment':
        return st.text.split('\n').map((line) => `${ind}// ${line}`.trimEnd());
      case 'alloc':
      case 'copy':
      case 'fill':
        throw new Error(`WGSL ${this.where}: '${st.k}' is a CPU-only statement; a pass program declares scratch buffers instead`);
    }
  }
}

const docLines = (text: string | undefined, ind = ''): string[] => (text ? text.split('\n').map((l) => `${ind}// ${l}`.trimEnd()) : []);

/** Whether a statement list ends every path with a return (WGSL rejects a function that may fall off its end). */
function alwaysReturns(list: readonly Stmt[]): boolean {
  const last = list[list.length - 1];
  if (last === undefined) return false;
  if (last.k === 'return') return true;
  return last.k === 'if' && alwaysReturns(last.then) && alwaysReturns(last.else);
}

function zeroOf(t: ValueType): string {
  return t === 'i32' ? '0i' : t === 'bool' ? 'false' : '0.0f';
}

/** Prints `program` and the functions it calls as one WGSL module, with its layout. */
export function printWgsl(program: PassProgram, given: readonly Func[]): PrintedWgsl {
  // both schedules of a family call the same helpers: each is declared once
  const funcs = uniqueFuncs(given);
  const funcTable = new Map(funcs.map((f) => [f.name, f]));
  const members = program.scalars.map((sc, i) => ({ name: sc.name, type: sc.type, storage: storageType(sc.type), offset: 4 * i }));
  const uniformBinding = members.length > 0 ? 0 : null;
  const first = uniformBinding === null ? 0 : 1;
  const stored = new Set<string>();
  const collect = (list: readonly Stmt[]): void => {
    for (const st of list) {
      if (st.k === 'store') stored.add(st.buf);
      if (st.k === 'for') collect(st.body);
      if (st.k === 'if') (collect(st.then), collect(st.else));
    }
  };
  for (const p of program.passes) collect(p.body);
  const buffers = program.buffers.map((b, i) => ({
    name: b.name,
    elem: b.elem,
    storage: storageType(b.elem),
    role: b.role,
    size: b.size,
    binding: first + i,
    access: stored.has(b.name) ? ('read_write' as const) : ('read' as const),
  }));
  const bufferTable = new Map(buffers.map((b) => [b.name, { text: ident(b.name), elem: b.elem, binding: b.binding }]));
  const scalarTable = new Map(program.scalars.map((sc) => [sc.name, { text: `scalars.${ident(sc.name)}`, type: sc.type }]));

  const lines: string[] = [`// ${program.name}: printed from the kernel program (src/kernel/print-wgsl.ts)`, ...docLines(program.doc), ''];
  for (const fn of funcs) {
    const body = new Body(`function ${fn.name}`, new Map(), new Map(), null, funcTable, fn.returns);
    const params = fn.params.map((p) => `${body.declare(p.name, p.type, false)}: ${codeType(p.type)}`);
    lines.push(...docLines(fn.doc), `fn ${ident(fn.name)}(${params.join(', ')}) -> ${codeType(fn.returns)} {`, ...body.stmts(fn.body, '  ', false));
    if (!alwaysReturns(fn.body)) lines.push(`  return ${zeroOf(fn.returns)}; // not reached`);
    lines.push('}', '');
  }
  if (members.length > 0) {
    lines.push('struct Scalars {', ...members.map((m, i) => `  ${ident(m.name)}: ${m.storage},${program.scalars[i]!.doc ? ` // ${program.scalars[i]!.doc}` : ''}`), '}');
    lines.push(`@group(0) @binding(${uniformBinding}) var<uniform> scalars: Scalars;`, '');
  }
  for (const b of buffers) {
    const doc = program.buffers.find((x) => x.name === b.name)!.doc;
    lines.push(`@group(0) @binding(${b.binding}) var<storage, ${b.access}> ${ident(b.name)}: array<${b.storage}>; // ${b.role}${doc ? `: ${doc}` : ''}`);
  }
  lines.push('');

  const passes: Array<WgslLayout['passes'][number]> = [];
  const entryNames = new Set(funcs.map((f) => ident(f.name)));
  for (const pass of program.passes) {
    const entryPoint = ident(pass.name);
    if (entryNames.has(entryPoint)) throw new Error(`WGSL: pass '${pass.name}' has the name of a function or of another pass`);
    entryNames.add(entryPoint);
    if (pass.index.length !== pass.grid.length) throw new Error(`WGSL pass ${pass.name}: ${pass.index.length} index names for ${pass.grid.length} extents`);
    const body = new Body(`pass ${pass.name}`, bufferTable, scalarTable, uniformBinding, funcTable, undefined);
    const head: string[] = [];
    pass.grid.forEach((g, d) => head.push(`  let grid_${d}: u32 = u32(max(${body.as(g, 'i32')}, 0i));`));
    head.push(`  let linear: u32 = gid.x + gid.y * groups.x * ${WORKGROUP_SIZE}u;`);
    const total = pass.grid.length === 0 ? '1u' : pass.grid.map((_, d) => `grid_${d}`).join(' * ');
    head.push(`  if (linear >= ${total}) {`, '    return;', '  }');
    head.push('  let rest_0: u32 = linear;');
    pass.index.forEach((name, d) => {
      const last = d === pass.index.length - 1;
      head.push(`  let ${body.declare(name, 'i32', false)}: i32 = i32(${last ? `rest_${d}` : `rest_${d} % grid_${d}`});`);
      if (!last) head.push(`  let rest_${d + 1}: u32 = rest_${d} / grid_${d};`);
    });
    const code = body.stmts(pass.body, '  ', false);
    lines.push(...docLines(pass.doc), `@compute @workgroup_size(${WORKGROUP_SIZE})`);
    lines.push(`fn ${entryPoint}(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {`, ...head, ...code, '}', '');
    passes.push({ name: pass.name, entryPoint, grid: pass.grid, bindings: [...body.used].sort((a, b) => a - b) });
  }
  const layout: WgslLayout = {
    program: program.name,
    workgroupSize: WORKGROUP_SIZE,
    uniform: { binding: uniformBinding, size: Math.max(16, Math.ceil((4 * members.length) / 16) * 16), members },
    buffers,
    passes,
  };
  // the helpers the code calls, after the header
  if (lines.some((l) => l.includes(`${REAL_POW}(`))) lines.splice(lines.indexOf(''), 0, '', ...REAL_POW_FN.slice(0, -1));
  return { code: lines.join('\n'), layout, funcs };
}
