/** The peer fixtures made by scripts/make_fixtures.py (committed; CI needs no Python). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readTensor, type LoadedTensor } from '../../src/io/index.js';
import type { SsimOptions } from '../../src/ssim/options.js';

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
