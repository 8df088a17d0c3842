/**
 * Writes examples/variants/mask.png, a gray 48 x 64 mask for the built-in pair (examples/pair):
 * 0 on the left edge fading to 1 across columns 8..32, and 0 on a rectangle (rows 30..43,
 * columns 40..59), as a region left out of a masked loss. Run: npx tsx examples/variants/make-mask.ts
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';

const [H, W] = [48, 64];
const png = new PNG({ width: W, height: H });
for (let i = 0; i < H; i++) {
  for (let j = 0; j < W; j++) {
    const hole = i >= 30 && i < 44 && j >= 40 && j < 60;
    const m = hole ? 0 : Math.min(1, Math.max(0, (j - 8) / 24));
    png.data.set([Math.round(255 * m), Math.round(255 * m), Math.round(255 * m), 255], 4 * (i * W + j));
  }
}
writeFileSync(join(import.meta.dirname, 'mask.png'), PNG.sync.write(png, { colorType: 0 }));
