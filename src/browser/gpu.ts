/**
 * SSIM and its gradients on WebGPU: the GPU pass programs of the SSIM family (src/emit/gpu-program.ts,
 * the 'recompute' schedule: the forward writes the value, the backward recomputes the moments and
 * writes d/dx and d/dy) printed to WGSL (src/kernel/print-wgsl.ts) and run by the WebGPU runner
 * (src/kernel/webgpu.ts), in float32. The kernel parameters are the CPU kernels' (planKernel), so
 * presets, windows, boundary rules, crops and MATLAB's downsampling (on the CPU before, its transpose
 * after) are the same. `ssimAuto` and `ssimGradAuto` (index.ts) run here where the browser has an
 * adapter and say so.
 */
import type { Tensor } from '../field/index.js';
import { gpuArguments, gpuPrograms } from '../emit/gpu-program.js';
import { printWgsl, type PrintedWgsl } from '../kernel/print-wgsl.js';
import { requestWgslDevice, runWgslProgram } from '../kernel/webgpu.js';
import type { Gpu, GpuDevice } from '../kernel/webgpu-api.js';
import type { Boundary } from '../field/axis.js';
import { planKernel, storage, toInputGrid } from '../runtime/fast.js';
import { requireFinite } from '../model/finite.js';
import type { SsimOptions } from '../model/options.js';

let device: Promise<GpuDevice> | undefined;

/** The page's WebGPU device, requested once; rejects where there is none (the message says why). */
export function webgpuDevice(): Promise<GpuDevice> {
  device ??= requestWgslDevice((globalThis as { navigator?: { gpu?: Gpu } }).navigator?.gpu).catch((e: unknown) => {
    device = undefined;
    throw e;
  });
  return device;
}

/** Whether this browser exposes WebGPU at all (navigator.gpu); an adapter may still be missing. */
export function hasWebgpu(): boolean {
  return (globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu !== undefined;
}

const printed = new Map<Boundary, { forward: PrintedWgsl; backward: PrintedWgsl }>();

/** The boundary rule's two programs, printed once. */
function programsFor(b: Boundary): { forward: PrintedWgsl; backward: PrintedWgsl } {
  let p = printed.get(b);
  if (p === undefined) {
    const g = gpuPrograms('ssim', { boundary: b, gradY: true, schedule: { partials: 'recompute' } });
    p = { forward: printWgsl(g.forward, g.funcs), backward: printWgsl(g.backward, g.funcs) };
    printed.set(b, p);
  }
  return p;
}

/** The value (and with `grad`, both gradients) of SSIM on the GPU, float32 throughout. */
export async function ssimOnGpu(x: Tensor, y: Tensor, options: SsimOptions, grad: boolean): Promise<{ ssim: number; gradX: Tensor | null; gradY: Tensor | null }> {
  const plan = planKernel(x, y, options);
  const dev = await webgpuDevice();
  const xs = storage(x, plan, 'float32', 'x');
  const ys = storage(y, plan, 'float32', 'y');
  const args = { ...gpuArguments('ssim', plan.params), x: xs, y: ys };
  const { forward, backward } = programsFor(plan.config.padding);
  const [fw, bw] = await Promise.all([runWgslProgram(dev, forward, args), grad ? runWgslProgram(dev, backward, args) : Promise.resolve(null)]);
  const value = fw['value']![0]!;
  if (bw === null) return { ssim: requireFinite(value, plan.config, x, y), gradX: null, gradY: null };
  const [gx, gy] = toInputGrid(plan, 'float32', bw['gradX'] as Float32Array, bw['gradY'] as Float32Array);
  const shape = [...x.shape];
  requireFinite(value, plan.config, x, y, [['d ssim/dx', gx], ['d ssim/dy', gy]]);
  return { ssim: value, gradX: { shape, data: gx }, gradY: { shape, data: gy! } };
}
