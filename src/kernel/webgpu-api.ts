/**
 * The few WebGPU types the runner (webgpu.ts) uses, declared here structurally: the project's
 * tsconfig has no DOM library, @webgpu/types is not a dependency, and a real GPUDevice from a
 * page satisfies these interfaces. Types only: nothing here exists at run time.
 */

export interface GpuBuffer {
  readonly size: number;
  mapAsync(mode: number): Promise<void>;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
  destroy(): void;
}

export interface GpuCompilationMessage {
  readonly message: string;
  readonly type: 'error' | 'warning' | 'info';
  readonly lineNum: number;
  readonly linePos: number;
}

export interface GpuShaderModule {
  getCompilationInfo(): Promise<{ readonly messages: readonly GpuCompilationMessage[] }>;
}

export interface GpuBindGroupLayout {
  readonly label: string;
}

export interface GpuComputePipeline {
  getBindGroupLayout(index: number): GpuBindGroupLayout;
}

export interface GpuBindGroup {
  readonly label: string;
}

export interface GpuComputePassEncoder {
  setPipeline(pipeline: GpuComputePipeline): void;
  setBindGroup(index: number, group: GpuBindGroup): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
  end(): void;
}

export interface GpuCommandEncoder {
  beginComputePass(descriptor?: { label?: string }): GpuComputePassEncoder;
  copyBufferToBuffer(source: GpuBuffer, sourceOffset: number, destination: GpuBuffer, destinationOffset: number, size: number): void;
  finish(): unknown;
}

export interface GpuError {
  readonly message: string;
}

export interface GpuLimits {
  readonly maxStorageBuffersPerShaderStage: number;
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
  readonly maxComputeWorkgroupsPerDimension: number;
}

export interface GpuDevice {
  readonly limits: GpuLimits;
  readonly queue: {
    writeBuffer(buffer: GpuBuffer, offset: number, data: ArrayBufferView | ArrayBuffer): void;
    submit(commands: readonly unknown[]): void;
    onSubmittedWorkDone(): Promise<void>;
  };
  createBuffer(descriptor: { label?: string; size: number; usage: number }): GpuBuffer;
  createShaderModule(descriptor: { label?: string; code: string }): GpuShaderModule;
  createComputePipelineAsync(descriptor: { label?: string; layout: 'auto'; compute: { module: GpuShaderModule; entryPoint: string } }): Promise<GpuComputePipeline>;
  createBindGroup(descriptor: { label?: string; layout: GpuBindGroupLayout; entries: ReadonlyArray<{ binding: number; resource: { buffer: GpuBuffer } }> }): GpuBindGroup;
  createCommandEncoder(descriptor?: { label?: string }): GpuCommandEncoder;
  pushErrorScope(filter: 'validation' | 'out-of-memory' | 'internal'): void;
  popErrorScope(): Promise<GpuError | null>;
}

export interface GpuAdapter {
  readonly limits: GpuLimits;
  requestDevice(descriptor?: { requiredLimits?: Record<string, number> }): Promise<GpuDevice>;
}

/** navigator.gpu. */
export interface Gpu {
  requestAdapter(): Promise<GpuAdapter | null>;
}
