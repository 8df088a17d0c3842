/**
 * The worker thread's entry: runs the generated kernels on the segments (planes or row bands) of a
 * job and writes gradients and per-row sums into the shared buffers it was handed. Loaded as .ts
 * under tsx (tests, sources) and as .js from dist.
 */
import { readFileSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { runJob, type Job } from './job.js';

/**
 * CPU time of this thread in ms (Linux: utime + stime of /proc/thread-self/stat, 10 ms ticks; NaN
 * elsewhere): the bench reports it, since wall time on a machine shared with other jobs says little.
 */
function threadCpuMs(): number {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

if (parentPort === null) throw new Error('worker.ts: run as a worker thread (node:worker_threads), not as a script');
const port = parentPort;
port.on('message', (msg: { id: number; job: Job }) => {
  try {
    const cpu0 = threadCpuMs();
    runJob(msg.job);
    port.postMessage({ id: msg.id, ok: true, cpuMs: threadCpuMs() - cpu0 });
  } catch (e) {
    port.postMessage({ id: msg.id, ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
  }
});
