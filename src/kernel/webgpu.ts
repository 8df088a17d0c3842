/**
 * Runs a printed WGSL program (print-wgsl.ts) on a WebGPU device, in a page: creates its buffers,
 * writes the inputs and the scalars, compiles the module and one pipeline per pass (cached per
 * device and module), dispatches the passes in order in one command encoder, and reads back the
 * outputs (and, when asked, the scratch buffers). No Node imports: it is bundled into pages.
 * Sizes and grids are the program's expressions over the scalars, evaluated by the interpreter.
 */
import { interpretKernel } from './interpret.js';
import type { Expr } from './ir.js';
import type { PrintedWgsl, WgslLayout } from './print-wgsl.js';
import { workgroupCounts } from './print-wgsl.js';
import type { Gpu, GpuBuffer, GpuComputePipeline, GpuDevice } from './webgpu-api.js';

// GPUBufferUsage and GPUMapMode, by value (the spec's constants), so nothing here needs the DOM's globals
const MAP_READ = 0x0001, COPY_SRC = 0x0004, COPY_DST = 0x0008, UNIFORM = 0x0040, STORAGE = 0x0080;
const MAP_MODE_READ = 0x0001;

/** What a run takes: each scalar by name, each input buffer (and optionally an output's initial contents) by name. */
export type WgslArgs = Readonly<Record<string, number | boolean | ArrayLike<number>>>;

/** What a run returns: each output buffer (and each scratch buffer, when asked) by name. */
export type WgslResult = Record<string, Float32Array | Int32Array>;

/** A device with the adapter's own storage-buffer limits (a pass may bind more than the default 8 buffers). */
export async function requestWgslDevice(gpu: Gpu | undefined): Promise<GpuDevice> {
  if (gpu === undefined) throw new Error('WebGPU: navigator.gpu is missing (not a secure context, or the browser has no WebGPU)');
  const adapter = await gpu.requestAdapter();
  if (adapter === null) throw new Error('WebGPU: no adapter (chromium needs --enable-unsafe-webgpu where WebGPU is not enabled by default)');
  const { maxStorageBuffersPerShaderStage, maxStorageBufferBindingSize, maxBufferSize } = adapter.limits;
  return adapter.requestDevice({ requiredLimits: { maxStorageBuffersPerShaderStage, maxStorageBufferBindingSize, maxBufferSize } });
}

/** A compile error with the module's own lines, numbered, beside each message. */
export class WgslCompileError extends Error {
  constructor(
    program: string,
    readonly messages: ReadonlyArray<{ readonly message: string; readonly line: number; readonly column: number }>,
    code: string,
  ) {
    const lines = code.split('\n');
    super(`WGSL program ${program} does not compile:\n` + messages.map((m) => `  ${m.line}:${m.column}: ${m.message}\n    > ${lines[m.line - 1]?.trim() ?? ''}`).join('\n'));
    this.name = 'WgslCompileError';
  }
}

interface Compiled {
  readonly pipelines: readonly GpuComputePipeline[];
}

const cache = new WeakMap<GpuDevice, Map<string, Promise<Compiled>>>();

async function compile(device: GpuDevice, printed: PrintedWgsl): Promise<Compiled> {
  const { code, layout } = printed;
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ label: layout.program, code });
  const info = await module.getCompilationInfo();
  const moduleError = await device.popErrorScope();
  const errors = info.messages.filter((m) => m.type === 'error').map((m) => ({ message: m.message, line: m.lineNum, column: m.linePos }));
  if (errors.length > 0) throw new WgslCompileError(layout.program, errors, code);
  if (moduleError !== null) throw new Error(`WGSL program ${layout.program}: ${moduleError.message}`);
  const pipelines = await Promise.all(
    layout.passes.map(async (p) => {
      const buffers = p.bindings.filter((b) => b !== layout.uniform.binding).length;
      if (buffers > device.limits.maxStorageBuffersPerShaderStage)
        throw new Error(`WGSL pass ${p.name} binds ${buffers} storage buffers; the device allows ${device.limits.maxStorageBuffersPerShaderStage} (requestWgslDevice asks for the adapter's limit)`);
      try {
        return await device.createComputePipelineAsync({ label: `${layout.program}.${p.name}`, layout: 'auto', compute: { module, entryPoint: p.entryPoint } });
      } catch (e) {
        throw new Error(`WGSL pass ${p.name}: no pipeline: ${(e as Error).message}`);
      }
    }),
  );
  return { pipelines };
}

/** The compiled pipelines of a printed program on a device (compiled once). */
function pipelinesOf(device: GpuDevice, printed: PrintedWgsl): Promise<Compiled> {
  let perDevice = cache.get(device);
  if (perDevice === undefined) cache.set(device, (perDevice = new Map()));
  let compiled = perDevice.get(printed.code);
  if (compiled === undefined) {
    compiled = compile(device, printed);
    perDevice.set(printed.code, compiled);
    // a failed compile is not cached: the next call reports it again
    compiled.catch(() => perDevice.delete(printed.code));
  }
  return compiled;
}

/**
 * Compiles a printed program's module and pipelines on `device` ahead of its first run (runs
 * compile on demand; a page that will run many programs can compile them all at once, which lets
 * the browser compile in parallel). Throws WgslCompileError where the module does not compile.
 */
export async function prepareWgslProgram(device: GpuDevice, printed: PrintedWgsl): Promise<void> {
  await pipelinesOf(device, printed);
}

/** An integer expression over the scalars (a size, an extent), by the interpreter. */
function evaluator(printed: PrintedWgsl, scalars: Readonly<Record<string, number>>): (e: Expr) => number {
  const params = printed.layout.uniform.members.map((m) => ({ k: 'scalar' as const, name: m.name, type: m.type }));
  return (e) => {
    const v = interpretKernel({ name: 'host', doc: '', params, returns: 'i32', body: [{ k: 'return', value: e }] }, printed.funcs)(scalars);
    if (v === undefined || !Number.isInteger(v)) throw new Error(`WGSL program ${printed.layout.program}: a size is not an integer (${v})`);
    return v;
  };
}

/**
 * Runs `printed` on `device`: `args` holds every scalar and every input buffer by name (float
 * arrays are rounded to float32); an output given in `args` starts with its contents, otherwise
 * with zeros. Returns the outputs (and the scratch buffers with `{ scratch: true }`) by name.
 */
export async function runWgslProgram(device: GpuDevice, printed: PrintedWgsl, args: WgslArgs, options: { readonly scratch?: boolean } = {}): Promise<WgslResult> {
  const { layout } = printed;
  const where = `WGSL program ${layout.program}`;
  const scalars: Record<string, number> = {};
  for (const m of layout.uniform.members) {
    const v = args[m.name];
    if (typeof v !== 'number' && typeof v !== 'boolean') throw new Error(`${where}: scalar '${m.name}' is not given`);
    scalars[m.name] = +v;
  }
  const size = evaluator(printed, scalars);
  const { pipelines } = await pipelinesOf(device, printed);

  const made: GpuBuffer[] = [];
  const create = (label: string, bytes: number, usage: number): GpuBuffer => {
    const b = device.createBuffer({ label, size: Math.max(16, Math.ceil(bytes / 16) * 16), usage });
    made.push(b);
    return b;
  };
  // every argument checked before the device is touched (an error scope left open would swallow later errors)
  const counts = layout.buffers.map((b) => {
    const count = size(b.size);
    if (count < 0) throw new Error(`${where}: buffer '${b.name}' has ${count} elements`);
    if (4 * count > device.limits.maxStorageBufferBindingSize) throw new Error(`${where}: buffer '${b.name}' (${4 * count} bytes) exceeds the device's ${device.limits.maxStorageBufferBindingSize}`);
    const given = args[b.name];
    if (b.role === 'input' && (given === undefined || typeof given === 'number' || typeof given === 'boolean')) throw new Error(`${where}: buffer '${b.name}' is not given`);
    if (given !== undefined && typeof given !== 'number' && typeof given !== 'boolean' && given.length < count) throw new Error(`${where}: buffer '${b.name}' has ${given.length} elements, needs ${count}`);
    return count;
  });
  const extents = layout.passes.map((p) => p.grid.map(size).reduce((a, n) => a * Math.max(n, 0), 1));
  try {
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    const gpuBuffers = new Map<number, GpuBuffer>();
    const reads: Array<{ name: string; buffer: GpuBuffer; count: number; storage: 'f32' | 'i32'; staging: GpuBuffer }> = [];
    if (layout.uniform.binding !== null) {
      const data = new DataView(new ArrayBuffer(layout.uniform.size));
      for (const m of layout.uniform.members) {
        if (m.storage === 'i32') data.setInt32(m.offset, scalars[m.name]!, true);
        else data.setFloat32(m.offset, scalars[m.name]!, true);
      }
      const u = create('scalars', layout.uniform.size, UNIFORM | COPY_DST);
      device.queue.writeBuffer(u, 0, data.buffer);
      gpuBuffers.set(layout.uniform.binding, u);
    }
    layout.buffers.forEach((b, i) => {
      const count = counts[i]!;
      const buffer = create(b.name, 4 * count, STORAGE | COPY_DST | COPY_SRC);
      gpuBuffers.set(b.binding, buffer);
      const given = args[b.name];
      if (given !== undefined && typeof given !== 'number' && typeof given !== 'boolean') {
        const data = b.storage === 'i32' ? Int32Array.from({ length: count }, (_, i) => given[i]!) : Float32Array.from({ length: count }, (_, i) => given[i]!);
        device.queue.writeBuffer(buffer, 0, data);
      }
      if (b.role === 'output' || (b.role === 'scratch' && options.scratch)) reads.push({ name: b.name, buffer, count, storage: b.storage, staging: create(`${b.name} (read back)`, 4 * count, MAP_READ | COPY_DST) });
    });
    const encoder = device.createCommandEncoder({ label: layout.program });
    const pass = encoder.beginComputePass({ label: layout.program });
    layout.passes.forEach((p, i) => {
      const [x, y] = workgroupCounts(extents[i]!, layout.workgroupSize, device.limits.maxComputeWorkgroupsPerDimension);
      if (x === 0) return;
      const pipeline = pipelines[i]!;
      const group = device.createBindGroup({ label: p.name, layout: pipeline.getBindGroupLayout(0), entries: p.bindings.map((binding) => ({ binding, resource: { buffer: gpuBuffers.get(binding)! } })) });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(x, y);
    });
    pass.end();
    for (const r of reads) if (r.count > 0) encoder.copyBufferToBuffer(r.buffer, 0, r.staging, 0, 4 * r.count);
    device.queue.submit([encoder.finish()]);
    const validation = await device.popErrorScope();
    const memory = await device.popErrorScope();
    if (validation !== null) throw new Error(`${where}: ${validation.message}`);
    if (memory !== null) throw new Error(`${where}: out of memory: ${memory.message}`);
    const out: WgslResult = {};
    for (const r of reads) {
      await r.staging.mapAsync(MAP_MODE_READ);
      const range = r.staging.getMappedRange();
      out[r.name] = r.storage === 'i32' ? new Int32Array(range.slice(0, 4 * r.count)) : new Float32Array(range.slice(0, 4 * r.count));
      r.staging.unmap();
    }
    return out;
  } finally {
    for (const b of made) b.destroy();
  }
}

export type { PrintedWgsl, WgslLayout };
