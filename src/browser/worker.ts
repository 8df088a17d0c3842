/**
 * The web worker's entry (bundled as dist/web/worker.js): runs kernel jobs (the split of
 * parallel-core.ts, as Node's worker.ts does) and whole tasks off the page's thread (a check, with its
 * progress; the values of every preset). Answers each message by its id (workers.ts).
 */
/// <reference lib="dom" />
import { runJob } from '../runtime/_internals/job.js';
import type { WorkerReply, WorkerRequest } from './workers.js';
import { TASKS } from './tasks.js';

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(m: WorkerReply, transfer?: Transferable[]): void;
};

scope.onmessage = async (e) => {
  const m = e.data;
  try {
    if (m.kind === 'job') {
      runJob(m.job);
      if (m.shared) scope.postMessage({ id: m.id, kind: 'done' });
      else {
        const { gradX, gradY, rowSums } = m.job;
        const transfer = [gradX?.buffer, gradY?.buffer, rowSums.buffer].filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
        scope.postMessage({ id: m.id, kind: 'done', outputs: { gradX, gradY, rowSums } }, transfer);
      }
      return;
    }
    const task = TASKS[m.task];
    if (task === undefined) throw new Error(`no task '${m.task}'`);
    const value = await task(m.args as never, (done, total, what) => scope.postMessage({ id: m.id, kind: 'progress', done, total, what }));
    scope.postMessage({ id: m.id, kind: 'done', value });
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err));
    scope.postMessage({ id: m.id, kind: 'error', name: error.name, message: error.message });
  }
};
