/**
 * A small reader of the `engines.node` ranges found in lockfiles (`>=18`, `>= 12`, `^20.19.0 || >=22.12.0`,
 * `4.x`, `*`): enough to ask whether a Node version satisfies one, without a semver dependency.
 * An unknown form throws, so a new kind of range cannot pass silently.
 */

type Version = [number, number, number];

function parse(v: string): { version: Version; given: number } {
  const parts = v.replace(/^v/, '').split('.');
  const nums = parts.filter((p) => /^\d+$/.test(p)).map(Number);
  if (nums.length === 0 || parts.some((p) => !/^(\d+|x|\*)$/.test(p))) throw new Error(`node-range: cannot read version '${v}'`);
  return { version: [nums[0] ?? 0, nums[1] ?? 0, nums[2] ?? 0], given: nums.length };
}

const cmp = (a: Version, b: Version): number => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

function satisfiesComparator(v: Version, comp: string): boolean {
  const m = /^(>=|<=|>|<|=|\^|~)?\s*(.+)$/.exec(comp);
  if (!m) throw new Error(`node-range: cannot read '${comp}'`);
  const [, op = '', rest = ''] = m;
  if (rest === '*' || rest === 'x') return true;
  const { version: r, given } = parse(rest);
  const c = cmp(v, r);
  switch (op) {
    case '>=': return c >= 0;
    case '>': return c > 0;
    case '<=': return c <= 0;
    case '<': return c < 0;
    case '^': return c >= 0 && (r[0] > 0 ? v[0] === r[0] : v[0] === 0 && v[1] === r[1]);
    case '~': return c >= 0 && v[0] === r[0] && (given < 2 || v[1] === r[1]);
    default: // '=' or a partial version such as 20 or 4.x: every version that starts so
      return v[0] === r[0] && (given < 2 || v[1] === r[1]) && (given < 3 || v[2] === r[2]);
  }
}

/** Whether Node `version` (e.g. '20.20.2') satisfies `range`. */
export function satisfiesNodeRange(version: string, range: string): boolean {
  const v = parse(version).version;
  return range.split('||').some((alt) => {
    const comps = alt.trim().replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1').split(/\s+/).filter((s) => s !== '');
    return comps.length === 0 || comps.every((c) => satisfiesComparator(v, c));
  });
}

/** The lowest version a range of the form `>=X` (our own `engines.node`) admits. */
export function nodeRangeMinimum(range: string): string {
  const m = /^>=\s*(\d+(?:\.\d+){0,2})$/.exec(range.trim());
  if (!m) throw new Error(`node-range: expected engines.node of the form '>=X', got '${range}'`);
  return parse(m[1]!).version.join('.');
}
