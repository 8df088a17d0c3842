/**
 * The layer table in the README ("Where things live") is the tree's order: one row a folder, what
 * it may import, whether it may import Node's built-ins. This test reads every import in src/
 * (static, type-only, re-exports and dynamic `import()`, by TypeScript's own pre-processor) and
 * fails on an edge the table does not allow, on a file no row owns, on a Node import where the
 * row says none, and on any cycle between files.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const SRC = join(ROOT, 'src');

/** One row of the table: the units it owns (`expr`, `cli.ts`), the units it may import, its Node rule. */
export interface LayerRow {
  readonly units: readonly string[];
  readonly imports: readonly string[];
  /** 'none', 'any', or the files (relative to src/) that may import Node's built-ins. */
  readonly node: 'none' | 'any' | readonly string[];
}

const unitNames = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!.replace(/^src\//, '').replace(/\/$/, ''));

/** The rows of the README's layer table (the lines between its markers). */
export function readLayerTable(readme: string): LayerRow[] {
  const start = readme.indexOf('<!-- layers:start -->');
  const end = readme.indexOf('<!-- layers:end -->');
  if (start < 0 || end < start) throw new Error('README: no layer table between <!-- layers:start --> and <!-- layers:end -->');
  const rows: LayerRow[] = [];
  for (const line of readme.slice(start, end).split('\n')) {
    if (!line.startsWith('| `src/')) continue;
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    if (cells.length !== 4) throw new Error(`README layer table: a row needs 4 cells: ${line}`);
    const nodeCell = cells[3]!;
    const node = nodeCell === 'no' ? 'none' : nodeCell === 'yes' ? 'any' : unitNames(nodeCell);
    rows.push({ units: unitNames(cells[0]!), imports: cells[2] === '—' ? [] : unitNames(cells[2]!), node });
  }
  return rows;
}

/** The unit a file under src/ belongs to: its top folder, or the file itself at the top. */
export const unitOf = (file: string): string => (file.includes('/') ? file.slice(0, file.indexOf('/')) : file);

export interface ImportEdge {
  readonly from: string;
  /** A file under src/ (relative), or a bare module name (`node:fs`, `mathjs`). */
  readonly to: string;
  /** Whether `to` is a file under src/. */
  readonly local: boolean;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(ts|mts|mjs|js)$/.test(e.name)) out.push(relative(SRC, p));
  }
  return out.sort();
}

/** Every import of every file under src/, resolved to the file it names. */
export function importsOf(files: readonly string[]): ImportEdge[] {
  const known = new Set(files);
  const edges: ImportEdge[] = [];
  for (const f of files) {
    const info = ts.preProcessFile(readFileSync(join(SRC, f), 'utf8'), true, true);
    for (const { fileName } of info.importedFiles) {
      if (!fileName.startsWith('.')) {
        edges.push({ from: f, to: fileName, local: false });
        continue;
      }
      const target = normalize(join(dirname(f), fileName));
      const found = [target, target.replace(/\.js$/, '.ts'), target.replace(/\.mjs$/, '.mts')].find((c) => known.has(c));
      if (found === undefined) throw new Error(`${f}: import '${fileName}' names no file under src/`);
      edges.push({ from: f, to: found, local: true });
    }
  }
  return edges;
}

const isNode = (spec: string): boolean => spec.startsWith('node:');

/** The edges the table does not allow, one line each. */
export function violations(rows: readonly LayerRow[], files: readonly string[], edges: readonly ImportEdge[]): string[] {
  const rowOf = new Map<string, LayerRow>();
  for (const r of rows) for (const u of r.units) rowOf.set(u, r);
  const out: string[] = [];
  for (const f of files) if (!rowOf.has(unitOf(f))) out.push(`src/${f}: no row of the layer table owns ${unitOf(f)}`);
  for (const e of edges) {
    const row = rowOf.get(unitOf(e.from));
    if (row === undefined) continue;
    if (isNode(e.to)) {
      const ok = row.node === 'any' || (row.node !== 'none' && row.node.includes(e.from));
      if (!ok) out.push(`src/${e.from} imports ${e.to}: its row allows no Node built-ins here`);
      continue;
    }
    if (!e.local) continue; // a package (mathjs, katex, ...)
    const to = unitOf(e.to);
    if (row.units.includes(to) || row.imports.includes(to)) continue;
    out.push(`src/${e.from} imports src/${e.to}: ${unitOf(e.from)} may import ${row.imports.join(', ') || 'nothing'}`);
  }
  return out;
}

/** Cycles between files (strongly connected components of more than one file, or a file importing itself). */
export function cycles(files: readonly string[], edges: readonly ImportEdge[]): string[][] {
  const adj = new Map<string, string[]>(files.map((f) => [f, []]));
  for (const e of edges) if (e.local) adj.get(e.from)?.push(e.to);
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    on.add(v);
    for (const w of adj.get(v)!) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1 || adj.get(v)!.includes(v)) found.push(c.sort());
    }
  };
  for (const f of files) if (!index.has(f)) visit(f);
  return found;
}

describe('the layer table (README "Where things live")', () => {
  const rows = readLayerTable(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  const files = sourceFiles(SRC);
  const edges = importsOf(files);

  it('has a row for every unit under src/, each unit in one row, and names only units that exist', () => {
    const units = rows.flatMap((r) => r.units);
    expect(new Set(units).size).toBe(units.length);
    // a folder with no TypeScript (src/cpp: hand-written C++) is a unit too, and needs its row
    const folders = readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    const present = new Set([...files.map(unitOf), ...folders]);
    for (const r of rows) for (const u of [...r.units, ...r.imports]) expect(present.has(u), `the table names ${u}, which src/ lacks`).toBe(true);
    for (const f of folders) expect(units, `src/${f} has no row in the layer table`).toContain(f);
  });

  it('allows every import in src/ (no upward edge, no Node built-in outside the rows that may)', () => {
    expect(violations(rows, files, edges)).toEqual([]);
  });

  it('leaves no cycle between files', () => {
    expect(cycles(files, edges)).toEqual([]);
  });

  it('is a partial order: no two rows may import each other, directly or through others', () => {
    const reach = (from: LayerRow, seen = new Set<LayerRow>()): Set<LayerRow> => {
      for (const u of from.imports) {
        const r = rows.find((x) => x.units.includes(u))!;
        if (!seen.has(r)) {
          seen.add(r);
          reach(r, seen);
        }
      }
      return seen;
    };
    for (const r of rows) expect(reach(r).has(r), `${r.units.join(', ')} reaches itself`).toBe(false);
  });

  it('reads the imports the test relies on: type-only, re-exports, dynamic import()', () => {
    const of = (f: string): string[] => edges.filter((e) => e.from === f).map((e) => e.to);
    // cli.ts loads the derivation builder lazily; index.ts re-exports; the CLI's check imports a type of the checker
    expect(of('cli.ts')).toContain('derive/build.ts');
    expect(of('index.ts').length).toBeGreaterThan(3);
  });

  it('fails on an upward edge, a Node import in the core, an unowned folder and a cycle', () => {
    const low = rows.find((r) => r.units.includes('model'))!;
    const high = rows.find((r) => r.units.includes('check'))!;
    expect(low.imports).not.toContain('check');
    const f = files.find((x) => unitOf(x) === 'model')!;
    const g = files.find((x) => unitOf(x) === 'check')!;
    expect(violations(rows, [f, g], [{ from: f, to: g, local: true }])).toHaveLength(1);
    expect(violations(rows, [f], [{ from: f, to: 'node:fs', local: false }])).toHaveLength(1);
    expect(violations(rows, ['nowhere/x.ts'], [])).toHaveLength(1);
    expect(cycles([f, g], [{ from: f, to: g, local: true }, { from: g, to: f, local: true }])).toHaveLength(1);
    expect(violations(rows, [g, f], [{ from: g, to: f, local: true }])).toEqual([]);
  });
});
