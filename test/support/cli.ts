import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

const ROOT = join(import.meta.dirname, '..', '..');

/** Runs `ssim-grad args...` from source in a child process. */
export function cli(args: readonly string[], cwd = ROOT): CliResult {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'test/support/run-cli.ts'), ...args], { cwd, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export const EXAMPLE_X = join(ROOT, 'examples/pair/x.png');
export const EXAMPLE_Y = join(ROOT, 'examples/pair/y.png');
