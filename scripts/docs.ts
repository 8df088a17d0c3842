/**
 * `npm run docs`: writes the derivation documents (derivations/*.md, *.html, index.html and the
 * KaTeX assets). With a folder argument, writes there instead (the staleness test does).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { derivationFiles } from '../src/derive/files.js';

const dir = process.argv[2] ?? join(import.meta.dirname, '..', 'derivations');
const files = derivationFiles();
for (const [name, content] of files) {
  mkdirSync(dirname(join(dir, name)), { recursive: true });
  writeFileSync(join(dir, name), content);
}
console.log(`wrote ${files.size} files to ${dir}`);
