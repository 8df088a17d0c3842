/**
 * The CUDA printer of the kernel program: a pass program as CUDA C++17, templated on the storage
 * type T and the arithmetic type Acc (float, float for a float32 kernel; double, double to compare
 * with the float64 reference). Per program it prints:
 *  - a parameter struct `<Name>Params<T, Acc>` of the scalars and the buffers' pointers;
 *  - `<name>_sizes(p)`: every buffer's element count (the host allocates inputs, outputs and scratch);
 *  - one `__global__` kernel per pass: one thread per point of the pass's grid (a 1-D launch of
 *    blocks of BLOCK threads, the grid index decomposed first index fastest), bounds-guarded;
 *  - `<name>_launch(p, stream)`: the passes in order on the stream.
 * The functions print as `__host__ __device__`. Types: 'real' -> T, 'acc' and 'f64' -> Acc (a GPU
 * keeps double for the float64 kernels only), 'i32' -> int, 'bool' -> bool, 'rule' -> int. It
 * knows nothing of what the passes compute; CPU-only statements (alloc, copy, fill) are refused.
 */
import type { BinaryOp, Expr, Func, PassProgram, Stmt, ValueType } from './ir.js';
import { uniqueFuncs } from './ir.js';
import { cComment, cIf, cReturn } from './print-c.js';

const PREC: Record<BinaryOp, number> = { '||': 1, '&&': 2, '==': 3, '!=': 3, '<': 4, '<=': 4, '>': 4, '>=': 4, '>>': 5, '+': 6, '-': 6, '*': 7, '/': 7, '%': 7 };
const UNARY = 8;
const ATOM = 9;
const TERNARY = 0;

/** Threads per block of every pass. */
export const CUDA_BLOCK = 256;

const isReal = (t: ValueType): boolean => t === 'real' || t === 'acc' || t === 'f64';

/** A C++ identifier's type for a value type. */
function typeName(t: ValueType): string {
  switch (t) {
    case 'real':
      return 'T';
    case 'acc':
    case 'f64':
      return 'Acc';
    case 'i32':
    case 'rule':
      return 'int';
    case 'bool':
      return 'bool';
  }
}

/** A double literal that reads back as the same double (and as its float rounding under float). */
function realLiteral(v: number): string {
  if (Number.isNaN(v)) return 'Acc(NAN)';
  if (!Number.isFinite(v)) return v > 0 ? 'Acc(INFINITY)' : 'Acc(-INFINITY)';
  if (Object.is(v, -0)) return 'Acc(-0.0)';
  const s = String(v);
  return `Acc(${/[.e]/.test(s) ? s : `${s}.0`})`;
}

const FNS: Record<string, string> = { sqrt: 'sqrt', exp: 'exp', log: 'log', abs: 'fabs', pow: 'pow', max: 'fmax', min: 'fmin' };

/** Expressions and statements in CUDA C++. */
class CudaPrinter {
  expr(e: Expr, min = 0): string {
    const { text, prec } = this.go(e);
    return prec < min ? `(${text})` : text;
  }

  /** e as a value of the arithmetic type (a 'real' sample converted to Acc). */
  private asAcc(e: Expr, min: number): string {
    return e.type === 'real' ? `Acc(${this.expr(e)})` : this.expr(e, min);
  }

  private go(e: Expr): { text: string; prec: number } {
    switch (e.k) {
      case 'lit':
        if (isReal(e.type)) return { text: realLiteral(e.value), prec: ATOM };
        if (e.type === 'bool') return { text: e.value !== 0 ? 'true' : 'false', prec: ATOM };
        return { text: String(e.value), prec: e.value < 0 ? UNARY : ATOM };
      case 'ref':
        return { text: e.name, prec: ATOM };
      case 'load':
        return { text: `${e.buf}[${this.expr(e.at)}]`, prec: ATOM };
      case 'neg':
        return { text: `-${this.expr(e.a, UNARY + 1)}`, prec: UNARY };
      case 'not':
        return { text: `!${this.expr(e.a, UNARY + 1)}`, prec: UNARY };
      case 'cast':
        return { text: `${typeName(e.type)}(${this.expr(e.a)})`, prec: ATOM };
      case 'select':
        return { text: `${this.expr(e.cond, TERNARY + 1)} ? ${this.operand(e.then, e.type, TERNARY + 1)} : ${this.operand(e.else, e.type, TERNARY)}`, prec: TERNARY };
      case 'bin': {
        const p = PREC[e.op];
        const real = isReal(e.type) || (isReal(e.a.type) && isReal(e.b.type));
        const a = real ? this.asAcc(e.a, p) : this.expr(e.a, p);
        const b = real ? this.asAcc(e.b, p + 1) : this.expr(e.b, p + 1);
        return { text: `${a} ${e.op} ${b}`, prec: p };
      }
      case 'call': {
        const real = isReal(e.type);
        if (e.fn === 'sign') {
          const a = this.asAcc(e.args[0]!, 0);
          return { text: `Acc((${a} > Acc(0)) - (${a} < Acc(0)))`, prec: ATOM };
        }
        const fn = real ? (FNS[e.fn] ?? e.fn) : e.fn === 'abs' ? 'abs' : e.fn;
        const args = e.args.map((x) => (real ? this.asAcc(x, 0) : this.expr(x))).join(', ');
        return { text: `${fn}(${args})`, prec: ATOM };
      }
      case 'length':
      case 'present':
        throw new Error(`print-cuda: '${e.k}' reads a serial kernel's parameters; a pass reads the program's buffers`);
    }
  }

  /** A branch of a choice, in the choice's type. */
  private operand(e: Expr, type: ValueType, min: number): string {
    return isReal(type) ? this.asAcc(e, min) : this.expr(e, min);
  }

  stmts(list: readonly Stmt[], depth: number, elems: ReadonlyMap<string, ValueType>): string[] {
    return list.flatMap((st) => this.stmt(st, depth, elems));
  }

  private stmt(st: Stmt, depth: number, elems: ReadonlyMap<string, ValueType>): string[] {
    const pad = '  '.repeat(depth);
    switch (st.k) {
      case 'let':
        return [`${pad}${st.mutable ? '' : 'const '}${typeName(st.type)} ${st.name} = ${this.operand(st.init, st.type, 0)};`];
      case 'set':
        return [`${pad}${st.name} = ${this.expr(st.value)};`];
      case 'store': {
        const elem = elems.get(st.buf);
        if (elem === undefined) throw new Error(`print-cuda: store to '${st.buf}', which is not a buffer of the program`);
        return [`${pad}${st.buf}[${this.expr(st.at)}] = ${typeName(elem)}(${this.expr(st.value)});`];
      }
      case 'for': {
        const step = st.step === undefined ? `++${st.v}` : `${st.v} += ${this.expr(st.step)}`;
        return [`${pad}for (int ${st.v} = ${this.expr(st.from)}; ${st.v} < ${this.expr(st.to, PREC['<'] + 1)}; ${step}) {`, ...this.stmts(st.body, depth + 1, elems), `${pad}}`];
      }
      case 'if':
        return cIf(pad, this.expr(st.cond), this.stmts(st.then, depth + 1, elems), this.stmts(st.else, depth + 1, elems));
      case 'continue':
        return [`${pad}continue;`];
      case 'return':
        return [cReturn(pad, st.value === null ? null : this.expr(st.value))];
      case 'fail':
        return [`${pad}// precondition (checked by the host): ${st.message}`];
      case 'comment':
        return cComment(pad, st.text);
      case 'alloc':
      case 'copy':
      case 'fill':
        throw new Error(`print-cuda: '${st.k}' is a serial kernel's statement; a pass writes the program's buffers`);
    }
  }
}

/** Whether a function reads or returns reals (then it is templated on Acc, and called with it). */
const realFunc = (fn: Func): boolean => isReal(fn.returns) || fn.params.some((q) => isReal(q.type));

/** A function of the program, for host and device. */
function printFunc(p: CudaPrinter, fn: Func): string {
  const params = fn.params.map((q) => `${typeName(q.type)} ${q.name}`).join(', ');
  const doc = fn.doc === undefined ? [] : [`// ${fn.doc}`];
  const template = realFunc(fn) ? ['template <typename Acc>'] : [];
  return [...doc, ...template, `__host__ __device__ inline ${typeName(fn.returns)} ${fn.name}(${params}) {`, ...p.stmts(fn.body, 1, new Map()), '}'].join('\n');
}

/** Calls of the program's real functions get the template argument. */
function withAcc(text: string, funcs: readonly Func[]): string {
  let out = text;
  for (const fn of funcs.filter(realFunc)) out = out.replace(new RegExp(`\\b${fn.name}\\(`, 'g'), `${fn.name}<Acc>(`);
  return out;
}

const camel = (name: string): string => name.replace(/(^|[_-])(\w)/g, (_, __, c: string) => c.toUpperCase());

/**
 * Pass programs and the functions they call as one CUDA header: per program the parameter struct,
 * the sizes, a kernel per pass and the launcher; each function once (by name). `header` opens the
 * file (the caller names the command that wrote it).
 */
export function printCudaModule(programs: readonly PassProgram[], funcs: readonly Func[], header = ''): string {
  const p = new CudaPrinter();
  const unique = uniqueFuncs(funcs);
  const lines: string[] = [
    header,
    '#pragma once',
    '#include <cmath>',
    '#include <cstddef>',
    '#ifndef KERNEL_PROGRAM_CPU_SHIM',
    '#include <cuda_runtime.h>',
    '#elif !defined(__host__)',
    '#define __host__',
    '#endif',
    "// how a pass is launched: CUDA's <<<>>>, unless a CPU emulation (the tests) says otherwise",
    '#if !defined(KERNEL_PROGRAM_LAUNCH) && defined(KERNEL_PROGRAM_CPU_SHIM)',
    '// the CPU emulation: a pass\'s threads one after another (no pass reads what another thread of it writes)',
    '#define KERNEL_PROGRAM_LAUNCH(kernel, blocks, threads, stream, arg) for (unsigned b_ = 0; b_ < (blocks); b_++) for (unsigned t_ = 0; t_ < (threads); t_++) { blockIdx = dim3(b_); threadIdx = dim3(t_); kernel(arg); }',
    '#elif !defined(KERNEL_PROGRAM_LAUNCH)',
    '#define KERNEL_PROGRAM_LAUNCH(kernel, blocks, threads, stream, arg) kernel<<<blocks, threads, 0, stream>>>(arg)',
    '#endif',
    '',
    'namespace kernel_program {',
    '',
    ...unique.map((fn) => withAcc(printFunc(p, fn), unique) + '\n'),
  ];
  for (const program of programs) lines.push(...printProgram(p, program, unique));
  lines.push('}  // namespace kernel_program', '');
  return lines.join('\n');
}

/** One pass program and its functions as one CUDA header. */
export function printCudaProgram(program: PassProgram, funcs: readonly Func[], header = ''): string {
  return printCudaModule([program], funcs, header);
}

/** The struct name of a program's parameters. */
export const cudaParamsName = (program: PassProgram): string => `${camel(cudaName(program))}Params`;

/** A program's name as a C identifier (the prefix of its kernels, sizes and launcher). */
export const cudaName = (program: PassProgram): string => program.name.replace(/[^A-Za-z0-9_]/g, '_');

function printProgram(p: CudaPrinter, program: PassProgram, funcs: readonly Func[]): string[] {
  const name = cudaName(program);
  const Struct = cudaParamsName(program);
  const elems = new Map(program.buffers.map((b) => [b.name, b.elem] as const));
  const bufferType = (b: PassProgram['buffers'][number]): string => `${b.role === 'input' ? 'const ' : ''}${typeName(b.elem)}*`;
  const bind = [
    ...program.scalars.map((sc) => `  const ${typeName(sc.type)} ${sc.name} = params_.${sc.name};`),
    ...program.buffers.map((b) => `  ${bufferType(b)} __restrict__ ${b.name} = params_.${b.name};`),
  ];
  const scalarsOnly = program.scalars.map((sc) => `  const ${typeName(sc.type)} ${sc.name} = params_.${sc.name};`);
  const unused = program.scalars.map((sc) => `  (void)${sc.name};`);
  const lines: string[] = [
    `// ${program.doc.split('\n').join('\n// ')}`,
    'template <typename T, typename Acc>',
    `struct ${Struct} {`,
    ...program.scalars.map((sc) => `  ${typeName(sc.type)} ${sc.name};${sc.doc === undefined ? '' : ` // ${sc.doc}`}`),
    ...program.buffers.map((b) => `  ${bufferType(b)} ${b.name};${b.doc === undefined ? ` // ${b.role}` : ` // ${b.role}: ${b.doc}`}`),
    '};',
    '',
    `// Element counts of the buffers of ${name}, from the scalars (the host allocates them, scratch zero-filled).`,
    `struct ${Struct}Sizes {`,
    ...program.buffers.map((b) => `  long long ${b.name};`),
    '};',
    '',
    'template <typename T, typename Acc>',
    `inline ${Struct}Sizes ${name}_sizes(const ${Struct}<T, Acc>& params_) {`,
    ...scalarsOnly,
    ...unused,
    `  return {${program.buffers.map((b) => `static_cast<long long>(${withAcc(p.expr(b.size), funcs)})`).join(', ')}};`,
    '}',
    '',
  ];
  for (const pass of program.passes) {
    const dims = pass.grid.map((g, d) => `  const long long e${d} = ${withAcc(p.expr(g), funcs)};`);
    const total = pass.grid.map((_, d) => `e${d}`).join(' * ') || '1';
    lines.push(
      `// ${pass.doc.split('\n').join('\n// ')}`,
      'template <typename T, typename Acc>',
      `__global__ void ${name}_${pass.name}(const ${Struct}<T, Acc> params_) {`,
      ...bind,
      ...dims,
      `  const long long t = static_cast<long long>(blockIdx.x) * ${CUDA_BLOCK} + threadIdx.x;`,
      `  if (t >= ${total}) return;`,
      ...pass.index.map((v, d) => {
        const below = pass.index.slice(0, d).map((_, e) => `e${e}`);
        const q = below.length === 0 ? 't' : `(t / (${below.join(' * ')}))`;
        return `  const int ${v} = static_cast<int>(${d === pass.index.length - 1 ? q : `${q} % e${d}`});`;
      }),
      ...p.stmts(pass.body, 1, elems).map((l) => withAcc(l, funcs)),
      '}',
      '',
    );
  }
  lines.push(
    `// The passes of ${name} in order on a stream: ${program.passes.map((x) => x.name).join(', ')}.`,
    'template <typename T, typename Acc>',
    `inline cudaError_t ${name}_launch(const ${Struct}<T, Acc>& params_, cudaStream_t stream = 0) {`,
    ...scalarsOnly,
    ...unused,
  );
  for (const pass of program.passes) {
    const total = pass.grid.map((g) => `static_cast<long long>(${withAcc(p.expr(g), funcs)})`).join(' * ') || '1';
    lines.push(
      '  {',
      `    const long long total = ${total};`,
      `    void (*kernel)(const ${Struct}<T, Acc>) = ${name}_${pass.name}<T, Acc>;`,
      `    if (total > 0) KERNEL_PROGRAM_LAUNCH(kernel, static_cast<unsigned>((total + ${CUDA_BLOCK - 1}) / ${CUDA_BLOCK}), ${CUDA_BLOCK}u, stream, params_);`,
      '  }',
    );
  }
  lines.push('  return cudaGetLastError();', '}', '');
  return lines;
}
