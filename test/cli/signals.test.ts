/**
 * Nothing left behind (issue 17): SIGINT, SIGTERM or SIGHUP during `check` removes the
 * candidate's temporary folder, stops the candidate and everything it started, and exits with
 * 130, 143 or 129; an atomic write's temporary file goes too; a process the candidate starts in a
 * session of its own (spawn's detached) is stopped when the check ends, whatever the ending.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCandidate } from '../../src/check/candidate.js';
import { formatNpy, writeAtomic } from '../../src/io/index.js';
import { pendingCleanups } from '../../src/io/cleanup.js';

const ROOT = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'ssim-grad-signals-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

/** A fresh folder for one run's TMPDIR, so that concurrent runs never see each other's folders. */
const freshTmp = (name: string): string => {
  const p = join(dir, name);
  mkdirSync(p);
  return p;
};

/** Alive and not a zombie (a killed process whose parent is gone may linger as Z until reaped). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const sleepSync = (ms: number): void => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Waits (polling) until `test` holds; SIGKILL is delivered at once but a process takes a moment to die. */
async function until(test: () => boolean, what: string, ms = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!test()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const gone = (pid: number): Promise<void> => until(() => !alive(pid), `pid ${pid} to end`, 5000).catch(() => undefined);

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

/** Runs the CLI from source with TMPDIR set, as a user's shell would (tsx, its own process). */
function startCli(args: readonly string[], tmp: string): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/support/run-cli.ts'), ...args], { cwd: ROOT, env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A float64 .npy of shape [3, n, n] with values in [0, 1]. */
function image(name: string, n: number, seed: number): string {
  let s = seed;
  const data = Float64Array.from({ length: 3 * n * n }, () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648));
  const p = join(dir, name);
  writeFileSync(p, formatNpy({ shape: [3, n, n], data }));
  return p;
}

let X = '';
let Y = '';
beforeAll(() => {
  // moderately sized: the candidate's folder holds 2 x 1.5 MB
  X = image('x.npy', 256, 1);
  Y = image('y.npy', 256, 2);
});

/**
 * A candidate that starts a process in a session of its own (detached, unref'd: it does not keep
 * the candidate alive), writes both pids, `marker` last, and then does `then`.
 */
function startsDetached(name: string, then: string, spawnOptions = "{ detached: true, stdio: 'ignore' }"): { path: string; pids: string } {
  const pids = join(dir, `${name}.pids.json`);
  const path = file(
    `${name}.mjs`,
    `import { spawn } from 'node:child_process';
     import { readFileSync, writeFileSync } from 'node:fs';
     export async function gradient(x) {
       const d = spawn('sleep', ['300'], ${spawnOptions});
       d.unref();
       const comm = readFileSync('/proc/' + d.pid + '/comm', 'utf8').trim();
       writeFileSync(${JSON.stringify(pids)}, JSON.stringify({ self: process.pid, detached: d.pid, comm }));
       ${then}
     }`,
  );
  return { path, pids };
}

/** The pids a candidate wrote; the detached one was running `sleep` then (so that "gone" is not vacuous). */
function readPids(p: string): { self: number; detached: number } {
  const r = JSON.parse(readFileSync(p, 'utf8')) as { self: number; detached: number; comm: string };
  expect(r.comm).toBe('sleep');
  return r;
}

describe('a signal during check: cleaned up, then exit 128 + n', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const)('%s while the candidate runs: exit %i, no ssim-grad-candidate-* left, the candidate and its detached process gone', async (sig, code) => {
    const tmp = freshTmp(`tmp-${sig}`);
    const { path, pids } = startsDetached(`slow-${sig}`, 'await new Promise((r) => setTimeout(r, 120_000));');
    const cli = startCli(['check', path, X, Y, '--json'], tmp);
    const result = exited(cli);
    // the marker (the pids file) is written once the candidate runs: its folder exists then
    await until(() => existsSync(pids), 'the candidate to start');
    expect(readdirSync(tmp).filter((n) => n.startsWith('ssim-grad-candidate-'))).toHaveLength(1);
    const { self, detached } = readPids(pids);
    expect(alive(detached)).toBe(true);
    cli.kill(sig);
    const r = await result;
    await Promise.all([gone(self), gone(detached)]);
    expect({ code: r.code, signal: r.signal, stdout: r.stdout }).toEqual({ code, signal: null, stdout: '' });
    expect(readdirSync(tmp).filter((n) => n.startsWith('ssim-grad-'))).toEqual([]);
    expect(alive(self)).toBe(false);
    expect(alive(detached)).toBe(false);
  }, 60_000);
});

describe('after the candidate: nothing registered, the signal acts at once', () => {
  it('SIGINT during the long synchronous computation that follows a candidate\'s run ends the process at once (default action, not after the computation)', async () => {
    const quick = file('quick.mjs', 'export function gradient(x) { return { shape: x.shape, data: new Float64Array(x.data.length) }; }');
    const marker = join(dir, 'computing');
    const script = file(
      'after.mts',
      `import { writeFileSync } from 'node:fs';
       import { loadCandidate } from ${JSON.stringify(join(ROOT, 'src/check/candidate.js'))};
       const x = { shape: [2, 3], data: new Float64Array(6) };
       await loadCandidate(${JSON.stringify(quick)}, x, x, {});
       writeFileSync(${JSON.stringify(marker)}, 'now');
       // the checker's own work: synchronous, long
       for (const t0 = Date.now(); Date.now() - t0 < 30_000; );
       process.exitCode = 0;`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    const result = exited(child);
    await until(() => existsSync(marker), 'the computation to start');
    const t0 = Date.now();
    child.kill('SIGINT');
    const r = await result;
    expect(r.signal).toBe('SIGINT');
    expect(Date.now() - t0).toBeLessThan(10_000);
  }, 60_000);
});

describe('the CLI killed beyond cleanup (SIGKILL)', () => {
  it.each([
    ['looping without end (its watchdog thread acts)', 'for (;;) {}'],
    ['waiting (it sees the channel close)', 'await new Promise((r) => setTimeout(r, 120_000));'],
  ])('a candidate %s and its detached process are stopped; its folder is left (nothing in us ran)', async (what, then) => {
    const tmp = freshTmp(`tmp-SIGKILL-${what.length}`);
    const { path, pids } = startsDetached(`SIGKILL-${what.length}`, then);
    const cli = startCli(['check', path, X, Y], tmp);
    const result = exited(cli);
    await until(() => existsSync(pids), 'the candidate to start');
    const { self, detached } = readPids(pids);
    cli.kill('SIGKILL');
    expect((await result).signal).toBe('SIGKILL');
    await Promise.all([gone(self), gone(detached)]);
    expect(alive(self)).toBe(false);
    expect(alive(detached)).toBe(false);
  }, 60_000);
});

describe('an atomic write interrupted: no temporary file', () => {
  it('SIGTERM while writeAtomic writes a large file: exit 143, no .NAME.PID.tmp beside it, the target whole or absent', async () => {
    const out = freshTmp('atomic');
    const target = join(out, 'G.npy');
    const bytes = 64 * 2 ** 20;
    const script = file(
      'write.ts',
      `import { writeAtomic } from ${JSON.stringify(join(ROOT, 'src/io/index.js'))};
       writeAtomic(${JSON.stringify(target)}, new Uint8Array(${bytes}).fill(7));`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    const result = exited(child);
    const tmpName = (): string | undefined => readdirSync(out).find((n) => n.endsWith('.tmp'));
    // mid-write: the temporary file exists (polled tightly, the write takes a fraction of a second)
    const t0 = Date.now();
    while (tmpName() === undefined && Date.now() - t0 < 30_000 && child.exitCode === null) sleepSync(1);
    expect(tmpName()).toMatch(/^\.G\.npy\.\d+\.tmp$/);
    child.kill('SIGTERM');
    const r = await result;
    expect(r.code).toBe(143);
    expect(readdirSync(out).filter((n) => n !== 'G.npy')).toEqual([]);
    if (existsSync(target)) expect(statSync(target).size).toBe(bytes);
  }, 60_000);

  it('a write that fails (the target is a folder) leaves no temporary file and nothing registered', () => {
    const out = freshTmp('atomic-fail');
    mkdirSync(join(out, 'G.npy'));
    expect(() => writeAtomic(join(out, 'G.npy'), 'text')).toThrow(/G\.npy: cannot write \(EISDIR|G\.npy: cannot write/);
    expect(readdirSync(out)).toEqual(['G.npy']);
    expect(pendingCleanups()).toBe(0);
    writeAtomic(join(out, 'ok.txt'), 'text');
    expect(readdirSync(out).sort()).toEqual(['G.npy', 'ok.txt']);
    expect(pendingCleanups()).toBe(0);
  });
});

describe('the cleanup registry in a process of its own', () => {
  const registers = (name: string, then: string): { script: string; temp: string } => {
    const temp = join(dir, `${name}.temp`);
    const script = file(
      `${name}.ts`,
      `import { writeFileSync } from 'node:fs';
       import { removeOnCleanup } from ${JSON.stringify(join(ROOT, 'src/io/cleanup.js'))};
       writeFileSync(${JSON.stringify(temp)}, 'x');
       removeOnCleanup(${JSON.stringify(temp)});
       ${then}`,
    );
    return { script, temp };
  };

  it.each([
    ['process.exit(5)', 'process.exit(5);', 5],
    ['an uncaught throw', "throw new Error('boom');", 1],
    ['the end of the program (nothing disposed)', '', 0],
  ])('%s: the registered file is removed, the exit code kept', async (_, then, code) => {
    const { script, temp } = registers(`reg-${code}`, then);
    const r = await exited(spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] }));
    expect(r.code).toBe(code);
    expect(existsSync(temp)).toBe(false);
  }, 30_000);

  it('a program that listens for SIGINT itself keeps its say: the file is removed, the program goes on', async () => {
    const { script, temp } = registers(
      'reg-own',
      `process.on('SIGINT', () => { console.log('mine'); setTimeout(() => process.exit(7), 50); });
       console.log('ready');
       setInterval(() => {}, 1000);`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    const result = exited(child);
    let ready = false;
    child.stdout!.on('data', (c: Buffer) => (ready ||= c.toString().includes('ready')));
    await until(() => ready, 'the program to start');
    child.kill('SIGINT');
    const r = await result;
    expect(r.code).toBe(7);
    expect(r.stdout).toMatch(/mine/);
    expect(existsSync(temp)).toBe(false);
  }, 30_000);
});

describe('a process the candidate starts in a session of its own is stopped when the check ends', () => {
  const x = { shape: [2, 3, 4], data: Float64Array.from({ length: 24 }, (_, i) => Math.sin(i) / 3) };
  const ZERO = 'return { shape: x.shape, data: new Float64Array(x.data.length) };';
  let tmp = '';
  let saved: string | undefined;
  beforeAll(() => {
    tmp = freshTmp('tmp-library');
    saved = process.env['TMPDIR'];
    process.env['TMPDIR'] = tmp;
  });
  afterAll(() => {
    if (saved === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = saved;
  });

  it.each([
    ['a normal return', ZERO, /^$/, "{ detached: true, stdio: 'ignore' }"],
    ['a normal return, the detached process started with an empty environment', ZERO, /^$/, "{ detached: true, stdio: 'ignore', env: {} }"],
    ['a throw', "throw new Error('boom');", /gradient\(\) threw: boom/, "{ detached: true, stdio: 'ignore' }"],
    ['a crash', "process.kill(process.pid, 'SIGKILL');", /killed by SIGKILL before returning/, "{ detached: true, stdio: 'ignore' }"],
    ['a timeout', 'for (;;) {}', /--timeout 1 s exceeded/, "{ detached: true, stdio: 'ignore' }"],
  ])('after %s: the detached process is gone, the folder removed', async (what, then, message, options) => {
    const { path, pids } = startsDetached(`ends-${what.replace(/\W+/g, '-')}`, then, options);
    let error = '';
    try {
      await loadCandidate(path, x, x, {}, { timeoutS: 1 });
    } catch (e) {
      error = (e as Error).message;
    }
    expect(error).toMatch(message);
    const { self, detached } = readPids(pids);
    await Promise.all([gone(self), gone(detached)]);
    expect(alive(detached)).toBe(false);
    expect(alive(self)).toBe(false);
    expect(readdirSync(tmp).filter((n) => n.startsWith('ssim-grad-'))).toEqual([]);
    expect(pendingCleanups()).toBe(0);
  }, 30_000);

  it('a daemon (double fork: its parent exits at once, it is reparented) is stopped after a normal return', async () => {
    const pidFile = join(dir, 'daemon.pid');
    const path = file(
      'daemon.mjs',
      `import { spawnSync } from 'node:child_process';
       import { readFileSync, writeFileSync } from 'node:fs';
       export function gradient(x) {
         // setsid -f forks: the forked child makes a session, writes its pid and becomes sleep; the forking parent exits at once
         const f = ${JSON.stringify(pidFile)};
         spawnSync('setsid', ['-f', 'sh', '-c', 'echo $$ > ' + f + '.tmp && mv ' + f + '.tmp ' + f + ' && exec sleep 300'], { stdio: 'ignore' });
         let pid = '', comm = '';
         for (const t0 = Date.now(); comm !== 'sleep' && Date.now() - t0 < 10000; ) {
           try { pid = readFileSync(f, 'utf8').trim(); comm = readFileSync('/proc/' + pid + '/comm', 'utf8').trim(); } catch {}
         }
         writeFileSync(f + '.json', JSON.stringify({ pid: Number(pid), comm }));
         ${ZERO}
       }`,
    );
    await loadCandidate(path, x, x, {});
    const { pid: daemon, comm } = JSON.parse(readFileSync(`${pidFile}.json`, 'utf8')) as { pid: number; comm: string };
    expect(comm).toBe('sleep');
    await gone(daemon);
    expect(alive(daemon)).toBe(false);
  }, 30_000);
});
