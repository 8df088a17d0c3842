/**
 * Every boundary rule has one home, src/field/boundary.ts: outside src/field no statement names
 * two rules (a list, a table keyed by rule, a switch over rules, `b === 'mirror' || b === ...`),
 * and no type is keyed by Boundary. Naming one rule stays allowed: a preset's padding, and the
 * geometry of 'valid' (the one rule under which the map shrinks). Generated files are the
 * emitters' output, and they read BOUNDARIES.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { BOUNDARIES } from '../../src/field/index.js';

const SRC = join(import.meta.dirname, '..', '..', 'src');
const OWN = ['field', 'generated'].map((d) => join(SRC, d));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return OWN.includes(p) ? [] : sources(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

/** Statements (innermost) of a file that name two or more rules, and types keyed by Boundary, as "file:line: text". */
export function rulesNamedTogether(file: string, text: string, names: readonly string[]): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const named = new Map<ts.Node, Set<string>>();
  const found: string[] = [];
  const where = (n: ts.Node): string => `${relative(SRC, file)}:${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1}: ${n.getText(sf).slice(0, 100)}`;
  const statementOf = (n: ts.Node): ts.Node => {
    let s = n.parent;
    while (!ts.isSourceFile(s) && !(ts.isStatement(s) || ts.isClassElement(s) || ts.isTypeElement(s))) s = s.parent;
    return s;
  };
  const visit = (n: ts.Node): void => {
    // a rule's name as a whole string ('mirror') or as a property name (mirror: ...)
    const name = ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n) ? n.text : ts.isIdentifier(n) && ts.isPropertyAssignment(n.parent) && n.parent.name === n ? n.text : null;
    if (name !== null && names.includes(name)) {
      const s = statementOf(n);
      named.set(s, (named.get(s) ?? new Set()).add(name));
    }
    if (ts.isTypeReferenceNode(n) && n.getText(sf).replace(/\s/g, '').match(/^(Readonly<)?Record<(Boundary|SsimConfig\['padding'\])/)) found.push(where(n));
    ts.forEachChild(n, visit);
  };
  visit(sf);
  for (const [s, set] of named) if (set.size > 1) found.push(`${where(s)} (names ${[...set].join(', ')})`);
  return found;
}

describe('one home per boundary rule', () => {
  const files = sources(SRC);

  it('reads the tree (the scan sees the files that use the rules)', () => {
    expect(files.map((f) => relative(SRC, f))).toEqual(expect.arrayContaining(['emit/cpp.ts', 'cli/args.ts', 'derive/build.ts', 'mistakes/ssim.ts']));
  });

  it('outside src/field, no statement names two boundary rules and no type is keyed by Boundary', () => {
    expect(files.flatMap((f) => rulesNamedTogether(f, readFileSync(f, 'utf8'), BOUNDARIES))).toEqual([]);
  });

  it('the scan finds what it looks for (a list, a table, a switch, a comparison chain, a Record type)', () => {
    const probe = [
      "const a = ['same', 'mirror'];",
      "const t = { reflect: 'x', replicate: 'y' };",
      "function f(b: string) { switch (b) { case 'same': return 1; case 'valid': return 2; } return 0; }",
      "const g = (b: string) => b === 'mirror' || b === 'replicate';",
      'let r: Record<Boundary, string>;',
      "const ok = { padding: 'reflect' }; const alsoOk = (b: string) => b === 'valid';",
    ].join('\n');
    expect(rulesNamedTogether(join(SRC, 'probe.ts'), probe, BOUNDARIES).length).toBe(5);
  });
});
