// The entry of a --variant-file command's child process when ssim-grad runs from its TypeScript
// sources (tests, scripts: src/cli/isolate.ts chooses): registers tsx's loader, then loads the
// child's TypeScript entry named in argv. Plain JavaScript, since nothing can load TypeScript
// before tsx is registered. From dist the child runs variant-child.js directly.
import { register } from 'tsx/esm/api';
import { pathToFileURL } from 'node:url';

register();
await import(pathToFileURL(process.argv[2]).href);
