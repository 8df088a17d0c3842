/**
 * The page (dist/web/index.html, `ssim-grad serve`): two images dropped or picked (or the built-in
 * pair), a preset and a variant (a built-in, or a variant file as JavaScript); shows SSIM under every
 * preset, the SSIM map and both gradients as heatmaps, and, for a dropped candidate gradient (.npy),
 * `check`'s verdict, rounding floor, diagnosis and the heatmap of where it is wrong. Long work runs on
 * a web worker with its progress; a bad file shows the CLI's one-line message and the page goes on.
 * The library is this package's browser entry (../index.ts), bundled into the page's one script.
 */
/// <reference lib="dom" />
import * as lib from '../index.js';
import { InputError, shape4, type Tensor } from '../../field/index.js';
import type { LoadedTensor } from '../../io/npy.js';
import { PRESET_SUMMARY } from '../../model/options.js';
import { bySsimKernels } from '../../variants/registry.js';
import type { TaskOptions } from '../tasks.js';
import type { VariantSource } from '../variant-source.js';

declare const __ssimGradScriptUrl: string | undefined;
const here = new URL('.', typeof __ssimGradScriptUrl === 'string' ? __ssimGradScriptUrl : location.href);
lib.setWorkerUrl(new URL('worker.js', here));
lib.setLibraryUrl(new URL('ssim-grad.js', here));

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`page: no #${id}`);
  return e as T;
};

interface Image {
  readonly name: string;
  readonly tensor: LoadedTensor;
}

/** What the page holds, and what it last showed (tests and the console read it: window.ssimGradPage). */
const state: {
  x?: Image;
  y?: Image;
  variantFile?: VariantSource;
  candidate?: { name: string; bytes: Uint8Array };
  presets?: lib.PresetRow[];
  /** The maps' run: what ran, the value, both gradients and the options it ran with (tests compare them with Node's). */
  run?: { backend: string; fallback?: string; ssim: number; value: number; gradX: ArrayLike<number>; gradY: ArrayLike<number>; options: lib.VariantOptions };
  check?: lib.CheckReport;
  errors: string[];
  busy: number;
} = { errors: [], busy: 0 };
(globalThis as unknown as { ssimGradPage: unknown; ssimGrad: unknown }).ssimGradPage = state;
(globalThis as unknown as { ssimGrad: unknown }).ssimGrad = lib;

// ---- messages and progress ----

function showError(e: unknown): void {
  const message = e instanceof Error ? (e.name === 'InputError' || e.name === 'NonFiniteError' ? e.message : `${e.name}: ${e.message}`) : String(e);
  state.errors.push(message);
  const box = $('error');
  box.textContent = message;
  box.hidden = false;
}

function clearError(): void {
  $('error').hidden = true;
}

function progress(done: number, total: number, what: string): void {
  const bar = $<HTMLProgressElement>('progress');
  bar.hidden = false;
  bar.max = Math.max(1, total);
  bar.value = done;
  $('progress-text').textContent = `${what} (${done}/${total})`;
}

/** Runs one piece of work with the progress shown and its failure shown as a message (the page keeps working). */
async function busy(what: string, work: () => Promise<void>): Promise<boolean> {
  state.busy++;
  document.body.dataset['busy'] = String(state.busy);
  progress(0, 1, what);
  try {
    await work();
    return true;
  } catch (e) {
    showError(e);
    return false;
  } finally {
    state.busy--;
    document.body.dataset['busy'] = String(state.busy);
    if (state.busy === 0) {
      $('progress').hidden = true;
      $('progress-text').textContent = '';
    }
  }
}

// ---- reading files as the CLI reads them ----

async function readImage(name: string, bytes: Uint8Array): Promise<LoadedTensor> {
  const dot = name.lastIndexOf('.');
  const ext = dot < 0 ? '' : name.slice(dot).toLowerCase();
  if (ext === '.png') return lib.decodePng(bytes, name);
  if (ext === '.npy') return lib.parseNpy(bytes, name);
  throw new InputError(`${name}: unknown file type '${ext}', expected .npy or .png (the page reads these two; .json under the CLI)`);
}

/** The checks `value` makes of each of its files (src/cli/images.ts): finite values, a rank it reads. */
function checkImage(t: Image): void {
  const i = t.tensor.data.findIndex((v) => !Number.isFinite(v));
  if (i >= 0) throw new InputError(`${t.name}: value at flat index ${i} is ${t.tensor.data[i]}, expected a finite number`);
  shape4(t.tensor, t.name);
}

/** The check `value` makes of its two files together: one shape (the message names Y, as the CLI's does). */
function checkPair(x: Image, y: Image): void {
  if (x.tensor.shape.join() !== y.tensor.shape.join()) throw new InputError(`${y.name}: shape [${y.tensor.shape}] differs from ${x.name}'s shape [${x.tensor.shape}]`);
}

const bytesOf = async (f: File): Promise<Uint8Array> => new Uint8Array(await f.arrayBuffer());
const fromBase64 = (s: string): Uint8Array => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

// ---- options ----

function dataRangeGiven(): number | undefined {
  const text = $<HTMLInputElement>('data-range').value.trim();
  if (text === '') return undefined;
  const v = Number(text);
  if (!(Number.isFinite(v) && v > 0)) throw new InputError(`--data-range: got '${text}', expected a number > 0`);
  return v;
}

function taskOptions(preset?: lib.PresetName): TaskOptions {
  const variant = $<HTMLSelectElement>('variant').value;
  const dataRange = dataRangeGiven();
  const base: TaskOptions = { ...(preset ? { preset } : {}), ...(dataRange === undefined ? {} : { dataRange }) };
  if (variant === '(file)') {
    if (state.variantFile === undefined) throw new InputError('variant file: none picked; pick a .js or .mjs variant file, or choose a built-in variant');
    return { ...base, variantFile: state.variantFile };
  }
  return bySsimKernels(variant) ? base : { ...base, variant };
}

const uint8 = (): boolean => state.x?.tensor.dtype === 'uint8' && state.y?.tensor.dtype === 'uint8';

/** The chosen preset's options, the data range filled as the CLI fills it (uint8 images: 255), the variant loaded. */
async function chosenOptions(): Promise<lib.VariantOptions> {
  const preset = $<HTMLSelectElement>('preset').value as lib.PresetName;
  const o = taskOptions(preset);
  const dataRange = lib.presetDataRange(preset, o.dataRange, uint8());
  const { variantFile, ...rest } = o;
  const opts: lib.VariantOptions = { ...rest, ...(dataRange === undefined ? {} : { dataRange }) };
  return variantFile === undefined ? opts : { ...opts, variant: await lib.loadVariantSource(variantFile) };
}

// ---- drawing ----

function inferno(t: number): [number, number, number] {
  const P = [[0, 0, 4], [31, 12, 72], [85, 15, 109], [136, 34, 106], [186, 54, 85], [227, 89, 51], [249, 140, 10], [249, 201, 50], [252, 255, 164]];
  const s = Math.min(Math.max(t, 0), 1) * (P.length - 1);
  const i = Math.min(Math.floor(s), P.length - 2);
  const f = s - i;
  return [0, 1, 2].map((k) => Math.round(P[i]![k]! + f * (P[i + 1]![k]! - P[i]![k]!))) as [number, number, number];
}

/** Blue (negative) through white to red (positive), t in [-1, 1]. */
function diverging(t: number): [number, number, number] {
  const u = Math.min(Math.max(t, -1), 1);
  return u < 0 ? [Math.round(255 * (1 + u)), Math.round(255 * (1 + u * 0.6)), 255] : [255, Math.round(255 * (1 - u * 0.6)), Math.round(255 * (1 - u))];
}

/**
 * Tiles of a field N x C x H x W side by side (channels) and stacked (images), each pixel s x s,
 * on a grey ground; the first tile's place in canvas pixels is the canvas's data-tile ("x y w h").
 */
function drawField(canvas: HTMLCanvasElement, t: Tensor, colour: (v: number) => [number, number, number]): void {
  const [N, C, H, W] = shape4(t, 'field');
  const gap = 4;
  const s = Math.max(1, Math.min(6, Math.floor(300 / Math.max(1, C * W))), Math.min(6, Math.ceil(96 / Math.min(H, W))));
  const scale = Math.max(1, Math.min(s, Math.floor(1000 / (C * W + gap))));
  const width = C * W * scale + (C + 1) * gap, height = N * H * scale + (N + 1) * gap;
  canvas.width = width;
  canvas.height = height;
  canvas.dataset['tile'] = `${gap} ${gap} ${W * scale} ${H * scale}`;
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(width, height);
  img.data.fill(48);
  for (let p = 3; p < img.data.length; p += 4) img.data[p] = 255;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const x0 = gap + c * (W * scale + gap), y0 = gap + n * (H * scale + gap);
      for (let i = 0; i < H; i++) {
        for (let j = 0; j < W; j++) {
          const [r, g, b] = colour(t.data[((n * C + c) * H + i) * W + j]!);
          for (let u = 0; u < scale; u++) {
            for (let v = 0; v < scale; v++) {
              const o = 4 * ((y0 + i * scale + u) * width + x0 + j * scale + v);
              img.data[o] = r;
              img.data[o + 1] = g;
              img.data[o + 2] = b;
            }
          }
        }
      }
    }
  }
  ctx.putImageData(img, 0, 0);
}

function extent(d: ArrayLike<number>): { min: number; max: number; absMax: number } {
  let min = Infinity, max = -Infinity;
  for (let i = 0; i < d.length; i++) {
    min = Math.min(min, d[i]!);
    max = Math.max(max, d[i]!);
  }
  return { min, max, absMax: Math.max(Math.abs(min), Math.abs(max)) };
}

const short = (v: number): string => (v === 0 ? '0' : Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? v.toPrecision(4) : v.toExponential(2));

// ---- the derivation of the chosen configuration ----

const DERIVED_SSIM: Readonly<Record<string, string>> = {
  'pytorch-ssim': 'ssim-pytorch-ssim', 'pytorch-msssim': 'ssim-pytorch-msssim', skimage: 'ssim-skimage', tf: 'ssim-tf', matlab: 'ssim-matlab',
};

function derivationLink(preset: string, variant: string): void {
  const p = $('derivation');
  const file =
    bySsimKernels(variant) ? DERIVED_SSIM[preset]
    : variant === 'ms-ssim' ? (preset === 'tf' ? 'ms-ssim-tf' : preset === 'pytorch-msssim' ? 'ms-ssim-pytorch-msssim' : undefined)
    : ['dssim', '3dgs-loss', 'wang'].includes(variant) ? variant : undefined;
  const index = new URL('../../derivations/index.html', here).href;
  p.replaceChildren();
  const a = document.createElement('a');
  if (file !== undefined) {
    a.href = new URL(`../../derivations/${file}.html`, here).href;
    a.textContent = `The derivation of this gradient, line by line (${file}.html)`;
    a.id = 'derivation-link';
    p.append(a, ' (with the preset\'s default options; ', Object.assign(document.createElement('a'), { href: index, textContent: 'all derivations' }), ').');
  } else {
    a.href = index;
    a.textContent = 'The derivations';
    a.id = 'derivation-link';
    p.append(a, ` (none rendered ahead for this configuration: npx ssim-grad derive --preset ${preset}${bySsimKernels(variant) || variant === '(file)' ? '' : ` --variant ${variant}`} --format html writes it).`);
  }
}

// ---- the work ----

async function showPresets(): Promise<void> {
  if (state.x === undefined || state.y === undefined) return;
  const { x, y } = state;
  const { rows } = await lib.presetTable({ x: x.tensor, y: y.tensor, options: taskOptions(), uint8: uint8() }, progress);
  state.presets = rows;
  const chosen = $<HTMLSelectElement>('preset').value;
  const variant = $<HTMLSelectElement>('variant').value;
  $('variant-head').textContent = bySsimKernels(variant) ? 'value (= SSIM)' : variant === '(file)' ? `value (${state.variantFile?.name ?? 'file'})` : `value (${variant})`;
  const body = $('presets').querySelector('tbody')!;
  body.replaceChildren(
    ...rows.map((r) => {
      const tr = document.createElement('tr');
      tr.dataset['preset'] = r.preset;
      if (r.preset === chosen) tr.className = 'chosen';
      const cell = (text: string, value?: number): HTMLTableCellElement => {
        const td = document.createElement('td');
        td.textContent = text;
        if (value !== undefined) {
          td.className = 'num';
          td.dataset['value'] = String(value);
        }
        return td;
      };
      tr.append(cell(r.preset), cell(PRESET_SUMMARY[r.preset] ?? ''));
      if (r.error !== undefined) {
        // as the CLI: no value without the data range; the message says so
        const td = cell(r.error);
        td.colSpan = 3;
        td.className = 'refused';
        td.dataset['error'] = r.error;
        tr.append(td);
      } else tr.append(cell(String(r.dataRange)), cell(r.ssim.toFixed(10), r.ssim), cell(r.value.toFixed(10), r.value));
      return tr;
    }),
  );
  $('results').hidden = false;
}

async function showMaps(): Promise<void> {
  if (state.x === undefined || state.y === undefined) return;
  const x = state.x.tensor, y = state.y.tensor;
  // maps shown are this configuration's or none (where the preset needs L, the CLI's message instead)
  state.run = undefined;
  $('maps').hidden = true;
  const options = await chosenOptions();
  const variant = $<HTMLSelectElement>('variant').value;
  const backend = $<HTMLSelectElement>('backend').value as 'auto' | 'cpu' | 'webgpu';
  progress(0, 3, 'gradients');
  let gx: Tensor, gy: Tensor, value: number, ssimValue: number, ran: { backend: string; fallback?: string };
  if (bySsimKernels(variant)) {
    const r = await lib.ssimGradAuto(x, y, options, { backend });
    [gx, gy, value, ssimValue, ran] = [r.gradX, r.gradY, r.ssim, r.ssim, { backend: r.backend, ...(r.fallback ? { fallback: r.fallback } : {}) }];
  } else {
    // a variant's gradient is its field graph's reverse mode, in float64 on the CPU
    const r = lib.evaluateVariant(x, y, options);
    [gx, gy, value, ssimValue, ran] = [{ shape: x.shape, data: r.gradX }, { shape: x.shape, data: r.gradY }, r.value, r.ssim, { backend: 'cpu', fallback: 'a variant runs through its field graph on the CPU' }];
  }
  state.run = { ...ran, ssim: ssimValue, value, gradX: gx.data, gradY: gy.data, options };
  const ranText = ran.backend === 'webgpu' ? 'WebGPU (WGSL kernels, float32)' : ran.backend === 'workers' ? `CPU kernels on ${navigator.hardwareConcurrency} web workers (float64)` : 'CPU kernels on this page\'s thread (float64)';
  const el = $('ran');
  el.textContent = `Gradients computed on: ${ranText}${ran.fallback ? ` (${ran.fallback})` : ''}; value ${value}.`;
  el.dataset['backend'] = ran.backend;
  el.dataset['value'] = String(value);
  progress(1, 3, 'SSIM map');
  const map = lib.ssimMap(x, y, options);
  const m = extent(map.data);
  // a map constant to rounding (x = y: 1 +- a few ulps) is drawn constant, not its rounding noise stretched
  const flat = m.max - m.min <= 64 * Number.EPSILON * Math.max(1, m.absMax);
  drawField($<HTMLCanvasElement>('map-ssim'), map, (v) => inferno(flat ? 1 : (v - m.min) / (m.max - m.min)));
  $('cap-ssim').textContent = flat
    ? `SSIM map, constant ${short(m.max)} (to rounding), ${map.shape.join(' x ')}`
    : `SSIM map, ${short(m.min)} (dark) to ${short(m.max)} (light), ${map.shape.join(' x ')}`;
  progress(2, 3, 'heatmaps');
  const what = bySsimKernels(variant) ? 'ssim' : variant === '(file)' ? 'value' : variant;
  for (const [id, g, wrt] of [['gx', gx, 'x'], ['gy', gy, 'y']] as const) {
    const e = extent(g.data);
    drawField($<HTMLCanvasElement>(`map-${id}`), g, (v) => diverging(e.absMax > 0 ? v / e.absMax : 0));
    $(`cap-${id}`).textContent = `d ${what}/d${wrt}, blue -${short(e.absMax)} to red +${short(e.absMax)}`;
  }
  $('maps').hidden = false;
  $('chosen').textContent = `${$<HTMLSelectElement>('preset').value}, ${what}`;
  derivationLink($<HTMLSelectElement>('preset').value, variant);
}

async function showCheck(): Promise<void> {
  if (state.candidate === undefined || state.x === undefined || state.y === undefined) return;
  // a verdict shown is this configuration's or none (a refused one leaves no stale verdict)
  state.check = undefined;
  for (const id of ['verdict', 'heat', 'report-box']) $(id).hidden = true;
  const preset = $<HTMLSelectElement>('preset').value as lib.PresetName;
  const o = taskOptions(preset);
  const dataRange = lib.presetDataRange(preset, o.dataRange, uint8());
  const candidate = state.candidate;
  let r: lib.BrowserCheckResult;
  try {
    r = await lib.checkCandidateAsync(
      {
        x: state.x.tensor,
        y: state.y.tensor,
        candidate,
        options: { ...o, ...(dataRange === undefined ? {} : { dataRange }) },
        wrt: $<HTMLSelectElement>('wrt').value as 'x' | 'y',
        names: { x: state.x.name, y: state.y.name },
      },
      progress,
    );
  } catch (e) {
    // a refused file is let go (its message stays shown); the next drop replaces it
    if (e instanceof Error && e.message.startsWith(`${candidate.name}:`)) {
      state.candidate = undefined;
      $('name-cand').textContent = `${candidate.name}: refused`;
    }
    throw e;
  }
  state.check = r.report;
  const lines = r.text.split('\n');
  const from = (start: RegExp): string[] => {
    const i = lines.findIndex((l) => start.test(l));
    if (i < 0) return [];
    const j = lines.findIndex((l, k) => k > i && l.trim() === '');
    return lines.slice(i, j < 0 ? undefined : j);
  };
  const verdict = from(/^verdict:/);
  const line = $('verdict-line');
  line.textContent = verdict[0] ?? '';
  line.className = r.report.verdict;
  $('floor-line').replaceChildren(Object.assign(document.createElement('pre'), { textContent: verdict.slice(1).join('\n') }));
  $('diagnosis').replaceChildren(Object.assign(document.createElement('pre'), { textContent: from(/^diagnosis:/).join('\n') }));
  $('verdict').hidden = false;
  const c = $<HTMLCanvasElement>('map-err');
  c.width = r.heatmap.info.width;
  c.height = r.heatmap.info.height;
  const [, , H, W] = shape4(state.x.tensor, 'x');
  c.dataset['tile'] = `4 4 ${W * r.heatmap.info.scale} ${H * r.heatmap.info.scale}`; // heatmapImage's gap: 4
  c.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(r.heatmap.rgba), r.heatmap.info.width, r.heatmap.info.height), 0, 0);
  $('cap-err').textContent = `|candidate - exact| per channel, 0 (dark) to ${short(r.heatmap.info.max)} (light); dotted: the border band`;
  $('heat').hidden = false;
  $('report').textContent = r.text;
  $('report-box').hidden = false;
}

async function refresh(): Promise<void> {
  clearError();
  if (state.x === undefined || state.y === undefined) return;
  try {
    checkPair(state.x, state.y);
  } catch (e) {
    // both images stay taken: the message waits for the other one of the new size
    for (const id of ['results', 'verdict', 'heat', 'report-box']) $(id).hidden = true;
    showError(e);
    return;
  }
  // each step shows its own failure; a later one still runs (a bad candidate leaves the maps)
  await busy('SSIM under every preset', showPresets);
  await busy('gradients and maps', showMaps);
  await busy('checking the candidate', showCheck);
}

// ---- wiring ----

function fillSelects(): void {
  const preset = $<HTMLSelectElement>('preset');
  preset.replaceChildren(...lib.PRESETS.map((p) => new Option(p, p)));
  const variant = $<HTMLSelectElement>('variant');
  variant.replaceChildren(...lib.VARIANT_NAMES.map((v) => new Option(v, v)), new Option('a variant file...', '(file)'));
}

/**
 * Takes a new image into its slot (the old one there is let go) once the file itself reads as the
 * CLI reads it: a type it knows, finite values, rank 3 or 4. Its label changes only then. Whether
 * the two agree in shape is asked when both are there (refresh), so a pair of another size can be
 * picked one image after the other.
 */
async function setImage(which: 'x' | 'y', name: string, bytes: Uint8Array): Promise<void> {
  const tensor = await readImage(name, bytes);
  checkImage({ name, tensor });
  state[which] = { name, tensor };
  $(`name-${which}`).textContent = `${name}: ${tensor.shape.join(' x ')} (${tensor.dtype})`;
}

function onFile(input: HTMLInputElement, drop: HTMLElement, take: (f: File) => Promise<void>): void {
  const run = (f: File | undefined): void => {
    if (f === undefined) return;
    clearError();
    void busy(`reading ${f.name}`, () => take(f)).then((ok) => (ok ? refresh() : undefined));
  };
  input.addEventListener('change', () => run(input.files?.[0]));
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    run(e.dataTransfer?.files[0]);
  });
}

fillSelects();
for (const which of ['x', 'y'] as const) onFile($<HTMLInputElement>(`file-${which}`), $(`drop-${which}`), async (f) => setImage(which, f.name, await bytesOf(f)));
onFile($<HTMLInputElement>('file-cand'), $('drop-cand'), async (f) => {
  $('name-cand').textContent = f.name;
  state.candidate = { name: f.name, bytes: await bytesOf(f) };
});
onFile($<HTMLInputElement>('variant-file'), $('variant-file-label'), async (f) => {
  const v: VariantSource = { name: f.name, source: await f.text(), libraryUrl: new URL('ssim-grad.js', here).href };
  await lib.loadVariantSource(v); // refused here, with its message, before anything runs with it
  state.variantFile = v;
});
$('use-pair').addEventListener('click', () => {
  clearError();
  const pair = (globalThis as unknown as { SSIM_GRAD_PAIR?: { x: string; y: string } }).SSIM_GRAD_PAIR;
  void busy('the built-in pair', async () => {
    if (pair === undefined) throw new Error('pair.js did not load');
    await setImage('x', 'examples/pair/x.png', fromBase64(pair.x));
    await setImage('y', 'examples/pair/y.png', fromBase64(pair.y));
  }).then((ok) => (ok ? refresh() : undefined));
});
for (const id of ['preset', 'variant', 'backend', 'wrt', 'data-range']) {
  $(id).addEventListener('change', () => {
    $('variant-file-label').hidden = $<HTMLSelectElement>('variant').value !== '(file)';
    void refresh();
  });
}
document.body.dataset['ready'] = '1';
