/**
 * The worker thread's entry: runs the generated kernels on the segments (planes or row bands) of a
 * job and writes gradients and per-row sums into the shared buffers it was handed. Loaded as .ts
 * under tsx (tests, sources) and as .js from dist.
 */
import { parentPort } from 'node:worker_threads';
import { runJob, type Job } from './job.js';

if (parentPort === null) throw new Error('worker.ts: run as a worker thread (node:worker_threads), not as a script');
const port = parentPort;
port.on('message', (msg: { id: number; job: Job }) => {
  try {
    runJob(msg.job);
    port.postMessage({ id: msg.id, ok: true });
  } catch (e) {
    port.postMessage({ id: msg.id, ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
  }
});
