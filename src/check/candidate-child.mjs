// @ts-check
/**
 * The child process a candidate module runs in (spawned by candidate.ts, `runCandidateModule`).
 *
 * Plain JavaScript on purpose: the same file runs, with plain `node`, whether the CLI runs from
 * src/ (tests, tsx) or from the compiled dist/ (both reach it as ../../src/check/candidate-child.mjs),
 * and no TypeScript loader touches a user's .js module. A .ts candidate is loaded with tsx's
 * tsImport, as before isolation.
 *
 * Protocol: IPC messages for control; the tensors as raw little-endian files in a temporary
 * folder the parent owns (IPC serialisation of a 4K image takes seconds, a file a fraction):
 *   parent -> child  { path, x: {shape, dtype, file}, y: {shape, dtype, file}, options, out, fn?, extra? }
 *                    fn: the export called, 'gradient' (default), 'jvp' or 'hvp'; extra: tensors (or null)
 *                    passed between y and options: jvp(x, y, dx, dy, options), hvp(x, y, v, options)
 *   child -> parent  { type: 'result', shape, float32, file: true }  the gradient, written to `out`
 *                    { type: 'result', shape, data, float32 }         ... or, when its data holds non-numbers, sent as values
 *                    (then the child drains and exits)
 *                    { type: 'not-tensor', what }               gradient() returned something else
 *                    { type: 'no-gradient' }                    the module exports no function named fn
 *                    (a number returned by jvp() is taken as a 0-d tensor)
 *                    { type: 'threw', message }                 gradient() threw or rejected, or an uncaught error while it ran
 *                    { type: 'load-error', message }            the module did not load (a SyntaxError is then rethrown
 *                                                               uncaught so that node prints its file:line and caret)
 *                    { type: 'never-settled' }                  the event loop emptied while gradient()'s promise was pending
 *                    { type: 'late-error', message }            a throw or rejection after the result was sent
 * The candidate's own stdout and stderr go to pipes the parent keeps (never to the user's stdout).
 */
import * as fs from 'node:fs';
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * Our parent is gone (it died beyond its own cleanup: SIGKILL, a crash of node), so nobody stops
 * what the candidate started: kill every process carrying our environment marker
 * (src/io/process-tree.ts's TREE_MARKER_ENV, set by the parent), then our process group, this
 * process with it. Written self-contained: the watchdog thread runs it from its source text.
 * @param {typeof import('node:fs')} fs
 * @param {string | undefined} marker `NAME=token`
 * @param {number} self
 */
function stopTree(fs, marker, self) {
  /** @param {number} pid */
  const kill = (pid) => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  if (marker) {
    const needle = Buffer.from(`${marker}\0`);
    /** @type {string[]} */
    let names = [];
    try {
      names = fs.readdirSync('/proc');
    } catch {
      // no /proc: the group alone
    }
    for (const n of names) {
      if (!/^\d+$/.test(n) || Number(n) === self) continue;
      try {
        if (fs.readFileSync(`/proc/${n}/environ`).includes(needle)) kill(Number(n));
      } catch {
        // gone, or not ours to read
      }
    }
  }
  kill(-self);
  kill(self);
}

/**
 * The watchdog thread: it runs even while the candidate's code loops without end, and stops the
 * tree once this process has a new parent (ours died). process.ppid is fixed at startup, so the
 * thread reads the parent from /proc (or, without /proc, asks whether the old one still exists).
 */
const WATCHDOG = `
const { workerData: { parent, marker, self } } = require('node:worker_threads');
const fs = require('node:fs');
const stopTree = ${stopTree.toString()};
const ppid = () => {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'latin1');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    try { process.kill(parent, 0); return parent; } catch { return -1; }
  }
};
setInterval(() => { if (ppid() !== parent) stopTree(fs, marker, self); }, 250);
`;
const MARKER_ENV = 'SSIM_GRAD_PROCESS_TREE';
const markerValue = process.env[MARKER_ENV];
const marker = markerValue === undefined ? undefined : `${MARKER_ENV}=${markerValue}`;
// process.ppid, read at startup: our parent then, the CLI
new Worker(WATCHDOG, { eval: true, workerData: { parent: process.ppid, marker, self: process.pid } }).unref();

/** @param {unknown} e */
const firstLine = (e) => String((e && typeof e === 'object' && 'message' in e ? e.message : e) ?? e).split('\n')[0];

/** @param {unknown} v */
function describe(v) {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'object') return `an object with keys ${Object.keys(v).join(', ') || '(none)'}`;
  return typeof v;
}

let phase = 'waiting'; // waiting -> loading -> running -> returned
let ended = false;

/**
 * Sends one message and then ends the child with `code` (once the message is flushed).
 * @param {Record<string, unknown>} msg
 * @param {number} code
 */
function finish(msg, code) {
  if (ended) return;
  ended = true;
  process.channel?.ref();
  process.send?.(msg, () => process.exit(code));
}

/** @param {unknown} e */
function onUncaught(e) {
  if (phase === 'returned') finish({ type: 'late-error', message: firstLine(e) }, 1);
  else finish({ type: 'threw', message: firstLine(e) }, 1);
}
process.on('uncaughtException', onUncaught);
process.on('unhandledRejection', onUncaught);
// the loop emptied with gradient()'s promise still pending: nothing is left that could settle it
process.on('beforeExit', () => {
  if (phase === 'running') finish({ type: 'never-settled' }, 1);
});
// the parent went away without stopping us (killed beyond its cleanup): nobody wants the result, nor what the candidate started
process.on('disconnect', () => stopTree(fs, marker, process.pid));

/**
 * A tensor from its raw file: Float64Array or Float32Array, as the parent stored it.
 * @param {{ shape: number[], dtype: 'float64' | 'float32', file: string }} t
 */
function readTensorFile(t) {
  const b = readFileSync(t.file);
  const size = t.dtype === 'float32' ? 4 : 8;
  // a view when the bytes are aligned (a large file's Buffer is its own allocation), else a copy
  const bytes = b.byteOffset % size === 0 ? b : new Uint8Array(b);
  const n = b.byteLength / size;
  return { shape: t.shape, data: t.dtype === 'float32' ? new Float32Array(bytes.buffer, bytes.byteOffset, n) : new Float64Array(bytes.buffer, bytes.byteOffset, n) };
}

/**
 * Loads the module: tsx for TypeScript (no build step), import() for JavaScript.
 * @param {string} path absolute path
 * @returns {Promise<Record<string, unknown>>}
 */
async function load(path) {
  const url = pathToFileURL(path).href;
  if (/\.(c|m)?ts$/i.test(path)) {
    const { tsImport } = await import('tsx/esm/api');
    return /** @type {Record<string, unknown>} */ (await tsImport(url, import.meta.url));
  }
  return /** @type {Record<string, unknown>} */ (await import(url));
}

process.once('message', async (/** @type {any} (the parent's message, shaped as documented above) */ msg) => {
  // from here the channel alone does not keep the child alive: an empty loop means a stuck promise
  process.channel?.unref();
  phase = 'loading';
  /** @type {Record<string, unknown>} */
  let mod;
  try {
    mod = await load(msg.path);
  } catch (e) {
    const err = /** @type {{ name?: string, message?: string }} */ (e);
    ended = true;
    process.channel?.ref();
    process.send?.({ type: 'load-error', name: err?.name, message: String(err?.message ?? e) }, () => {
      if (err?.name === 'SyntaxError') {
        // node prints a SyntaxError's file:line and caret only when it reaches the top uncaught
        process.removeAllListeners('uncaughtException');
        process.removeAllListeners('unhandledRejection');
        setImmediate(() => {
          throw e;
        });
      } else process.exit(1);
    });
    return;
  }
  // tsx hands CommonJS-shaped TypeScript back under `default`
  const def = /** @type {Record<string, unknown> | undefined} */ (mod['default']);
  /** @type {string} */
  const fn = typeof msg.fn === 'string' ? msg.fn : 'gradient';
  const f = mod[fn] ?? (def && typeof def === 'object' ? def[fn] : undefined);
  if (typeof f !== 'function') return finish({ type: 'no-gradient' }, 1);
  phase = 'running';
  /** @type {unknown} */
  let r;
  try {
    const extra = Array.isArray(msg.extra) ? msg.extra.map((/** @type {any} */ t) => (t === null ? null : readTensorFile(t))) : [];
    r = await f(readTensorFile(msg.x), readTensorFile(msg.y), ...extra, msg.options);
  } catch (e) {
    return finish({ type: 'threw', message: firstLine(e) }, 1);
  }
  if (ended) return;
  // a JVP is one number: returned as it is, it travels as a 0-d tensor
  if (fn === 'jvp' && typeof r === 'number') r = { shape: [], data: Float64Array.of(r) };
  const t = /** @type {{ shape?: unknown, data?: unknown } | null} */ (r);
  const d = /** @type {{ length?: unknown }} */ (t && typeof t === 'object' ? t.data : undefined);
  if (typeof t !== 'object' || t === null || !Array.isArray(t.shape) || d === null || typeof d !== 'object' || typeof d.length !== 'number') {
    return finish({ type: 'not-tensor', what: describe(r) }, 1);
  }
  const float32 = d instanceof Float32Array;
  const shape = t.shape.map((v) => (typeof v === 'number' ? v : NaN));
  /** @type {Record<string, unknown>} */
  let msgOut;
  const values = /** @type {ArrayLike<unknown>} */ (d);
  let numbers = d instanceof Float64Array || d instanceof Float32Array;
  if (!numbers) {
    numbers = true;
    for (let i = 0; i < values.length && numbers; i++) numbers = typeof values[i] === 'number';
  }
  if (numbers) {
    // numbers go back as float64 bytes (a Float32Array's values are exact in float64), flagged float32
    const out = d instanceof Float64Array ? d : Float64Array.from(/** @type {ArrayLike<number>} */ (values));
    try {
      writeFileSync(msg.out, new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
    } catch (e) {
      return finish({ type: 'threw', message: `cannot hand the gradient back (${firstLine(e)})` }, 1);
    }
    msgOut = { type: 'result', shape, float32, file: true };
  } else {
    // a non-number goes as its text, for the message that names its index
    msgOut = { type: 'result', shape, float32, data: Array.from(values, (v) => (typeof v === 'number' ? v : `${typeof v} ${String(v)}`)) };
  }
  phase = 'returned';
  process.channel?.ref();
  // the channel stays held until the parent has recorded our descendants (it answers 'observed'):
  // exiting first would orphan what gradient() started, and an orphan that cleared its environment
  // could no longer be told from other processes
  process.on('message', (/** @type {any} */ m) => {
    // a late throw still reaches onUncaught; otherwise the child ends when the candidate's own work does
    if (m?.type === 'observed' && !ended) process.channel?.unref();
  });
  process.send?.(msgOut);
});
