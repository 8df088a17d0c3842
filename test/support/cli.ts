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

/**
 * Runs `ssim-grad args...` in this process (main with captured streams): what `cli` returns, without
 * the cost of starting node and tsx once more. A --variant-file command still runs its child process.
 */
export async function cliInProcess(args: readonly string[]): Promise<CliResult> {
  const { main } = await import('../../src/cli.js');
  let stdout = '';
  let stderr = '';
  const status = await main(args, { out: (s) => (stdout += `${s}\n`), err: (s) => (stderr += `${s}\n`) });
  return { status, stdout, stderr };
}
