/**
 * Writes HDF5 profiles shaped like Slurm's `acct_gather_profile` output with h5wasm: one group
 * per node holding compound tables (`Energy`, `Tasks/<n>`, `Filesystem`) that share an
 * ElapsedTime clock. Used by `conflux simulate bench`, the tests and the benchmark.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { wholeNumber } from '../../platform/cli-options.ts';
import type { Group as H5Group } from 'h5wasm/node';

/** One dataset to write: a compound table (several columns) or a plain array (`value`). */
export interface TableSpec {
  /** Path below the node group, e.g. `Energy` or `Tasks/0`. */
  path: string;
  columns: Record<string, Float64Array>;
  /** Write a plain 1-D dataset of the single column instead of a compound table. */
  plain?: boolean;
}

export interface NodeSpec {
  name: string;
  tables: TableSpec[];
}

export interface WriteOptions {
  /** Rows per chunk (default 4096); chunked datasets are gzip-compressed unless `gzip: false`. */
  chunkRows?: number;
  gzip?: boolean;
}

/** Writes `nodes` to a new HDF5 file at `file`. */
export async function writeProfile(file: string, nodes: NodeSpec[], opts: WriteOptions = {}): Promise<void> {
  // Loaded on first use, like the reader: most processes never write a profile.
  const { File: H5File, ready } = await import('h5wasm/node');
  await ready;
  const h5 = new H5File(file, 'w');
  try {
    for (const node of nodes) {
      const group = h5.create_group(node.name);
      for (const t of node.tables) writeTable(group, t, opts);
    }
  } finally {
    h5.close();
  }
}

function writeTable(group: H5Group, t: TableSpec, opts: WriteOptions) {
  const parts = t.path.split('/');
  const name = parts.pop() as string;
  let g = group;
  for (const p of parts) g = (g.keys().includes(p) ? g.get(p) : g.create_group(p)) as H5Group;
  const entries = Object.entries(t.columns);
  const rows = entries[0]?.[1].length ?? 0;
  const chunk = Math.max(1, Math.min(opts.chunkRows ?? 4096, rows));
  const compression =
    opts.gzip === false || rows === 0 ? {} : { chunks: [chunk], compression: 'gzip' as const };
  const data = t.plain ? (entries[0]?.[1] ?? new Float64Array(0)) : new Map(entries);
  g.create_dataset({ name, data, ...compression });
}

/** A deterministic pseudo-random generator (mulberry32) so that profiles are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SyntheticOptions {
  nodes: number;
  /** Samples per node. */
  samples: number;
  /** Seconds between samples (default 1). */
  interval?: number;
  /** Epoch (s) of the first sample (default 2024-03-01T00:00:00Z). */
  start?: number;
  seed?: number;
}

/**
 * A realistic profile: per node `Energy` (ElapsedTime, EpochTime, NodePower, Energy,
 * CPUFrequency), `Tasks/0` (ElapsedTime, CPUTime, CPUUtilization, RSS, VMSize, Pages) and
 * `Filesystem` (ElapsedTime, ReadMB, WriteMB): 12 distinct fields on one clock.
 */
export function syntheticProfile(o: SyntheticOptions): NodeSpec[] {
  const interval = o.interval ?? 1;
  const start = o.start ?? 1_709_251_200;
  const random = rng(o.seed ?? 1);
  return Array.from({ length: o.nodes }, (_, k): NodeSpec => {
    const n = o.samples;
    const elapsed = new Float64Array(n);
    const epoch = new Float64Array(n);
    const power = new Float64Array(n);
    const energy = new Float64Array(n);
    const freq = new Float64Array(n);
    const cpuTime = new Float64Array(n);
    const util = new Float64Array(n);
    const rss = new Float64Array(n);
    const vm = new Float64Array(n);
    const pages = new Float64Array(n);
    const read = new Float64Array(n);
    const write = new Float64Array(n);
    let e = 0;
    for (let i = 0; i < n; i++) {
      elapsed[i] = i * interval;
      epoch[i] = start + i * interval;
      power[i] = 250 + 150 * Math.sin(i / 50 + k) + 20 * random();
      if (i > 0) e += (((power[i - 1] ?? 0) + (power[i] ?? 0)) / 2) * interval;
      energy[i] = e;
      freq[i] = 2_400_000 + Math.round(random() * 800_000);
      util[i] = Math.min(100, 60 + 40 * random());
      cpuTime[i] = (i > 0 ? (cpuTime[i - 1] ?? 0) : 0) + (util[i] ?? 0) / 100;
      rss[i] = 1_000_000 + Math.round(random() * 50_000);
      vm[i] = 4_000_000 + Math.round(random() * 100_000);
      pages[i] = Math.round(random() * 10);
      read[i] = random() * 5;
      write[i] = random() * 2;
    }
    const tables: TableSpec[] = [
      {
        path: 'Energy',
        columns: {
          ElapsedTime: elapsed,
          EpochTime: epoch,
          NodePower: power,
          Energy: energy,
          CPUFrequency: freq,
        },
      },
      {
        path: 'Tasks/0',
        columns: {
          ElapsedTime: elapsed,
          CPUTime: cpuTime,
          CPUUtilization: util,
          RSS: rss,
          VMSize: vm,
          Pages: pages,
        },
      },
      { path: 'Filesystem', columns: { ElapsedTime: elapsed, ReadMB: read, WriteMB: write } },
    ];
    return { name: `node${String(k + 1).padStart(2, '0')}`, tables };
  });
}

/** `conflux simulate bench`: writes a synthetic profile file. */
export function registerSimulator(command: Command): void {
  command
    .description('write a synthetic HDF5 job profile (Slurm acct_gather_profile layout)')
    .requiredOption('-o, --out <file>', 'file to write, e.g. 4242_profile.h5')
    .option('-n, --nodes <n>', 'nodes', wholeNumber(1, 10_000), 2)
    .option('-s, --samples <n>', 'samples per node', wholeNumber(2, 100_000_000), 3600)
    .option('--seed <n>', 'random seed', wholeNumber(0), 1)
    .action(async (opts: { out: string; nodes: number; samples: number; seed: number }) => {
      // The HDF5 library reports a missing folder as a page of diagnostics: make it first.
      await mkdir(path.dirname(path.resolve(opts.out)), { recursive: true });
      const nodes = syntheticProfile({
        nodes: opts.nodes,
        samples: opts.samples,
        seed: opts.seed,
      });
      await writeProfile(opts.out, nodes);
      process.stdout.write(`wrote ${opts.out}: ${opts.nodes} nodes × ${opts.samples} samples\n`);
    });
}
