/**
 * The child process a `--variant-file` command runs in (started by src/cli/isolate.ts). It runs
 * the CLI command here, with the user's module loaded here, and talks to the parent only over the
 * channel (src/cli/channel.ts): our output as frames, a bracket around every call into the user's
 * code, and 'done' with the exit code. Our stdout and stderr are the user's prints (the parent keeps
 * them). Set up before anything of the user's runs: process.exit is told to the parent (a variant
 * that ends the process is an error, not a result), an uncaught error from the user's timers or
 * promises is a crash, and the parent's going away stops us and what we started.
 */
import { Worker } from 'node:worker_threads';
import { oneLine } from './variant-file.js';
import { openChannel, send, userCall } from './channel.js';
import { CHILD_ENV, type ChildConfig } from './isolate.js';

const config = JSON.parse(process.env[CHILD_ENV] ?? 'null') as ChildConfig | null;
delete process.env[CHILD_ENV];
if (config === null) {
  process.stderr.write(`ssim-grad: ${import.meta.url} is started by the CLI for --variant-file, not by hand\n`);
  process.exit(3);
}
openChannel();

/** How often the watchdog looks for the parent, in ms. */
const WATCHDOG_MS = 250;

const realExit = process.exit.bind(process);
let finished = false;
process.exit = ((code?: number | string | null) => {
  if (!finished) send({ t: 'exit', code: Number(code ?? process.exitCode ?? 0), what: userCall() });
  return realExit(code);
}) as typeof process.exit;

const onUncaught = (e: unknown): void => {
  if (finished) return;
  send({ t: 'crash', message: oneLine(e), what: userCall() });
  realExit(70);
};
process.on('uncaughtException', onUncaught);
process.on('unhandledRejection', onUncaught);

// a watchdog on its own thread: the parent gone (killed, even by SIGKILL), we stop, with what we
// started, even while the user's code keeps this thread busy
const WATCHDOG = `const { workerData } = require('node:worker_threads');
setInterval(() => { if (process.ppid !== workerData.parent) process.kill(-workerData.group, 'SIGKILL'); }, ${WATCHDOG_MS});`;
new Worker(WATCHDOG, { eval: true, workerData: { parent: config.parent, group: process.pid } }).unref();

const { runCommand } = await import('../cli.js');
if (config.stderr.isTTY) {
  // check's progress bar, drawn on the parent's terminal through the channel
  const { setProgress } = await import('./check.js');
  setProgress({ isTTY: true, columns: config.stderr.columns, write: (s: string) => send({ t: 'progress', s }) });
}
const code = await runCommand(config.argv, { out: (s) => send({ t: 'out', s }), err: (s) => send({ t: 'err', s }) });
finished = true;
send({ t: 'done', code });
realExit(code);
