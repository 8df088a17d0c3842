/**
 * One CLI run in its own process, for bench/check-4k.ts: runs main() with the arguments, then
 * writes one line `BENCH {"ms": wall time of main, "maxRssKiB": peak resident set}` to stderr.
 */
import { main } from '../src/cli.js';

const t0 = performance.now();
const code = await main(process.argv.slice(2), { out: () => {}, err: (s) => process.stderr.write(`${s}\n`) });
const ms = performance.now() - t0;
process.stderr.write(`BENCH ${JSON.stringify({ ms, maxRssKiB: process.resourceUsage().maxRSS, code })}\n`);
process.exitCode = code;
