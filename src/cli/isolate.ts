/**
 * A command given `--variant-file FILE` runs in a child process, as a candidate module does
 * (src/check/candidate.ts): the user's declaration holds functions (its loss, validate, option
 * checks) that evaluation, derive and check call, so the whole command runs there
 * (src/cli/variant-child.ts). What keeps our promises:
 *
 * - the child's stdout and stderr are the user's prints: kept here (a short tail appears in an
 *   error), never passed on; our own output comes only over the channel (fd 3, src/cli/channel.ts),
 *   held until the child says it is done, so a child that dies midway prints nothing of ours;
 * - every call into the user's code is bracketed on the channel; one bracket longer than
 *   --timeout S (default 60) stops the child's process group (exit 2 naming the file and the call);
 * - a child that ends without 'done' (process.exit in the user's code, a crash, a signal) is exit
 *   2 naming the file, and its half-written output files (writeAtomic's `.NAME.PID.tmp`) are removed;
 * - SIGINT and SIGTERM are passed on to the child (its own cleanup runs), then raised here again.
 *
 * This file is what the CLI's entry loads before it knows more than the arguments, so it imports
 * nothing of the package beyond the error class: the start-up cost is node's and the child's.
 */
import { spawnSupervised, Tail, tailNote } from '../io/process-tree.js';
import { readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DECIMAL, InputError, oneLineText } from '../field/tensor.js';
import type { Frame } from './channel.js';

/** The flag, without dashes. */
export const VARIANT_FILE = 'variant-file';

/** The commands that take --variant-file (a test holds this to the commands' own options). */
export const VARIANT_FILE_COMMANDS: readonly string[] = ['value', 'grad', 'jvp', 'hvp', 'derive', 'check', 'trace'];

/** The default of --timeout, in seconds (the candidate's too). */
export const DEFAULT_TIMEOUT_S = 60;

/** The environment variable that hands the child its arguments (removed before the user's code runs). */
export const CHILD_ENV = 'SSIM_GRAD_VARIANT_CHILD';

/** What the parent hands the child. */
export interface ChildConfig {
  readonly argv: readonly string[];
  /** Our pid: the child stops when its parent is no longer this process. */
  readonly parent: number;
  /** Our stderr, for check's progress bar (drawn only on a terminal). */
  readonly stderr: { readonly isTTY: boolean; readonly columns: number };
}

/** How long a child that said 'done' may take to exit before its process group is killed. */
const DONE_GRACE_MS = 1000;

/** How long a signalled child may take to clean up before its process group is killed. */
const SIGNAL_GRACE_MS = 3000;

/** The raw value of an option (`--name V` or `--name=V`), the first one given. */
function rawValue(argv: readonly string[], name: string): string | undefined {
  const at = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (at < 0) return undefined;
  const a = argv[at]!;
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[at + 1] ?? '';
}

/** The value of --variant-file in raw arguments (`--variant-file F` or `--variant-file=F`), or undefined. */
export function findVariantFile(argv: readonly string[]): string | undefined {
  const v = rawValue(argv, VARIANT_FILE);
  if (v === '') throw new InputError(`--${VARIANT_FILE}: expected a value, the variant's module (.ts, .mts, .js, .mjs)`);
  return v;
}

/**
 * Runs the command in `argv` (its name first) in a child process when it is given --variant-file,
 * returning its exit code; undefined when it is not (the CLI then runs it here). Bad --variant-file
 * or --timeout values are exit 2 at once.
 */
export async function runIfVariantFile(argv: readonly string[], given: { out: (s: string) => void; err: (s: string) => void }): Promise<number | undefined> {
  const io = { out: given.out, err: (s: string) => given.err(oneLineText(s)) };
  const [name, ...rest] = argv;
  if (name === undefined || !VARIANT_FILE_COMMANDS.includes(name)) return undefined;
  let file: string | undefined;
  let timeoutS: number;
  try {
    file = findVariantFile(rest);
    timeoutS = timeoutFrom(rest);
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    io.err(`ssim-grad ${name}: ${e.message}`);
    return 2;
  }
  return file === undefined ? undefined : runIsolated(argv, file, timeoutS, io);
}

/** --timeout in seconds from raw arguments: a positive decimal number a timer can hold (2^31 - 1 ms). */
export function timeoutFrom(argv: readonly string[]): number {
  return timeoutSeconds(rawValue(argv, 'timeout'));
}

/** The value of --timeout (undefined: not given) in seconds: a positive decimal number a timer can hold (2^31 - 1 ms). */
export function timeoutSeconds(v: string | undefined): number {
  if (v === undefined) return DEFAULT_TIMEOUT_S;
  const n = Number(v);
  const expected = `a positive number of seconds (at most ${Math.floor((2 ** 31 - 1) / 1000)})`;
  if (!DECIMAL.test(v) || !(n > 0) || n * 1000 > 2 ** 31 - 1) throw new InputError(`--timeout: got '${v}', expected ${expected}`);
  return n;
}

/** A bracket's name as a message says it. */
function callName(what: string | null): string {
  if (what === null) return 'its code';
  if (what === 'import') return 'its import (the module\'s top-level code)';
  if (what === 'declaration') return 'reading its declaration';
  return `its ${what}`;
}

/** The child's entry: the compiled .js from dist, or from the TypeScript sources through tsx's loader (tests, scripts). */
function childCommand(): string[] {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = fileURLToPath(new URL(fromSource ? './variant-child.ts' : './variant-child.js', import.meta.url));
  return fromSource ? [fileURLToPath(new URL('./variant-child-tsx.mjs', import.meta.url)), entry] : [entry];
}

/** Removes the child's temporary output files: writeAtomic's `.NAME.PID.tmp` beside any argument that names a file. */
function removeTemporaries(argv: readonly string[], pid: number): void {
  for (const a of argv) {
    const path = a.startsWith('--') && a.includes('=') ? a.slice(a.indexOf('=') + 1) : a;
    if (path === '' || path.startsWith('--')) continue;
    const stem = `.${basename(path)}.${pid}`;
    let names: string[];
    try {
      names = readdirSync(dirname(path) || '.');
    } catch {
      continue;
    }
    for (const n of names) if (n.startsWith(stem) && n.endsWith('.tmp')) rmSync(join(dirname(path), n), { force: true });
  }
}

/**
 * Runs the CLI command in `argv` (its name first) in a child process for the variant file `file`,
 * passing our output to `out` and `err` as the command made it, and returns its exit code.
 */
export async function runIsolated(argv: readonly string[], file: string, timeoutS: number, io: { out: (s: string) => void; err: (s: string) => void }): Promise<number> {
  const name = argv[0]!;
  const where = `ssim-grad ${name}: --variant-file: '${file}'`;
  const config: ChildConfig = { argv, parent: process.pid, stderr: { isTTY: process.stderr.isTTY === true, columns: process.stderr.columns ?? 0 } };
  // its own session and process group, its tree registered for cleanup (src/io/process-tree.ts):
  // a timeout, an exit or a signal stops it and whatever it started, detached or not
  const supervised = spawnSupervised(process.execPath, childCommand(), {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    env: { ...process.env, [CHILD_ENV]: JSON.stringify(config) },
  });
  const child = supervised.child;
  const userOut = new Tail(4000);
  const userErr = new Tail(4000);
  child.stdout!.on('data', (c: Buffer) => userOut.add(c));
  child.stderr!.on('data', (c: Buffer) => userErr.add(c));
  const killGroup = (): void => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };

  const held: Array<Extract<Frame, { t: 'out' | 'err' }>> = [];
  let done: number | undefined;
  let exited: Extract<Frame, { t: 'exit' }> | undefined;
  let crashed: Extract<Frame, { t: 'crash' }> | undefined;
  let inCall: string | null = null;
  let timedOut: string | null | undefined;
  let callTimer: NodeJS.Timeout | undefined;
  let progressDrawn = false;
  let doneTimer: NodeJS.Timeout | undefined;
  const onFrame = (f: Frame): void => {
    switch (f.t) {
      case 'out':
      case 'err':
        held.push(f);
        break;
      case 'progress':
        process.stderr.write(f.s);
        progressDrawn = !f.s.endsWith('\x1b[K');
        break;
      case 'enter':
        inCall = f.what;
        clearTimeout(callTimer);
        callTimer = setTimeout(() => {
          timedOut = inCall;
          killGroup();
        }, timeoutS * 1000);
        break;
      case 'leave':
        inCall = null;
        clearTimeout(callTimer);
        break;
      case 'exit':
        exited = f;
        break;
      case 'crash':
        crashed = f;
        break;
      case 'done':
        done = f.code;
        // all it had to say is said: an exit handler of the user's that hangs must not hold us
        doneTimer = setTimeout(killGroup, DONE_GRACE_MS);
        break;
    }
  };
  // frames are JSON lines; a line that does not parse (the user's code writing to fd 3) is not ours
  let pending = '';
  const channel = child.stdio[3] as NodeJS.ReadableStream;
  channel.setEncoding('utf8');
  channel.on('data', (chunk: string) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      let f: Frame;
      try {
        f = JSON.parse(line) as Frame;
      } catch {
        continue;
      }
      if (done === undefined) onFrame(f);
    }
  });
  const channelEnd = new Promise<void>((r) => {
    channel.on('end', r);
    channel.on('close', r);
    channel.on('error', () => r());
  });

  // we are stopped: the child is told, cleans up, and we go the same way
  let signalled: NodeJS.Signals | undefined;
  let graceTimer: NodeJS.Timeout | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (signalled !== undefined) return;
    signalled = sig;
    try {
      if (child.pid !== undefined) process.kill(child.pid, sig);
    } catch {
      // already gone
    }
    graceTimer = setTimeout(killGroup, SIGNAL_GRACE_MS);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', killGroup);

  let startError: Error | undefined;
  const ended = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveEnd) => {
    child.on('error', (e) => {
      startError = e;
      resolveEnd({ code: null, signal: null });
    });
    child.on('exit', (code, signal) => resolveEnd({ code, signal }));
  });
  // what it started goes with it (its group, and descendants that left it); then the last frames (a grandchild holding fd 3 must not hold us)
  killGroup();
  supervised.stop();
  await Promise.race([channelEnd, new Promise((r) => setTimeout(r, 1000).unref())]);
  clearTimeout(callTimer);
  clearTimeout(graceTimer);
  clearTimeout(doneTimer);
  process.removeListener('SIGINT', onSignal);
  process.removeListener('SIGTERM', onSignal);
  process.removeListener('exit', killGroup);

  if (done !== undefined && signalled === undefined) {
    for (const f of held) (f.t === 'out' ? io.out : io.err)(f.s);
    return done;
  }
  if (child.pid !== undefined) removeTemporaries(argv.slice(1), child.pid);
  if (progressDrawn) process.stderr.write('\r\x1b[K');
  if (signalled !== undefined) {
    process.kill(process.pid, signalled);
    return 130;
  }
  const tail = tailNote(userOut.value, userErr.value);
  const fail = (what: string): number => {
    io.err(`${where}: ${what}${tail}`);
    return 2;
  };
  if (startError !== undefined) {
    io.err(`ssim-grad ${name}: internal error: cannot start the process a --variant-file runs in (${startError.message})`);
    return 3;
  }
  if (timedOut !== undefined) return fail(`${callName(timedOut)} ran past --timeout ${timeoutS} s and was stopped (nothing was written)`);
  if (exited !== undefined) return fail(`the variant called process.exit(${exited.code}) in ${callName(exited.what)}; a variant's code must return, not end the process (nothing was written)`);
  if (crashed !== undefined) return fail(`the variant's code crashed outside the calls ssim-grad made (${crashed.message}); nothing was written`);
  const how = ended.signal !== null ? `was killed by ${ended.signal}` : `ended with code ${ended.code}`;
  return fail(`the process the variant ran in ${how} before the command finished${inCall !== null ? `, in ${callName(inCall)}` : ''} (a crash, or process.exit in the variant's code); nothing was written`);
}
