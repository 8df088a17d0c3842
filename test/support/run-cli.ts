// Runs the CLI from source (tests spawn this with tsx, so they see real exit codes and streams).
import { main } from '../../src/cli.js';

process.exitCode = await main(process.argv.slice(2));
