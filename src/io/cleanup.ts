/**
 * One registry of what must not outlive the command: temporary files and folders, and the
 * process trees of children (see ProcessTree). Every writer and spawner registers what it makes
 * and disposes of it when done; whatever is still registered is cleaned up on exit (normal, an
 * error, process.exit) and on SIGINT, SIGTERM and SIGHUP, after which the process exits with
 * 128 + the signal's number (130, 143, 129) as a shell reports a process the signal ended.
 *
 * The signal listeners are installed only while something is registered, so that a long
 * computation with nothing to clean is still stopped at once by the signal's default action
 * (a JavaScript listener runs only when the event loop turns). A program that uses the library
 * and listens for the signal itself keeps its say: then we clean up and do not exit.
 */
import { rmSync } from 'node:fs';

/** What a registration gives back. */
export interface Registration {
  /** Cleans up now (once) and forgets it: the normal end of a temporary thing. */
  dispose(): void;
  /** Forgets it without cleaning: it is no longer there to clean (renamed into place, say). */
  release(): void;
}

/** The signals that end a command, with their numbers (exit code 128 + n). */
export const CLEANUP_SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;
type CleanupSignal = keyof typeof CLEANUP_SIGNALS;

const entries = new Set<() => void>();
let installed = false;
let uninstallPending = false;

/** Runs every registered cleanup, newest first (a process is stopped before the folder it writes into is removed), and forgets them. */
export function runCleanups(): void {
  const all = [...entries].reverse();
  entries.clear();
  for (const run of all) {
    try {
      run();
    } catch {
      // one failure must not keep the others from running; nothing more can be done here
    }
  }
}

/** Marks our listeners, so that another copy of this module (src and dist in one process) is not taken for a program's own. */
const OURS = Symbol.for('ssim-grad.cleanup-listener');

function onSignal(sig: CleanupSignal): void {
  runCleanups();
  // alone we end as the signal would have; another listener (a program using the library) decides for itself
  const others = process.listeners(sig).filter((l) => !(OURS in l));
  if (others.length === 0) process.exit(128 + CLEANUP_SIGNALS[sig]);
}

const ourListener = (sig: CleanupSignal): (() => void) => Object.assign(() => onSignal(sig), { [OURS]: true });
const listeners: Record<CleanupSignal, () => void> = { SIGHUP: ourListener('SIGHUP'), SIGINT: ourListener('SIGINT'), SIGTERM: ourListener('SIGTERM') };

function install(): void {
  if (installed) return;
  installed = true;
  for (const sig of Object.keys(listeners) as CleanupSignal[]) process.on(sig, listeners[sig]);
  process.on('exit', runCleanups);
}

/**
 * Counts turns of the event loop (an immediate that ran), so that a registration can tell whether
 * it lived within one synchronous stretch (a write) or across a wait (a child's run).
 */
let turn = 0;
let turnQueued = false;
function noteTurn(): void {
  if (turnQueued) return;
  turnQueued = true;
  setImmediate(() => {
    turnQueued = false;
    turn++;
  }).unref();
}

function uninstall(): void {
  if (!installed || entries.size > 0) return;
  installed = false;
  for (const sig of Object.keys(listeners) as CleanupSignal[]) process.removeListener(sig, listeners[sig]);
  process.removeListener('exit', runCleanups);
}

/**
 * Removes the listeners once nothing is registered. After a registration that spanned a wait, at
 * once: the loop polled during the wait, so a signal was delivered then, and what follows (the
 * checker's own long computation) must stay stoppable by the signal's default action. After one
 * made and ended in one synchronous stretch, once the loop has polled again: a signal that came
 * during that stretch (a large write) is delivered in that poll, still to us. Two immediates: one
 * scheduled from the poll phase would run before the next poll.
 */
function uninstallWhenEmpty(sameStretch: boolean): void {
  if (!installed || entries.size > 0) return;
  if (!sameStretch) return uninstall();
  if (uninstallPending) return;
  uninstallPending = true;
  setImmediate(() =>
    setImmediate(() => {
      uninstallPending = false;
      uninstall();
    }),
  );
}

/** Registers a cleanup (synchronous: it may run inside an 'exit' listener). */
export function onCleanup(run: () => void): Registration {
  let done = false;
  const entry = (): void => {
    if (done) return;
    done = true;
    run();
  };
  entries.add(entry);
  install();
  const born = turn;
  noteTurn();
  return {
    dispose: () => {
      entries.delete(entry);
      try {
        entry();
      } finally {
        uninstallWhenEmpty(born === turn);
      }
    },
    release: () => {
      done = true;
      entries.delete(entry);
      uninstallWhenEmpty(born === turn);
    },
  };
}

/**
 * Registers a temporary folder (removed with what it holds) or, with `{ file: true }`, a temporary
 * file (removed only if it is a file: a folder of that name is not ours).
 */
export function removeOnCleanup(path: string, kind: { file?: boolean } = {}): Registration {
  return onCleanup(() => {
    try {
      rmSync(path, { recursive: kind.file !== true, force: true });
    } catch {
      // not ours to remove, or gone; a failed cleanup has nothing left to tell the user
    }
  });
}

/** How many cleanups are registered now (for tests). */
export function pendingCleanups(): number {
  return entries.size;
}
