/**
 * The library's face is deliberate: src/index.ts exports exactly the names the README's "The
 * library" section lists (between the api markers), each with TSDoc (on the export or where it is
 * declared), and package.json's entry points at the build of that module.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const INDEX = join(ROOT, 'src', 'index.ts');

/** The names the README's library section lists: the first backticked word of each table row. */
function readmeNames(readme: string): string[] {
  const a = readme.indexOf('<!-- api:start -->'), b = readme.indexOf('<!-- api:end -->');
  if (a < 0 || b < a) throw new Error('README: no <!-- api:start --> ... <!-- api:end --> section');
  return readme
    .slice(a, b)
    .split('\n')
    .map((l) => /^\| `([A-Za-z_$][\w$]*)` \|/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined);
}

/** The face's exports, and the names among them with no TSDoc at the export nor at the declaration. */
function exportsOf(file: string): { names: string[]; undocumented: string[] } {
  const program = ts.createProgram([file], { noEmit: true, strict: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, skipLibCheck: true });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file)!;
  const symbols = checker.getExportsOfModule(checker.getSymbolAtLocation(source)!);
  const documented = (s: ts.Symbol): boolean => {
    if (s.getDocumentationComment(checker).length > 0) return true;
    // the export specifier's own comment (`/** ... */ export { a } from ...` or before the name)
    return (s.declarations ?? []).some((d) => ts.getJSDocCommentsAndTags(d).length > 0 || /\/\*\*[\s\S]*?\*\/\s*$/.test(d.getFullText().slice(0, d.getFullText().length - d.getText().length)));
  };
  const undocumented: string[] = [];
  for (const s of symbols) {
    const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
    if (!documented(s) && !documented(target)) undocumented.push(s.getName());
  }
  return { names: symbols.map((s) => s.getName()).sort(), undocumented };
}

describe('the library face', () => {
  const face = exportsOf(INDEX);
  const listed = readmeNames(readFileSync(join(ROOT, 'README.md'), 'utf8'));

  it('the README lists every export of src/index.ts and nothing else, each once', () => {
    expect(new Set(listed).size).toBe(listed.length);
    expect([...listed].sort()).toEqual(face.names);
    expect(face.names.length).toBeGreaterThan(50);
  });

  it('every export has TSDoc', () => {
    expect(face.undocumented).toEqual([]);
  });

  it("package.json's entry is the build of src/index.ts", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { main: string; types?: string; exports?: Record<string, unknown> };
    expect(pkg.main).toBe('./dist/index.js');
    const dot = pkg.exports?.['.'];
    const targets = typeof dot === 'string' ? [dot] : dot === undefined ? [] : Object.values(dot as Record<string, string>);
    for (const t of targets) expect(t).toMatch(/^\.\/dist\/index\.(js|d\.ts)$/);
  });

  it('the checks fail where they should: an undocumented export is found, a listed name that is not exported differs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssim-grad-api-'));
    const file = join(dir, 'face.ts');
    writeFileSync(file, 'export const bare = 1;\n/** Documented. */\nexport const told = 2;\n');
    const f = exportsOf(file);
    expect(f.names).toEqual(['bare', 'told']);
    expect(f.undocumented).toEqual(['bare']);
    const readme = '<!-- api:start -->\n| `ssim` | x |\n| `notExported` | y |\n<!-- api:end -->';
    expect(readmeNames(readme)).toEqual(['ssim', 'notExported']);
    expect([...readmeNames(readme)].sort()).not.toEqual(face.names);
  });
});
