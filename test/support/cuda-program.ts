/**
 * Runs a pass program printed as CUDA (src/kernel/print-cuda.ts) without a GPU: g++ compiles the
 * header with the tests' CPU emulation of CUDA (test/cpp/cuda_shim.hpp; a launch runs its blocks'
 * threads one after another, which a pass program allows: its invocations never write the same
 * element), with a driver printed here from the program, which reads cases from stdin and writes
 * the output buffers as hex floats (exact). With nvcc and a GPU, the same driver runs on the device.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { Func, PassProgram } from '../../src/kernel/ir.js';
import { cudaName, cudaParamsName, printCudaModule } from '../../src/kernel/print-cuda.js';
import { buildCpp, ROOT } from './cpp.js';

/** One case: which program (its index), the scalars and the input buffers by name. */
export interface CudaCase {
  readonly program?: number;
  readonly scalars: Readonly<Record<string, number>>;
  readonly inputs: Readonly<Record<string, ArrayLike<number>>>;
}

const cType = (elem: string, real: string): string => (elem === 'real' ? real : elem === 'i32' || elem === 'rule' || elem === 'bool' ? 'int' : real);

/** One program's case in the driver: allocate every buffer at its size (scratch zero), read inputs, launch, print outputs. */
function runOne(program: PassProgram, real: string): string[] {
  const S = `kernel_program::${cudaParamsName(program)}<${real}, ${real}>`;
  const lines = [`    ${S} p{};`, ...program.scalars.map((sc) => `    p.${sc.name} = static_cast<${cType(sc.type, real)}>(readNumber());`), `    const auto sizes = kernel_program::${cudaName(program)}_sizes(p);`];
  for (const b of program.buffers) {
    const t = cType(b.elem, real);
    lines.push(`    std::vector<${t}> ${b.name}_v(static_cast<size_t>(sizes.${b.name}) + 1);`);
    if (b.role === 'input') lines.push(`    { const long long n = static_cast<long long>(readNumber()); if (n != sizes.${b.name}) { std::fprintf(stderr, "${b.name}: %lld elements, expected %lld\\n", n, sizes.${b.name}); return 4; } for (long long i = 0; i < n; i++) ${b.name}_v[i] = static_cast<${t}>(readNumber()); }`);
    lines.push(`    p.${b.name} = ${b.name}_v.data();`);
  }
  lines.push(`    kernel_program::${cudaName(program)}_launch(p);`, '    std::printf("{");');
  program.buffers
    .filter((b) => b.role === 'output')
    .forEach((b, i) => {
      lines.push(`    std::printf("${i === 0 ? '' : ','}\\"${b.name}\\":[");`, `    for (long long i = 0; i < sizes.${b.name}; i++) std::printf("%s\\"%a\\"", i == 0 ? "" : ",", static_cast<double>(${b.name}_v[i]));`, '    std::printf("]");');
    });
  lines.push('    std::printf("}\\n");');
  return lines;
}

/** The driver: reads the number of cases, then per case its program's index, scalars and inputs. */
function driver(programs: readonly PassProgram[], header: string, real: 'double' | 'float'): string {
  return [
    '#include <cstdio>',
    '#include <cstdlib>',
    '#include <vector>',
    `#include "${header}"`,
    'static double readNumber() { char s[64]; if (std::scanf("%63s", s) != 1) std::exit(3); return std::strtod(s, nullptr); }',
    'int main() {',
    '  const int cases = static_cast<int>(readNumber());',
    '  for (int c = 0; c < cases; c++) {',
    '    const int which = static_cast<int>(readNumber());',
    ...programs.flatMap((program, m) => [`    if (which == ${m}) {`, ...runOne(program, real).map((l) => `  ${l}`), '    }']),
    '  }',
    '  return 0;',
    '}',
  ].join('\n');
}

/** Compiles (cached by content) and runs the programs on the cases; each case's output buffers. */
export function runCudaProgramOnCpu(programs: PassProgram | readonly PassProgram[], funcs: readonly Func[], cases: readonly CudaCase[], real: 'double' | 'float' = 'double'): Array<Record<string, Float64Array>> {
  const list = Array.isArray(programs) ? (programs as readonly PassProgram[]) : [programs as PassProgram];
  const text = printCudaModule(list, funcs, '// test build');
  const key = createHash('sha256').update(text).update(real).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'ssim-grad-cuda-program', key);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'program.cuh'), text);
  writeFileSync(join(dir, 'main.cpp'), driver(list, 'program.cuh', real));
  const bin = buildCpp({ main: join(dir, 'main.cpp'), includes: [dir, join(ROOT, 'test/cpp')], torch: false, flags: ['-DKERNEL_PROGRAM_CPU_SHIM', '-include', join(ROOT, 'test/cpp/cuda_shim.hpp'), '-x', 'c++', '-Wno-unused-variable', '-Wno-unused-parameter'] });
  const input: string[] = [String(cases.length)];
  for (const c of cases) {
    const program = list[c.program ?? 0]!;
    input.push(String(c.program ?? 0));
    for (const sc of program.scalars) {
      const v = c.scalars[sc.name];
      if (v === undefined) throw new Error(`case: scalar '${sc.name}' is missing`);
      input.push(String(v));
    }
    for (const b of program.buffers.filter((x) => x.role === 'input')) {
      const v = c.inputs[b.name];
      if (v === undefined) throw new Error(`case: input '${b.name}' is missing`);
      input.push(String(v.length), ...Array.from(v, (x) => (Object.is(x, -0) ? '-0' : x.toString())));
    }
  }
  const r = spawnSync(bin, [], { input: input.join('\n'), encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`${bin} exited with ${r.status}: ${r.stderr.slice(0, 2000)}`);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => {
      const o = JSON.parse(l) as Record<string, string[]>;
      return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Float64Array.from(v, hexFloat)]));
    });
}

/** C's %a text as a number (exactly). */
export function hexFloat(s: string): number {
  const m = /^(-?)0x([01])\.?([0-9a-f]*)p([+-]\d+)$/i.exec(s);
  if (m === null) {
    if (s === 'nan' || s === '-nan') return NaN;
    if (s === 'inf') return Infinity;
    if (s === '-inf') return -Infinity;
    throw new Error(`not a hex float: ${s}`);
  }
  const [, sign, lead, frac, exp] = m;
  let mant = Number(lead);
  for (let i = 0; i < frac!.length; i++) mant += parseInt(frac![i]!, 16) / 16 ** (i + 1);
  const v = mant * 2 ** Number(exp);
  return sign === '-' ? -v : v;
}
