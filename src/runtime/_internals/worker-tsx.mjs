// The worker entry when ssim-grad runs from its TypeScript sources (tsx: tests, scripts): registers
// tsx's loader in this thread, then loads worker.ts. Plain JavaScript, since nothing can load
// TypeScript before tsx is registered (`execArgv: ['--import', 'tsx']` does not reach a worker's
// entry on Node 20). From dist the pool loads worker.js directly and this file is not used.
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.entry);
