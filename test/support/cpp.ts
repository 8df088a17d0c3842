/**
 * Compiling the C++ test programs against libtorch: the toolchain check (a clear message naming what
 * to install, never a silent skip) and a build cache keyed by a hash of every source the program
 * reads, so that each program compiles once however often the tests run. Torch headers make a
 * compile take 15-90 s and about 2 GB, so: -O2, no LTO, one compile at a time.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
/** The committed generated C++ (src/generated/cpp) and the hand-written headers it includes (src/cpp). */
export const GENERATED_CPP = join(ROOT, 'src', 'generated', 'cpp');
export const CPP_SOURCE = join(ROOT, 'src', 'cpp');

/** Where libtorch lives: $LIBTORCH (an unpacked libtorch archive) or Debian's libtorch-dev. */
function torchPaths(): { include: string[]; lib: string[] } {
  const root = process.env.LIBTORCH;
  if (root !== undefined && root !== '') {
    return { include: [join(root, 'include'), join(root, 'include/torch/csrc/api/include')], lib: [join(root, 'lib')] };
  }
  return { include: ['/usr/include/torch/csrc/api/include'], lib: [] };
}

/** Why the C++ tests cannot run here, or null when g++ and libtorch's headers are present. */
export function missingToolchain(): string | null {
  const gpp = spawnSync('g++', ['--version'], { encoding: 'utf8' });
  if (gpp.status !== 0) return "g++ is not on PATH: install it (Debian: apt-get install g++; .ci/run does)";
  const header = torchPaths().include.map((d) => join(d, 'torch', 'torch.h')).find((f) => existsSync(f));
  if (header === undefined) {
    return 'libtorch headers (torch/torch.h) not found: install Debian\'s libtorch-dev (apt-get install libtorch-dev; .ci/run does) or set LIBTORCH to an unpacked libtorch';
  }
  return null;
}

/** Every file under a folder, sorted (for the cache key). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((f) => {
      const p = join(dir, f);
      return statSync(p).isDirectory() ? filesUnder(p) : [p];
    });
}

export interface CppBuild {
  /** The program's own source. */
  readonly main: string;
  /** Folders it includes from (their every file joins the cache key). */
  readonly includes: readonly string[];
  /** Link libtorch. */
  readonly torch: boolean;
  /** More compiler flags, before the source (e.g. -x c++ to compile a .cu as C++). */
  readonly flags?: readonly string[];
}

/**
 * The binary for a program, compiled now unless an identical build is cached. Throws with the
 * compiler's message on failure.
 */
export function buildCpp(b: CppBuild): string {
  const missing = missingToolchain();
  if (missing !== null) throw new Error(missing);
  const tp = torchPaths();
  // the committed generated headers include the hand-written ones of src/cpp; an emitted folder
  // (`emit cpp --out`) has its own copies, so src/cpp joins only the committed folder
  const includes = b.includes.some((d) => resolve(d) === GENERATED_CPP) && !b.includes.some((d) => resolve(d) === CPP_SOURCE) ? [...b.includes, CPP_SOURCE] : b.includes;
  const flags = ['-std=c++17', '-O2', '-Wall', '-Wextra', ...includes.map((d) => `-I${d}`), ...(b.flags ?? [])];
  if (b.torch) flags.push(...tp.include.map((d) => `-isystem${d}`));
  const libs = b.torch ? [...tp.lib.map((d) => `-L${d}`), ...tp.lib.map((d) => `-Wl,-rpath,${d}`), '-ltorch', '-ltorch_cpu', '-lc10'] : [];
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ flags, libs }));
  // the main file's own folder too: the headers it includes by a relative path (test/cpp/npy.hpp)
  for (const f of [...new Set([b.main, ...filesUnder(dirname(b.main)), ...includes.flatMap(filesUnder)])]) hash.update(f).update(readFileSync(f));
  const key = hash.digest('hex').slice(0, 20);
  const dir = join(tmpdir(), 'ssim-grad-cpp');
  mkdirSync(dir, { recursive: true });
  const bin = join(dir, `${key}`);
  if (existsSync(bin)) return bin;
  const partial = `${bin}.${process.pid}.tmp`;
  const r = spawnSync('g++', [...flags, b.main, '-o', partial, ...libs], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`g++ failed on ${b.main}:\n${r.stderr.slice(0, 4000)}`);
  renameSync(partial, bin);
  return bin;
}

/** Runs a built program; its stdout's lines of JSON, parsed (anything else on stdout is an error). */
export function runJsonLines(bin: string, args: readonly string[] = [], cwd?: string): Array<Record<string, unknown>> {
  const r = spawnSync(bin, args, { encoding: 'utf8', cwd, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${bin} exited with ${r.status}: ${r.stderr.slice(0, 2000)}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
