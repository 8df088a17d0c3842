/**
 * Files and lists the CLI must refuse quickly (issue 17, "bounded work" and "strict file formats"):
 * a device, a FIFO or a folder as an image, an over-deep JSON tensor, and number lists with empty
 * items. Each is exit 2 with one line naming the argument.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { formatNpy } from '../../src/io/index.js';

const ROOT = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'ssim-grad-inputs-'));
const y = join(dir, 'y.npy');
writeFileSync(y, formatNpy({ shape: [16, 16], data: Float64Array.from({ length: 256 }, (_, i) => 0.5 + 0.4 * Math.sin(0.37 * i)) }));

/** The CLI in a child process with a deadline: a read that never ends shows as a timeout, not a hung test. */
function cliWithin(args: string[], seconds: number): { status: number | null; stderr: string; timedOut: boolean } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'test/support/run-cli.ts'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: seconds * 1000, killSignal: 'SIGKILL' });
  return { status: r.status, stderr: r.stderr, timedOut: r.error !== undefined || r.signal !== null };
}

async function exit2(args: string[], message: RegExp): Promise<void> {
  let stdout = '';
  let stderr = '';
  const status = await main(args, { out: (s) => (stdout += `${s}\n`), err: (s) => (stderr += `${s}\n`) });
  expect(status, stderr).toBe(2);
  expect(stdout).toBe('');
  expect(stderr.trim().split('\n'), stderr).toHaveLength(1);
  expect(stderr).toMatch(message);
}

describe('files that are not tensors: exit 2 at once', () => {
  it('value /dev/zero y.npy names /dev/zero and its type, without reading it', () => {
    const r = cliWithin(['value', '/dev/zero', y], 30);
    expect(r.timedOut, 'the CLI read /dev/zero').toBe(false);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/\/dev\/zero: unknown file type ''/);
  });

  it('a FIFO named x.npy is refused without opening it (an open would wait for a writer)', () => {
    const fifo = join(dir, 'x.npy');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const r = cliWithin(['value', fifo, y], 30);
    expect(r.timedOut, 'the CLI blocked on the FIFO').toBe(false);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/x\.npy: is a FIFO \(named pipe\), expected a regular file/);
  });

  it('a folder as an image', async () => {
    const folder = join(dir, 'folder.npy');
    mkdirSync(folder);
    await exit2(['value', folder, y], /folder\.npy: is a folder, expected a regular file/);
  });

  it('a 200 000-deep JSON tensor names the file (no "Maximum call stack")', async () => {
    const deep = join(dir, 'deep.json');
    writeFileSync(deep, `{"shape": [1], "data": ${'['.repeat(200_000)}1${']'.repeat(200_000)}}`);
    await exit2(['value', deep, y], /deep\.json: JSON nested more than \d+ deep/);
  });
});

describe('number lists: every item a decimal number', () => {
  it.each([[','], ['1,,2'], [' , '], [''], ['1,0x2'], ['1, 2,']])('--weights %j', async (w) => {
    await exit2(['value', y, y, '--variant', 'ms-ssim', '--weights', w], /--weights: got '.*', expected comma-separated numbers \(item \d is (empty|'0x2')\)/);
  });

  it('spaces around the items are allowed, as before', async () => {
    let stdout = '';
    const status = await main(['value', y, y, '--variant', 'ms-ssim', '--weights', ' 0.5, 0.5 ', '--preset', 'pytorch-msssim', '--size', '3', '--json'], { out: (s) => (stdout += s), err: () => {} });
    expect(status).toBe(0);
    expect(JSON.parse(stdout).ssim).toBeCloseTo(1, 12);
  });
});
