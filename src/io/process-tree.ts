/**
 * Everything a child process started, found and stopped. A process that asks for its own session
 * (spawn's `detached: true`, a daemon's setsid) leaves the child's process group, so killing the
 * group is not enough. On Linux a tree is every live process that
 *   - is the child, or shares its process group or session;
 *   - carries the child's environment marker (inherited by every descendant that keeps the
 *     environment, even after its parent is gone and it was reparented to init);
 *   - descends from one of those (read from /proc/PID/stat, so a child that cleared its
 *     environment is found while its parent lives);
 *   - was seen as a descendant by an earlier `observe` (its pid and start time, so a reused pid is
 *     never hit).
 * Elsewhere (no /proc) only the process group is killed. spawnSupervised starts a child this way
 * and registers its tree with the cleanup registry (cleanup.ts). A parent killed beyond its own
 * cleanup (SIGKILL) cannot stop the tree: the candidate's child does it itself then (its watchdog).
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { onCleanup } from './cleanup.js';

/** The environment variable that marks a child's descendants (its value is one run's token). */
export const TREE_MARKER_ENV = 'SSIM_GRAD_PROCESS_TREE';

interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  readonly pgrp: number;
  readonly session: number;
  /** Start time since boot, in clock ticks: with the pid, it names one process for good. */
  readonly start: string;
  readonly dead: boolean;
}

/** A stat line is a few hundred bytes (the command name at most 64). */
const STAT_BUFFER = Buffer.alloc(4096);

const HAS_PROC = ((): boolean => {
  try {
    readFileSync('/proc/self/stat');
    return true;
  } catch {
    return false;
  }
})();

/** Parses /proc/PID/stat; the command name (field 2) may hold spaces and parentheses, so fields are read after its last ')'. */
function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    // one open and one read into a kept buffer: half the cost of readFileSync, for a scan of every process
    const fd = openSync(`/proc/${pid}/stat`, 'r');
    try {
      text = STAT_BUFFER.toString('latin1', 0, readSync(fd, STAT_BUFFER, 0, STAT_BUFFER.length, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // after the name: state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime priority nice num_threads itrealvalue starttime
  const state = f[0] ?? 'X';
  return { pid, ppid: Number(f[1]), pgrp: Number(f[2]), session: Number(f[3]), start: f[19] ?? '', dead: state === 'Z' || state === 'X' };
}

function allStats(): ProcStat[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const out: ProcStat[] = [];
  for (const n of names) {
    if (n.charCodeAt(0) < 48 || n.charCodeAt(0) > 57) continue;
    const s = readStat(Number(n));
    if (s !== undefined) out.push(s);
  }
  return out;
}

function carries(pid: number, needle: Buffer): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`).includes(needle);
  } catch {
    // gone, or not ours to read
    return false;
  }
}

/** Our own process and its ancestors: never part of a child's tree, whatever it claims. */
function ourLine(): Set<number> {
  const line = new Set<number>([process.pid]);
  for (let p = process.ppid; p > 1 && !line.has(p); ) {
    line.add(p);
    p = HAS_PROC ? readStat(p)?.ppid ?? 0 : 0;
  }
  return line;
}

/** A fresh environment marker for a child: `env` to spawn it with, `marker` for its ProcessTree. */
export function markedEnv(base: NodeJS.ProcessEnv = process.env): { env: NodeJS.ProcessEnv; marker: string } {
  const marker = `${process.pid}.${randomBytes(12).toString('hex')}`;
  return { env: { ...base, [TREE_MARKER_ENV]: marker }, marker };
}

/** The processes a child started (see the module comment), to observe while it runs and to kill when it is done. */
export class ProcessTree {
  private readonly needle: Buffer;
  /** pid -> start time of every descendant seen so far. */
  private readonly seen = new Map<number, string>();
  private readonly rootStart: string | undefined;

  /** `root`: the child's pid (spawned in its own session, `detached: true`); `marker`: from markedEnv, in its environment. */
  constructor(
    readonly root: number,
    marker: string,
  ) {
    this.needle = Buffer.from(`${TREE_MARKER_ENV}=${marker}\0`);
    this.rootStart = HAS_PROC ? readStat(root)?.start : undefined;
    if (this.rootStart !== undefined) this.seen.set(root, this.rootStart);
  }

  /** The live members now (see the module comment). */
  private members(withEnviron: boolean): ProcStat[] {
    const stats = allStats();
    const ours = ourLine();
    const byPid = new Map(stats.map((s) => [s.pid, s]));
    const member = new Set<number>();
    // the child's group and session ids are its pid; should that pid be another process's now, they are not ours to follow
    const root = byPid.get(this.root);
    const group = root === undefined || root.start === this.rootStart ? this.root : NaN;
    for (const s of stats) {
      if (ours.has(s.pid)) continue;
      if (this.seen.get(s.pid) === s.start || s.pgrp === group || s.session === group || (withEnviron && !s.dead && carries(s.pid, this.needle))) member.add(s.pid);
    }
    // descendants of members, to a fixed point (a parent may be listed after its child)
    for (let grew = true; grew; ) {
      grew = false;
      for (const s of stats) {
        if (!member.has(s.pid) && !ours.has(s.pid) && member.has(s.ppid)) {
          member.add(s.pid);
          grew = true;
        }
      }
    }
    return [...member].map((p) => byPid.get(p)!).filter((s) => !s.dead);
  }

  /** Records the descendants alive now, so that they are found after their parent is gone. */
  observe(): void {
    if (!HAS_PROC) return;
    for (const s of this.members(false)) this.seen.set(s.pid, s.start);
  }

  /**
   * SIGKILLs the whole tree, synchronously (it runs on exit too). Rounds until a scan finds no
   * member not yet killed, so that a fork made between a scan and its kill is caught next round.
   */
  kill(): void {
    const hit = (target: number): void => {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const now = HAS_PROC ? readStat(this.root) : undefined;
    if (now === undefined || now.start === this.rootStart) hit(-this.root);
    if (!HAS_PROC) return;
    const killed = new Set<string>();
    for (let round = 0; round < 50; round++) {
      const fresh = this.members(true).filter((s) => !killed.has(`${s.pid}:${s.start}`));
      if (fresh.length === 0) return;
      for (const s of fresh) {
        killed.add(`${s.pid}:${s.start}`);
        hit(s.pid);
      }
    }
  }
}

/** How often a supervised child's descendants are recorded while it runs, in ms. */
const OBSERVE_MS = 1000;

/** A child spawned by spawnSupervised. */
export interface Supervised {
  readonly child: ChildProcess;
  /** Records its descendants now (call it while the child lives, say when it reports a result). */
  observe(): void;
  /** Kills the child's whole tree now (once) and unregisters it; on exit and on a signal this happens anyway. */
  stop(): void;
}

/**
 * Spawns a child in a session of its own with a marked environment, its tree (ProcessTree)
 * registered for cleanup and its descendants recorded every second: every process we start goes
 * this way, so that nothing it starts outlives the command.
 */
export function spawnSupervised(command: string, args: readonly string[], options: Omit<SpawnOptions, 'detached'> = {}): Supervised {
  const { env, marker } = markedEnv(options.env ?? process.env);
  // its own process group and session, so that a group kill reaches what it starts plainly
  const child = spawn(command, args, { ...options, env, detached: true });
  const tree = child.pid !== undefined ? new ProcessTree(child.pid, marker) : undefined;
  const registration = onCleanup(() => tree?.kill());
  // recorded while their parents live, so that a descendant that clears its environment is still found
  const watch = setInterval(() => tree?.observe(), OBSERVE_MS);
  watch.unref();
  return {
    child,
    observe: () => tree?.observe(),
    stop: () => {
      clearInterval(watch);
      registration.dispose();
    },
  };
}

/** The last `max` characters of a child's output, kept as it streams (for the one line that says why it failed). */
export class Tail {
  private text = '';
  constructor(private readonly max: number) {}
  add(chunk: Buffer | string): void {
    this.text = (this.text + chunk.toString()).slice(-this.max);
  }
  get value(): string {
    return this.text;
  }
}

/** One line from the end of a child's output, for a message that must stay on one line. */
export function tailNote(out: string, err: string): string {
  const lines = `${out}\n${err}`.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  if (lines.length === 0) return '';
  const shown = lines.slice(-3).join(' | ');
  return `; its output ended: "${shown.length > 200 ? `...${shown.slice(-200)}` : shown}"`;
}
