#!/usr/bin/env node
// The command-line entry: the compiled CLI (built by `npm run build`, run on `prepare`). A command
// given --variant-file runs in a child process that loads the CLI itself, so this process loads
// only what starts and watches it (dist/cli/isolate.js), not the whole CLI a second time.
const argv = process.argv.slice(2);
const out = (s) => process.stdout.write(`${s}\n`);
const err = (s) => process.stderr.write(`${s}\n`);
const { runIfVariantFile } = await import('../dist/cli/isolate.js');
const isolated = await runIfVariantFile(argv, { out, err });
process.exitCode = isolated ?? (await (await import('../dist/cli.js')).main(argv, { out, err }));
