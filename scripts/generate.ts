/**
 * `npm run generate`: writes the TypeScript kernels under src/generated/ from the SSIM graph.
 * With a folder argument, writes there instead (the staleness test regenerates into a temporary
 * folder and compares). Output is deterministic.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { generatedFiles } from '../src/emit/generate.js';

const dir = process.argv[2] ?? join(import.meta.dirname, '..', 'src', 'generated');
mkdirSync(dir, { recursive: true });
for (const [name, text] of generatedFiles()) {
  mkdirSync(dirname(join(dir, name)), { recursive: true }); // cpp/ is a subfolder
  writeFileSync(join(dir, name), text);
}
console.log(`wrote ${generatedFiles().size} files to ${dir}`);
