/**
 * Writes the built-in example pair examples/pair/{x,y}.png: a 48 x 64 RGB scene of smooth
 * gradients, disks and stripes (x) and a distorted copy (y: blurred, shifted brightness,
 * deterministic noise). Run: npx tsx scripts/make-example-pair.ts
 */
import { writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';

const H = 48;
const W = 64;
let state = 12345;
const rand = (): number => {
  state = (state * 1103515245 + 12345) >>> 0; // a fixed LCG: the example must be byte-identical
  return state / 2 ** 32;
};

function scene(i: number, j: number, c: number): number {
  const g = (j / (W - 1)) * (0.6 + 0.2 * c) + (i / (H - 1)) * 0.3;
  const disk = (i - 20) ** 2 + (j - 22) ** 2 < 120 ? 0.35 * (c === 0 ? 1 : 0.4) : 0;
  const stripes = j > 40 && Math.floor(i / 4) % 2 === 0 ? 0.25 : 0;
  return Math.min(1, g * 0.7 + disk + stripes);
}

function write(path: string, value: (i: number, j: number, c: number) => number): void {
  const png = new PNG({ width: W, height: H });
  for (let i = 0; i < H; i++) {
    for (let j = 0; j < W; j++) {
      for (let c = 0; c < 3; c++) png.data[4 * (i * W + j) + c] = Math.round(255 * Math.min(1, Math.max(0, value(i, j, c))));
      png.data[4 * (i * W + j) + 3] = 255;
    }
  }
  writeFileSync(path, PNG.sync.write(png, { colorType: 2 }));
}

write('examples/pair/x.png', scene);
write('examples/pair/y.png', (i, j, c) => {
  let s = 0;
  for (let di = -1; di <= 1; di++) for (let dj = -1; dj <= 1; dj++) s += scene(Math.min(H - 1, Math.max(0, i + di)), Math.min(W - 1, Math.max(0, j + dj)), c);
  return 0.9 * (s / 9) + 0.05 + 0.08 * (rand() - 0.5);
});
