import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ProfileError, readProfile } from '../../src/apps/bench/h5-reader.ts';
import { buildNodeSeries } from '../../src/apps/bench/series.ts';
import * as fx from './fixtures.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-reader-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string) => path.join(dir, name);

describe('reading HDF5 profiles', () => {
  it('reads every node, compound tables in nested groups, gzip-chunked, to the exact values', async () => {
    const spec = await fx.multiNode(file('multi.h5'));
    const nodes = await readProfile(file('multi.h5'));
    expect(nodes.map((n) => n.name)).toEqual(['node01', 'node02', 'node03']);
    const node2 = nodes[1];
    expect(node2?.tables.map((t) => t.path)).toEqual(['Energy', 'Filesystem', 'Tasks__0']);
    const energy = node2?.tables.find((t) => t.path === 'Energy');
    const power = energy?.columns.find((c) => c.name === 'Energy__NodePower');
    expect(power?.field).toBe('NodePower');
    expect(power?.values).toEqual(spec[1]?.tables[0]?.columns.NodePower);
    const util = node2?.tables
      .find((t) => t.path === 'Tasks__0')
      ?.columns.find((c) => c.field === 'CPUUtilization');
    expect(util?.name).toBe('Tasks__0__CPUUtilization');
    expect(util?.values).toEqual(spec[1]?.tables[1]?.columns.CPUUtilization);
  });

  it('reads plain 1-D datasets named by their path and joins them on ElapsedTime', async () => {
    const { elapsed, power } = await fx.plainArrays(file('plain.h5'));
    const [node] = await readProfile(file('plain.h5'));
    expect(node?.tables.flatMap((t) => t.columns.map((c) => c.name))).toEqual([
      'Energy__CurrPower',
      'Energy__ElapsedTime',
    ]);
    const built = buildNodeSeries(node ?? { name: '', tables: [] });
    if (!built.ok) throw new Error(built.reason);
    expect(built.series.elapsed).toEqual(elapsed);
    expect(built.series.power).toEqual(power);
    expect(built.series.powerSource).toBe('Energy__CurrPower');
  });

  it.each([
    ['empty', (f: string) => Promise.resolve(fx.emptyFile(f)), /the file is empty/],
    ['not HDF5', (f: string) => Promise.resolve(fx.notHdf5(f)), /not an HDF5 file/],
    ['truncated', (f: string) => fx.truncated(f, dir), /the file is truncated: \d+ of \d+ bytes/],
    [
      'unregistered filter',
      (f: string) => fx.unknownFilter(f, dir),
      /dataset \/nodeA\/Energy is compressed with filter 200 \(.*\), which this server cannot decode/,
    ],
    [
      'corrupt',
      (f: string) => fx.corruptChunks(f, dir),
      /dataset \/nodeA\/Energy cannot be read \(HDF5 could not decode its data\)/,
    ],
  ])('refuses a %s file with a readable reason', async (_name, make, reason) => {
    const f = file(`bad-${_name.replace(/ /g, '-')}.h5`);
    await make(f);
    const error = await readProfile(f).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ProfileError);
    expect((error as Error).message).toMatch(reason);
  });
});
