/**
 * A lazily made, reused pool of worker threads. Idle workers are unref'd, so the pool never keeps
 * the process alive; a worker with a job in flight is ref'd, so an awaited result is not lost to an
 * exiting event loop.
 */
import { Worker } from 'node:worker_threads';
import type { Job } from './job.js';

interface Pending {
  readonly resolve: (cpuMs: number) => void;
  readonly reject: (e: Error) => void;
}

interface PoolWorker {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
}

// Under tsx (tests, sources) this module is a .ts file and so is the worker entry, which a small
// .mjs bootstrap loads after registering tsx in the thread; from dist both are .js and load plainly.
const fromSource = import.meta.url.endsWith('.ts');
const entry = new URL(fromSource ? './worker.ts' : './worker.js', import.meta.url);
const bootstrap = new URL('./worker-tsx.mjs', import.meta.url);

const workers: PoolWorker[] = [];
let nextId = 0;

function spawn(): PoolWorker {
  const worker = fromSource ? new Worker(bootstrap, { workerData: { entry: entry.href } }) : new Worker(entry);
  const pw: PoolWorker = { worker, pending: new Map() };
  worker.on('message', (msg: { id: number; ok: boolean; error?: string; cpuMs?: number }) => {
    const p = pw.pending.get(msg.id);
    if (p === undefined) return;
    pw.pending.delete(msg.id);
    if (pw.pending.size === 0) worker.unref();
    if (msg.ok) p.resolve(msg.cpuMs ?? Number.NaN);
    else p.reject(new Error(`ssim worker thread: ${msg.error}`));
  });
  const fail = (e: Error): void => {
    // a dead worker leaves the pool; its jobs fail with the reason
    const i = workers.indexOf(pw);
    if (i >= 0) workers.splice(i, 1);
    for (const p of pw.pending.values()) p.reject(e);
    pw.pending.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`ssim worker thread exited with code ${code}`)));
  worker.unref();
  return pw;
}

/** CPU ms each worker spent on its job in the last runOnPool call (Linux; NaN elsewhere): for the bench. */
export let lastJobCpuMs: number[] = [];

/** Runs the jobs, job t on worker t (the pool grows to the number of jobs), and resolves when all are done. */
export function runOnPool(jobs: readonly Job[]): Promise<void> {
  while (workers.length < jobs.length) workers.push(spawn());
  return Promise.all(
    jobs.map(
      (job, t) =>
        new Promise<number>((resolve, reject) => {
          const pw = workers[t]!;
          const id = nextId++;
          pw.pending.set(id, { resolve, reject });
          pw.worker.ref();
          pw.worker.postMessage({ id, job });
        }),
    ),
  ).then((cpu) => {
    lastJobCpuMs = cpu;
  });
}

/** Number of live workers in the pool (tests). */
export function poolSize(): number {
  return workers.length;
}

/** Terminates every worker of the pool; the next parallel call makes new ones. */
export async function terminatePool(): Promise<void> {
  const all = workers.splice(0, workers.length);
  await Promise.all(all.map((pw) => pw.worker.terminate()));
}
