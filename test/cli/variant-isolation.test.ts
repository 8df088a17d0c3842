/**
 * A --variant-file runs isolated: its command runs in a child process (src/cli/isolate.ts), so a
 * loop in the user's code is stopped by --timeout, process.exit or a crash in it is exit 2 naming
 * the file with nothing written, its prints never reach our stdout (--json stays one object),
 * what it started is stopped, and a malformed declaration is exit 2 with one line naming the file
 * and the field. Each runs the CLI from source as a user would, with small images and short timeouts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { commands, runCommand } from '../../src/cli.js';
import { VARIANT_FILE_COMMANDS } from '../../src/cli/isolate.js';
import { EXAMPLE_X, EXAMPLE_Y } from '../support/cli.js';

const ROOT = join(import.meta.dirname, '..', '..');
const RUN = join(ROOT, 'test/support/run-cli.ts');
const tmp = mkdtempSync(join(tmpdir(), 'ssim-grad-isolation-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const LOSS = 'loss: ({ x, y, g }) => g.ssim(x, y)';
let count = 0;
/** A variant module in the temporary folder. */
function variant(body: string, ext = '.mjs'): string {
  const path = join(tmp, `v${count++}${ext}`);
  writeFileSync(path, body);
  return path;
}

/** The CLI from source, stopped after `limitS` (the code before isolation hung on some of these). */
function cli(args: readonly string[], limitS = 60) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', RUN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: limitS * 1000, killSignal: 'SIGKILL' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Exit 2 with exactly one stderr line, naming the command and the file, and nothing on stdout. */
function expectOneLine(r: ReturnType<typeof cli>, command: string, file: string, what: RegExp): void {
  expect(r.stdout).toBe('');
  expect(r.stderr.endsWith('\n')).toBe(true);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr.startsWith(`ssim-grad ${command}: --variant-file: '${file}'`)).toBe(true);
  expect(r.stderr).toMatch(what);
  expect(r.status).toBe(2);
}

/** Whether a process is gone (or a zombie nobody reaped yet). */
function gone(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

const value = (file: string, ...more: string[]) => ['value', EXAMPLE_X, EXAMPLE_Y, '--variant-file', file, ...more];

describe('--timeout bounds each call into the variant', () => {
  it('a loop at import is stopped after --timeout 1: exit 2 naming the file and its import', () => {
    const f = variant('while (true) {}\n');
    const t0 = Date.now();
    expectOneLine(cli(value(f, '--timeout', '1')), 'value', f, /its import \(the module's top-level code\) ran past --timeout 1 s and was stopped/);
    expect(Date.now() - t0).toBeLessThan(40_000);
  });

  it('a loop in the loss is stopped after --timeout 2 (grad writes nothing)', () => {
    const f = variant(`export default { name: 'spin', summary: 's', loss: () => { for (;;) {} } };\n`);
    const out = join(tmp, 'spin.npy');
    expectOneLine(cli(['grad', EXAMPLE_X, EXAMPLE_Y, '--variant-file', f, '--out', out, '--timeout', '2']), 'grad', f, /its loss ran past --timeout 2 s and was stopped/);
    expect(existsSync(out)).toBe(false);
  });

  it('a getter that loops is reading the declaration, and an option check that loops is named', () => {
    const g = variant(`export default { name: 'g', summary: 's', get loss() { for (;;) {} } };\n`);
    expectOneLine(cli(value(g, '--timeout', '1')), 'value', g, /reading its declaration ran past --timeout 1 s/);
    const c = variant(`export default { name: 'c', summary: 's', options: { gain: { kind: 'number', default: 1, help: 'h', check: () => { for (;;) {} } } }, ${LOSS} };\n`);
    expectOneLine(cli(value(c, '--gain', '2', '--timeout', '1')), 'value', c, /its options\.gain\.check ran past --timeout 1 s/);
  });

  it('a killed child takes its half-written output and what it started with it', () => {
    // the import leaves what a killed writeAtomic leaves (.G.npy.PID.tmp) and starts a process; the loss loops
    const out = join(tmp, 'G.npy');
    const pidFile = join(tmp, 'sleeper.pid');
    const f = variant(
      `import { spawn } from 'node:child_process';\nimport { writeFileSync } from 'node:fs';\n` +
        `writeFileSync(${JSON.stringify(join(tmp, '.G.npy.'))} + process.pid + '.tmp', 'half');\n` +
        `writeFileSync(${JSON.stringify(pidFile)}, String(spawn('sleep', ['300'], { stdio: 'ignore' }).pid));\n` +
        `export default { name: 'k', summary: 's', loss: () => { for (;;) {} } };\n`,
    );
    expectOneLine(cli(['grad', EXAMPLE_X, EXAMPLE_Y, '--variant-file', f, '--out', out, '--timeout', '1']), 'grad', f, /its loss ran past --timeout 1 s/);
    expect(existsSync(out)).toBe(false);
    expect(spawnSync('sh', ['-c', `ls -a ${tmp} | grep -c '^\\.G\\.npy\\.' || true`], { encoding: 'utf8' }).stdout.trim()).toBe('0');
    expect(gone(Number(readFileSync(pidFile, 'utf8')))).toBe(true);
  });

  it('--timeout takes a positive number of seconds', () => {
    const f = variant(`export default { name: 'ok', summary: 's', ${LOSS} };\n`);
    const r = cli(value(f, '--timeout', '0'));
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe("ssim-grad value: --timeout: got '0', expected a positive number of seconds (at most 2147483)");
  });
});

describe('the variant cannot end the CLI or write to its output', () => {
  it.each([
    ['at import', "process.exit(0);\nexport default { name: 'e', summary: 's', loss: ({ x, y, g }) => g.ssim(x, y) };\n", /called process\.exit\(0\) in its import/],
    ['in the loss', "export default { name: 'e', summary: 's', loss: () => process.exit(0) };\n", /called process\.exit\(0\) in its loss/],
  ])('process.exit(0) %s is exit 2 naming the file, no output file', (_, body, what) => {
    const f = variant(body);
    const out = join(tmp, `exit-${count}.npy`);
    expectOneLine(cli(['grad', EXAMPLE_X, EXAMPLE_Y, '--variant-file', f, '--out', out]), 'grad', f, what);
    expect(existsSync(out)).toBe(false);
  });

  it('a crash (the process killed from inside the loss) is exit 2 naming the file', () => {
    const f = variant("export default { name: 'c', summary: 's', loss: () => process.kill(process.pid, 'SIGKILL') };\n");
    expectOneLine(cli(value(f)), 'value', f, /the process the variant ran in was killed by SIGKILL before the command finished, in its loss/);
  });

  it('console.log and process.stdout.write in the variant leave --json one JSON object, and our stderr empty', () => {
    const f = variant(
      "console.log('hello from the import'); process.stdout.write('{\"not\": \"ours\"');\nconsole.error('a warning');\n" +
        "export default { name: 'chatty', summary: 's', loss: ({ x, y, g }) => { console.log('in the loss'); process.stdout.write('raw'); console.error('err'); return g.ssim(x, y); } };\n",
    );
    for (const args of [value(f, '--json'), ['grad', EXAMPLE_X, EXAMPLE_Y, '--variant-file', f, '--out', join(tmp, 'chatty.npy'), '--json']]) {
      const r = cli(args);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout.endsWith('}\n')).toBe(true);
      expect(r.stdout.trimEnd().split('\n')).toHaveLength(1);
      const v = JSON.parse(r.stdout) as { value: number };
      expect(v.value).toBeGreaterThan(0.5);
      expect(v.value).toBeLessThan(1);
    }
  });

  it('an exit handler of the variant that loops does not hold the CLI once the command is done', () => {
    const f = variant(`process.on('exit', () => { for (;;) {} });\nexport default { name: 'stays', summary: 's', ${LOSS} };\n`);
    const r = cli(value(f, '--json'), 30);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).variant).toBe('stays');
  });

  it('a process the variant starts is stopped when the command ends', () => {
    const pidFile = join(tmp, 'bg.pid');
    const f = variant(
      `import { spawn } from 'node:child_process';\nimport { writeFileSync } from 'node:fs';\n` +
        `writeFileSync(${JSON.stringify(pidFile)}, String(spawn('sleep', ['300'], { stdio: 'ignore' }).pid));\n` +
        `export default { name: 'bg', summary: 's', ${LOSS} };\n`,
    );
    const r = cli(value(f));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(gone(Number(readFileSync(pidFile, 'utf8')))).toBe(true);
  });

  /** Starts the CLI on a variant whose loss loops after writing its process's pid; resolves once it loops. */
  async function looping(name: string) {
    const marker = join(tmp, `${name}.pid`);
    const f = variant(
      `import { writeFileSync } from 'node:fs';\nexport default { name: 'w', summary: 's', loss: () => { writeFileSync(${JSON.stringify(marker)}, String(process.pid)); for (;;) {} } };\n`,
    );
    const p = spawn(process.execPath, ['--import', 'tsx', RUN, ...value(f, '--timeout', '300')], { cwd: ROOT, stdio: 'ignore' });
    const ended = new Promise<NodeJS.Signals | null>((r) => p.on('exit', (_, signal) => r(signal)));
    const t0 = Date.now();
    while (!existsSync(marker) && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(marker)).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    return { p, ended, child: Number(readFileSync(marker, 'utf8')) };
  }
  /** A failing run must not leave a spinning child behind. */
  const stop = (pid: number): void => {
    try {
      // only our child (a pid may be reused once it is gone)
      if (!gone(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('variant-child')) process.kill(pid, 'SIGKILL');
    } catch {
      // gone, as it should be
    }
  };
  const within = <T,>(ms: number, p: Promise<T>) => Promise.race([p, new Promise<'hung'>((r) => setTimeout(() => r('hung'), ms))]);
  async function until(ms: number, ok: () => boolean): Promise<boolean> {
    const t0 = Date.now();
    while (!ok() && Date.now() - t0 < ms) await new Promise((r) => setTimeout(r, 100));
    return ok();
  }

  it('SIGTERM reaches the child: both end, the CLI by SIGTERM', async () => {
    const { p, ended, child } = await looping('term');
    expect(child).not.toBe(p.pid);
    try {
      p.kill('SIGTERM');
      expect(await within(20_000, ended)).toBe('SIGTERM');
      expect(await until(5000, () => gone(child))).toBe(true);
    } finally {
      stop(child);
    }
  });

  it('the CLI killed outright (SIGKILL): the child, busy in the loss, stops too', async () => {
    const { p, ended, child } = await looping('kill');
    try {
      p.kill('SIGKILL');
      expect(await within(20_000, ended)).toBe('SIGKILL');
      expect(await until(10_000, () => gone(child))).toBe(true);
    } finally {
      stop(child);
    }
  });
});

describe('a malformed declaration is exit 2, one line naming the file and the field', () => {
  const option = (o: string) => `export default { name: 'm', summary: 's', options: { gain: ${o} }, ${LOSS} };\n`;
  const CASES: ReadonlyArray<[string, string, RegExp, string[]?]> = [
    ['a default that is not a number', option("{ kind: 'number', default: 'abc', help: 'h' }"), /variant 'm': options\.gain\.default must be a finite number, got "abc"/],
    ['a numbers default that is not numbers', option("{ kind: 'numbers', default: [1, 'x'], help: 'h' }"), /options\.gain\.default must be a non-empty array of finite numbers/],
    ['a kind that is none of the three', option("{ kind: 'weird', help: 'h' }"), /options\.gain\.kind must be 'number', 'numbers' or 'field', got "weird"/],
    ['a check that is not a function', option("{ kind: 'number', default: 1, help: 'h', check: 'yes' }"), /options\.gain\.check must be a function/],
    ['options that are not an object', `export default { name: 'm', summary: 's', options: 7, ${LOSS} };\n`, /variant 'm': options must be an object of option declarations by key, got 7/],
    ['a validate that is not a function', `export default { name: 'm', summary: 's', validate: 3, ${LOSS} };\n`, /variant 'm': validate must be a function/],
    ['a doc that is not a list of blocks', `export default { name: 'm', summary: 's', doc: [{ p: 'ok' }, { para: 'no' }], ${LOSS} };\n`, /variant 'm': doc\[1\] must hold exactly one of p, h2, eq, document/],
    ['a Proxy whose trap throws', `export default new Proxy({ name: 'm', summary: 's', ${LOSS} }, { get(t, k) { if (k === 'options') throw new Error('no options'); return t[k]; } });\n`, /reading the declaration's options threw \(no options\)/],
    ['an option that is a Proxy whose trap throws', option("new Proxy({}, { get(t, k) { throw new RangeError('trap ' + String(k)); } })"), /reading the declaration's options\.gain\.flag threw \(RangeError: trap flag\)/],
    ['a loss that returns 42', "export default { name: 'm', summary: 's', loss: () => 42 };\n", /the loss of variant m returned 42, expected a scalar field node built with ctx\.g/],
    ['a loss that returns a look-alike node', "export default { name: 'm', summary: 's', loss: () => ({ kind: 'map', shape: [1, 1, 1, 1] }) };\n", /the loss of variant m returned an object that ctx\.g did not build, expected a scalar field node/],
    ['a loss that hands ctx.g a look-alike node', "export default { name: 'm', summary: 's', loss: ({ g }) => g.mean({ kind: 'input', shape: [1, 3, 48, 64], id: -1, label: 'x', name: 'x' }) };\n", /variant m: ctx\.g\.mean: its argument 1 is an object that ctx\.g did not build/],
    ['a map whose function returns no expression', "export default { name: 'm', summary: 's', loss: ({ x, g }) => g.mean(g.map(() => 42, { a: x })) };\n", /ctx\.g\.map: its function returned 42, expected a scalar expression built with ctx\.g\.e/],
    ['an option check that throws a TypeError', option("{ kind: 'number', default: 1, help: 'h', check: (v) => v.nope.deeper }"), /the options\.gain\.check of variant m threw \(TypeError: .*\)/, ['--gain', '2']],
  ];

  // the command as the child runs it, in this process (the declaration is data: nothing here loops or exits)
  it.each(CASES)('%s', async (_, body, what, more = []) => {
    const f = variant(body);
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCommand(value(f, ...more), { out: (s) => out.push(s), err: (s) => err.push(s) });
    expect(out).toEqual([]);
    expect(err).toHaveLength(1);
    expect(err[0]).not.toContain('\n');
    expect(err[0]!.startsWith(`ssim-grad value: --variant-file: '${f}'`)).toBe(true);
    expect(err[0]).toMatch(what);
    expect(code).toBe(2);
  });

  // and through the CLI, isolated, for two of them
  it.each([CASES[0]!, CASES[10]!])('through the CLI: %s', (_, body, what) => {
    const f = variant(body);
    expectOneLine(cli(value(f)), 'value', f, what);
  });

  it('a number option without a default that is not given names the option and its flag', async () => {
    const f = variant(
      "export default { name: 'gained', summary: 's', options: { gain: { kind: 'number', flag: 'my-gain', help: 'the factor on SSIM' } },\n" +
        '  loss: ({ x, y, g, values }) => g.affine(g.ssim(x, y), values.gain.valueOf()) };\n',
      '.ts',
    );
    const r = cli(value(f));
    expect(r.stdout).toBe('');
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe("ssim-grad value: gain (--my-gain): the gained variant needs it (the factor on SSIM); it has no default, give --my-gain N");
    // given, it runs (here, as the child runs it): the value is the factor times SSIM
    const at = async (gain: string): Promise<number> => {
      let text = '';
      expect(await runCommand(value(f, '--my-gain', gain), { out: (s) => (text += s), err: (s) => expect.fail(s) })).toBe(0);
      return Number(text);
    };
    const s = await at('1');
    expect(s).toBeGreaterThan(0.5);
    expect(await at('2')).toBeCloseTo(2 * s, 12);
  });
});

describe('which commands isolate', () => {
  it('every command that takes --variant-file (and only those) runs it in the child, and takes --timeout', () => {
    const taking = Object.entries(commands).filter(([, c]) => c.options['variant-file'] !== undefined).map(([n]) => n);
    expect([...VARIANT_FILE_COMMANDS].sort()).toEqual(taking.sort());
    for (const n of taking) expect(commands[n]!.options['timeout']).toBeDefined();
  });
});
