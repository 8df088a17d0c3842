/** The peer fixtures made by scripts/make_fixtures.py (committed; CI needs no Python). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readTensor, type LoadedTensor } from '../../src/io/index.js';
import type { SsimOptions } from '../../src/model/options.js';
import type { VariantOptions } from '../../src/runtime/variants.js';

export const PEER_DIR = join(import.meta.dirname, '..', 'fixtures', 'peers');

export interface PeerCase {
  name: string;
  peer: string;
  source: string;
  options: SsimOptions;
  x: string;
  y: string;
  value: number;
  gradX: string | null;
  gradY: string | null;
  centralDifferences: null | { wrt: 'x'; pixels: [number, number, number, number][]; values: number[]; step: number };
}

export const peerCases: PeerCase[] = JSON.parse(readFileSync(join(PEER_DIR, 'manifest.json'), 'utf8')) as PeerCase[];

export const loadPeer = (file: string): LoadedTensor => readTensor(join(PEER_DIR, file));

export const peerCase = (name: string): PeerCase => {
  const c = peerCases.find((p) => p.name === name);
  if (c === undefined) throw new Error(`no peer fixture '${name}'`);
  return c;
};

/** PyTorch autograd in float64 and float32 (scripts/make_torch_fixtures.py); file names relative to test/fixtures/. */
export interface TorchCase {
  name: string;
  source: string;
  options: VariantOptions;
  x: string;
  y: string;
  /** float64 autograd (null where test/fixtures/peers or variants holds it). */
  value: number | null;
  gradX: string | null;
  gradY: string | null;
  /** float32 autograd (float32 .npy). */
  value32: number;
  gradX32: string;
  gradY32: string;
  /** The example masked SSIM's mask (a file of test/fixtures/examples). */
  mask?: string;
}

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
export const TORCH_DIR = join(FIXTURES, 'torch');
export const torchCases: TorchCase[] = JSON.parse(readFileSync(join(TORCH_DIR, 'manifest.json'), 'utf8')) as TorchCase[];

/** A torch fixture's array: inputs (and a mask) name a file of test/fixtures/peers, variants or examples, gradients one of test/fixtures/torch. */
export const loadTorch = (file: string): LoadedTensor => readTensor(/^(peers|variants|examples)\//.test(file) ? join(FIXTURES, file) : join(TORCH_DIR, file));

export const torchCase = (name: string): TorchCase => {
  const c = torchCases.find((p) => p.name === name);
  if (c === undefined) throw new Error(`no torch fixture '${name}'`);
  return c;
};
