import { describe, expect, it } from 'vitest';
import { binaryFloat8Array, quoteIdent, viewNameFor } from './store.ts';
import { describeKey, isProfileKey } from './service.ts';

describe('names', () => {
  it('sanitises view names and keeps them within 63 bytes', () => {
    expect(viewNameFor('4242_profile')).toBe('job_4242_profile');
    expect(viewNameFor('Run-7 "x"; DROP TABLE users')).toBe('job_run_7_x_drop_table_users');
    expect(viewNameFor('a'.repeat(100), 'bob')).toHaveLength(63);
    expect(viewNameFor('a'.repeat(100), 'bob').endsWith('_bob')).toBe(true);
    expect(quoteIdent('we"ird')).toBe('"we""ird"');
  });

  it('takes the owner from the key prefix and the job id up to the first underscore', () => {
    expect(describeKey('alice1/runs/2024/4242_node_a.H5')).toEqual({
      owner: 'alice1',
      stem: '4242_node_a',
      jobId: '4242',
    });
    expect(describeKey('bob/plain.h5')).toEqual({ owner: 'bob', stem: 'plain', jobId: 'plain' });
    expect(isProfileKey('bob/x.h5')).toBe(true);
    expect(isProfileKey('bob/x.h5.txt')).toBe(false);
    expect(isProfileKey('x.h5')).toBe(false);
  });
});

describe('binary float8[]', () => {
  it('writes PostgreSQL’s array_recv layout, NaN as NULL', () => {
    const buf = binaryFloat8Array(Float64Array.from([1.5, NaN, -2]), 0, 3);
    expect([
      buf.readInt32BE(0),
      buf.readInt32BE(4),
      buf.readInt32BE(8),
      buf.readInt32BE(12),
      buf.readInt32BE(16),
    ]).toEqual([1, 1, 701, 3, 1]);
    expect(buf.readInt32BE(20)).toBe(8);
    expect(buf.readDoubleBE(24)).toBe(1.5);
    expect(buf.readInt32BE(32)).toBe(-1);
    expect(buf.readDoubleBE(40)).toBe(-2);
    expect(buf.length).toBe(48);
  });
});
