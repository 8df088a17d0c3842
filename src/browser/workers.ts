/**
 * Web workers where Node uses worker threads: a lazily made, reused pool running the same jobs
 * (src/runtime/_internals/job.ts) on the same split, so results are bit for bit those of one thread.
 * In a cross-origin isolated page (`ssim-grad serve` sends the headers) the buffers are
 * SharedArrayBuffers and the workers write in place; elsewhere each worker gets copies and hands back
 * the rows it owns (mergeOwned). The pool also runs whole tasks off the page's thread (a check, with
 * its progress). Where no worker can start (a page opened from file://, no Worker at all) everything
 * runs on the calling thread: `workersAvailable()` says which.
 */
/// <reference lib="dom" />
import { InputError } from '../field/index.js';
import type { Job } from '../runtime/_internals/job.js';
import { mergeOwned, type JobOutputs, type JobRunner } from '../runtime/_internals/parallel-core.js';

/** Messages to a worker (worker.ts answers each by id). */
export type WorkerRequest =
  | { readonly id: number; readonly kind: 'job'; readonly job: Job; readonly shared: boolean }
  | { readonly id: number; readonly kind: 'task'; readonly task: string; readonly args: unknown };

/** Messages from a worker. */
export type WorkerReply =
  | { readonly id: number; readonly kind: 'done'; readonly outputs?: JobOutputs; readonly value?: unknown }
  | { readonly id: number; readonly kind: 'progress'; readonly done: number; readonly total: number; readonly what: string }
  | { readonly id: number; readonly kind: 'error'; readonly name: string; readonly message: string };

interface Pending {
  readonly resolve: (v: WorkerReply & { kind: 'done' }) => void;
  readonly reject: (e: Error) => void;
  readonly progress?: (done: number, total: number, what: string) => void;
}

let workerUrl: string | URL | null = defaultWorkerUrl();
let broken: string | null = null;
const pool: Worker[] = [];
const pending = new Map<number, Pending>();
let nextId = 0;

/** Beside the module (the ES bundle's dist/web/worker.js); null where there is no module URL (a classic script sets it). */
function defaultWorkerUrl(): URL | null {
  try {
    return new URL('./worker.js', import.meta.url);
  } catch {
    return null;
  }
}

/** Where the worker script is (dist/web/worker.js of the package; a bundler's URL of it). */
export function setWorkerUrl(url: string | URL | null): void {
  workerUrl = url;
  broken = null;
}

/** Whether workers run here, and if not why: null when they do. */
export function workersUnavailable(): string | null {
  if (broken !== null) return broken;
  if (typeof Worker === 'undefined') return 'this page has no Worker';
  if (workerUrl === null) return 'no worker script (setWorkerUrl)';
  if (typeof location !== 'undefined' && location.protocol === 'file:') return 'a page opened from file:// cannot start workers';
  return null;
}

/** Threads 'auto' means: the browser's hardwareConcurrency, 1 where workers do not run. */
export function autoThreads(): number {
  if (workersUnavailable() !== null) return 1;
  return Math.max(1, typeof navigator !== 'undefined' ? navigator.hardwareConcurrency || 1 : 1);
}

/** Whether the jobs' buffers can be shared with the workers (a cross-origin isolated page). */
export function sharedMemory(): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
}

function fail(reason: string): void {
  broken = reason;
  for (const w of pool.splice(0)) w.terminate();
  for (const p of pending.values()) p.reject(new WorkerFailure(reason));
  pending.clear();
}

/** A worker that could not start or died: the caller falls back to the calling thread. */
export class WorkerFailure extends Error {
  override name = 'WorkerFailure';
}

function spawn(): Worker {
  const w = new Worker(workerUrl!, { name: 'ssim-grad' });
  w.onmessage = (e: MessageEvent<WorkerReply>) => {
    const m = e.data;
    const p = pending.get(m.id);
    if (p === undefined) return;
    if (m.kind === 'progress') {
      p.progress?.(m.done, m.total, m.what);
      return;
    }
    pending.delete(m.id);
    if (m.kind === 'done') p.resolve(m);
    else {
      // ssim-grad's bad-input errors stay InputErrors across the message (the page shows their one line)
      const err = m.name === 'InputError' || m.name === 'NonFiniteError' ? new InputError(m.message) : new Error(m.message);
      err.name = m.name;
      p.reject(err);
    }
  };
  w.onerror = (e: ErrorEvent) => {
    e.preventDefault();
    fail(`a worker failed: ${e.message || 'the worker script did not load'}`);
  };
  return w;
}

function post(t: number, make: (id: number) => WorkerRequest, progress?: Pending['progress'], transfer: Transferable[] = []): Promise<WorkerReply & { kind: 'done' }> {
  const why = workersUnavailable();
  if (why !== null) return Promise.reject(new WorkerFailure(why));
  try {
    while (pool.length <= t) pool.push(spawn());
  } catch (e) {
    fail(`no worker: ${(e as Error).message}`);
    return Promise.reject(new WorkerFailure(broken!));
  }
  return new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject, progress });
    pool[t]!.postMessage(make(id), transfer);
  });
}

/** The JobRunner of the web workers (parallel-core.ts). */
export const WEB_WORKERS: JobRunner = {
  autoThreads,
  sharedMemory,
  run: async (jobs) => {
    const shared = sharedMemory();
    const replies = await Promise.all(jobs.map((job, t) => post(t, (id) => ({ id, kind: 'job', job, shared }))));
    if (!shared) replies.forEach((r, t) => mergeOwned(jobs[t]!, r.outputs!));
  },
};

/**
 * Runs a named task (worker.ts's table) on a worker, with its progress; rejects with WorkerFailure
 * when no worker runs (the caller then runs it here).
 */
export async function runTask<T>(task: string, args: unknown, progress?: Pending['progress'], transfer: Transferable[] = []): Promise<T> {
  // the last worker of the pool: jobs go to the first ones
  const r = await post(Math.max(0, pool.length - 1), (id) => ({ id, kind: 'task', task, args }), progress, transfer);
  return r.value as T;
}

/** Ends the web workers now; the next call makes new ones. */
export function terminateWebWorkers(): void {
  for (const w of pool.splice(0)) w.terminate();
  for (const p of pending.values()) p.reject(new WorkerFailure('the workers were terminated'));
  pending.clear();
}
