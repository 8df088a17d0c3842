// Runs the CLI from source (tests spawn this with tsx, so they see real exit codes and streams), as
// bin/ssim-grad.js runs the build: a --variant-file command goes to its child process without the
// whole CLI loaded here.
import { runIfVariantFile } from '../../src/cli/isolate.js';

const argv = process.argv.slice(2);
const out = (s: string): void => void process.stdout.write(`${s}\n`);
const err = (s: string): void => void process.stderr.write(`${s}\n`);
const isolated = await runIfVariantFile(argv, { out, err });
process.exitCode = isolated ?? (await (await import('../../src/cli.js')).main(argv, { out, err }));
