/**
 * The channel between the CLI and the child process a `--variant-file` command runs in
 * (src/cli/isolate.ts starts it, src/cli/variant-child.ts is its entry). The child writes framed
 * messages, one JSON object a line, synchronously to an extra pipe (fd 3): our output, and the
 * brackets around every call into the user's code, so that the parent can time each call and
 * stop the child when one runs past --timeout, even while the user's code loops and nothing else
 * in the child can run. Without a channel (the library, the parent) the brackets cost nothing.
 */
import { writeSync } from 'node:fs';

/** What the child tells the parent. */
export type Frame =
  | { readonly t: 'out'; readonly s: string }
  | { readonly t: 'err'; readonly s: string }
  /** Raw text for stderr (the progress bar), passed on at once. */
  | { readonly t: 'progress'; readonly s: string }
  /** The user's code starts running: its import, its loss, its validate, an option's check, ... */
  | { readonly t: 'enter'; readonly what: string }
  | { readonly t: 'leave' }
  /** process.exit was called before the command finished (by the user's code: ours never calls it). */
  | { readonly t: 'exit'; readonly code: number; readonly what: string | null }
  /** An error thrown outside any call we made (a timer or promise of the user's), and the child ends. */
  | { readonly t: 'crash'; readonly message: string; readonly what: string | null }
  /** The command finished with this exit code; everything it printed came before. */
  | { readonly t: 'done'; readonly code: number };

/** The fd the child writes its frames to. */
export const CHANNEL_FD = 3;

// captured before any user code runs, so that a variant that replaces them cannot silence us
const stringify = JSON.stringify;
const write = writeSync;
const fromString = Buffer.from.bind(Buffer);

let open = false;
let depth = 0;
let current: string | null = null;

/** Writes all of `bytes` to fd, waiting out a full pipe (a non-blocking fd answers EAGAIN). */
function writeAll(fd: number, bytes: Buffer): void {
  let at = 0;
  while (at < bytes.length) {
    try {
      at += write(fd, bytes, at, bytes.length - at);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}

/** Sends one frame to the parent (a no-op without a channel). */
export function send(frame: Frame): void {
  if (open) writeAll(CHANNEL_FD, fromString(`${stringify(frame)}\n`));
}

/** Opens the channel (the child's entry, once). */
export function openChannel(): void {
  open = true;
}

/** Whether this process is a --variant-file child with a channel to its parent. */
export const hasChannel = (): boolean => open;

/** The user's call running now (outermost), or null. */
export const userCall = (): string | null => current;

function enter(what: string): void {
  if (depth++ === 0) {
    current = what;
    send({ t: 'enter', what });
  }
}

function leave(): void {
  if (--depth === 0) {
    current = null;
    send({ t: 'leave' });
  }
}

/**
 * Runs f, a call into the user's code, inside a bracket the parent times ('loss', 'validate',
 * 'options.gain.check', ...). Nested calls count as the outermost one.
 */
export function inUserCode<T>(what: string, f: () => T): T {
  enter(what);
  try {
    return f();
  } finally {
    leave();
  }
}

/** inUserCode for an asynchronous call (the module's import): the bracket lasts until it settles. */
export async function inUserCodeAsync<T>(what: string, f: () => Promise<T>): Promise<T> {
  enter(what);
  try {
    return await f();
  } finally {
    leave();
  }
}
