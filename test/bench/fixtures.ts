/**
 * Profile files written by the tests themselves with h5wasm (through the app's simulator
 * writer), one per situation the bench app must handle.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { syntheticProfile, writeProfile, type NodeSpec } from '../../src/apps/bench/simulator.ts';
import { replaceDeflateFilter } from './h5-patch.ts';

export const START_EPOCH = 1_709_251_200;

/** Three nodes × `samples`, compound tables, gzip in small chunks. */
export async function multiNode(file: string, samples = 400): Promise<NodeSpec[]> {
  const nodes = syntheticProfile({ nodes: 3, samples, seed: 7, start: START_EPOCH });
  await writeProfile(file, nodes, { chunkRows: 64 });
  return nodes;
}

/** One node with only a cumulative energy counter (power must come from ΔE/Δt). */
export async function energyOnly(file: string): Promise<{ elapsed: Float64Array; energy: Float64Array }> {
  const n = 300;
  const elapsed = Float64Array.from({ length: n }, (_, i) => i * 2);
  const energy = new Float64Array(n);
  for (let i = 1; i < n; i++) energy[i] = (energy[i - 1] ?? 0) + (300 + (i % 7) * 10) * 2;
  const epoch = Float64Array.from(elapsed, (t) => START_EPOCH + t);
  await writeProfile(file, [
    {
      name: 'nodeA',
      tables: [{ path: 'Energy', columns: { ElapsedTime: elapsed, EpochTime: epoch, Energy: energy } }],
    },
  ]);
  return { elapsed, energy };
}

/** Plain 1-D datasets in a nested group (`Energy/ElapsedTime`, `Energy/CurrPower`), no compression. */
export async function plainArrays(file: string): Promise<{ elapsed: Float64Array; power: Float64Array }> {
  const n = 200;
  const elapsed = Float64Array.from({ length: n }, (_, i) => i * 0.5);
  const power = Float64Array.from({ length: n }, (_, i) => 100 + (i % 10));
  await writeProfile(
    file,
    [
      {
        name: 'cn001',
        tables: [
          { path: 'Energy/ElapsedTime', columns: { ElapsedTime: elapsed }, plain: true },
          { path: 'Energy/CurrPower', columns: { CurrPower: power }, plain: true },
        ],
      },
    ],
    { gzip: false },
  );
  return { elapsed, power };
}

/** A node with task statistics but neither power nor energy. */
export async function noPower(file: string): Promise<void> {
  const n = 50;
  const elapsed = Float64Array.from({ length: n }, (_, i) => i);
  await writeProfile(file, [
    {
      name: 'nodeA',
      tables: [{ path: 'Tasks/0', columns: { ElapsedTime: elapsed, CPUUtilization: elapsed.map(() => 50) } }],
    },
  ]);
}

export function emptyFile(file: string): void {
  writeFileSync(file, '');
}

export function notHdf5(file: string): void {
  writeFileSync(file, 'ElapsedTime,NodePower\n0,100\n1,101\n'.repeat(50));
}

/** The first half of a valid profile, as an interrupted upload leaves it. */
export async function truncated(file: string, dir: string): Promise<void> {
  const whole = path.join(dir, 'whole-for-truncation.h5');
  await multiNode(whole, 200);
  const bytes = readFileSync(whole);
  writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
}

/** A whole file with a stretch in its middle overwritten, as a bad disk or copy leaves it. */
export async function damaged(file: string, dir: string): Promise<void> {
  const whole = path.join(dir, 'whole-for-damage.h5');
  await multiNode(whole, 2000);
  const bytes = readFileSync(whole);
  const from = Math.floor(bytes.length / 3);
  bytes.fill(0x5a, from, from + Math.floor(bytes.length / 3));
  writeFileSync(file, bytes);
}

/** A valid file whose power dataset uses filter 200, which no HDF5 build has registered. */
export async function unknownFilter(file: string, dir: string): Promise<void> {
  const plain = path.join(dir, 'gzip-for-patching.h5');
  const n = 100;
  await writeProfile(plain, [
    {
      name: 'nodeA',
      tables: [
        {
          path: 'Energy',
          columns: {
            ElapsedTime: Float64Array.from({ length: n }, (_, i) => i),
            NodePower: Float64Array.from({ length: n }, () => 200),
          },
        },
      ],
    },
  ]);
  writeFileSync(file, replaceDeflateFilter(readFileSync(plain), 4, 200));
}

/** A profile whose compressed chunks were damaged after writing (deflate cannot decode them). */
export async function corruptChunks(file: string, dir: string): Promise<void> {
  const whole = path.join(dir, 'whole-for-corruption.h5');
  const n = 20_000;
  let x = 1;
  const noise = Float64Array.from({ length: n }, () => ((x = (x * 48271) % 2147483647) / 2147483647) * 500);
  await writeProfile(
    whole,
    [
      {
        name: 'nodeA',
        tables: [
          {
            path: 'Energy',
            columns: { ElapsedTime: Float64Array.from({ length: n }, (_, i) => i), NodePower: noise },
          },
        ],
      },
    ],
    { chunkRows: 1000 },
  );
  const bytes = readFileSync(whole);
  // random doubles do not compress, so the middle of the file is chunk data
  const mid = Math.floor(bytes.length / 2);
  for (let i = mid; i < mid + 64; i++) bytes[i] = (bytes[i] ?? 0) ^ 0x5a;
  writeFileSync(file, bytes);
}
