#!/usr/bin/env node
// The command-line entry: the compiled CLI (built by `npm run build`, run on `prepare`).
import { main } from '../dist/cli.js';

process.exitCode = await main(process.argv.slice(2));
