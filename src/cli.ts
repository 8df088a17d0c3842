/**
 * The command-line face of ssim-grad. `main` returns the exit code: 0 success, 1 a negative
 * verdict (check), 2 bad input, with a one-line message and never a stack trace.
 */
export const USAGE = `ssim-grad: exact gradients of SSIM and its variants

Usage:
  ssim-grad --help
`;

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  if (argv.length === 0 || argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  process.stderr.write(`ssim-grad: unknown command '${argv[0]}' (expected one of: --help)\n`);
  return 2;
}
