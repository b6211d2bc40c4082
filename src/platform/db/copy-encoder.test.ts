/**
 * The binary COPY encoder, without a server: its output parsed back by an independent reader of
 * the format, for random tables and rows large enough to cross chunk boundaries at every offset.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BinaryCopyEncoder, type CopyType } from './copy.ts';

const PG_EPOCH_MS = 946_684_800_000;

/** Reads a binary COPY stream back into rows (text-like fields as strings, jsonb without its version byte). */
function readCopy(chunks: Buffer[], types: readonly CopyType[]): unknown[][] {
  const b = Buffer.concat(chunks);
  expect(b.subarray(0, 11).toString('latin1')).toBe('PGCOPY\n\xff\r\n\0');
  let o = 19;
  const rows: unknown[][] = [];
  for (;;) {
    const n = b.readInt16BE(o);
    o += 2;
    if (n === -1) break;
    expect(n).toBe(types.length);
    const row: unknown[] = [];
    for (let i = 0; i < n; i++) {
      const len = b.readInt32BE(o);
      o += 4;
      if (len === -1) {
        row.push(null);
        continue;
      }
      const f = b.subarray(o, o + len);
      o += len;
      switch (types[i]) {
        case 'float8':
          row.push(f.readDoubleBE(0));
          break;
        case 'int4':
          row.push(f.readInt32BE(0));
          break;
        case 'int8':
          row.push(Number(f.readBigInt64BE(0)));
          break;
        case 'bool':
          row.push(f[0] === 1);
          break;
        case 'timestamptz':
          row.push(Number(f.readBigInt64BE(0)) / 1000 + PG_EPOCH_MS);
          break;
        case 'jsonb':
          expect(f[0]).toBe(1);
          row.push(f.subarray(1).toString('utf8'));
          break;
        default:
          row.push(f.toString('utf8'));
      }
    }
    rows.push(row);
  }
  expect(o).toBe(b.length);
  return rows;
}

function encode(types: readonly CopyType[], rows: readonly (readonly unknown[])[]): Buffer[] {
  const e = new BinaryCopyEncoder(types);
  const chunks = [...e.encode(rows)].map((c) => Buffer.from(c));
  e.release();
  return chunks;
}

const TYPES: CopyType[] = ['text', 'json', 'jsonb', 'float8', 'int4', 'int8', 'bool', 'timestamptz'];
const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 400 }),
  fc.constantFrom('中'.repeat(330), 'é'.repeat(500), '😀'.repeat(300), 'x'.repeat(1100)),
);

/** A value of a column type, what the reader gives back for it. */
function cell(type: CopyType): fc.Arbitrary<[unknown, unknown]> {
  const nul = fc.constantFrom<[unknown, unknown]>([null, null], [undefined, null]);
  const v: fc.Arbitrary<[unknown, unknown]> = (() => {
    switch (type) {
      case 'float8':
        return fc.double().map((x): [unknown, unknown] => [x, Number.isFinite(x) ? x : null]);
      case 'int4':
        return fc.integer().map((x): [unknown, unknown] => [x, x]);
      case 'int8':
        return fc.maxSafeInteger().map((x): [unknown, unknown] => [x, x]);
      case 'bool':
        return fc.boolean().map((x): [unknown, unknown] => [x, x]);
      case 'timestamptz':
        return fc
          .integer({ min: 0, max: 4_102_444_800_000 })
          .map((ms): [unknown, unknown] => [new Date(ms), ms]);
      default:
        return fc.oneof(
          text.map((s): [unknown, unknown] => [s, s]),
          text.map((s): [unknown, unknown] => [Buffer.from(s), s]),
        );
    }
  })();
  return fc.oneof({ weight: 1, arbitrary: nul }, { weight: 4, arbitrary: v });
}

describe('BinaryCopyEncoder', () => {
  it('writes what an independent reader reads back, across chunk boundaries', () => {
    const table = fc
      .array(fc.constantFrom(...TYPES), { minLength: 1, maxLength: 6 })
      .chain((types) =>
        fc.tuple(
          fc.constant(types),
          fc.array(fc.tuple(...types.map(cell)), { minLength: 1, maxLength: 400 }),
        ),
      );
    fc.assert(
      fc.property(table, ([types, cells]) => {
        const rows = cells.map((r) => r.map(([input]) => input));
        const expected = cells.map((r) => r.map(([, back]) => back));
        expect(readCopy(encode(types, rows), types)).toEqual(expected);
      }),
      { numRuns: 100 },
    );
  });

  it('makes room for the fields after a text that ends a chunk exactly', () => {
    // Every alignment of a text field's end against the chunk's end, with fixed-size fields after.
    const types: CopyType[] = ['text', 'float8', 'int8', 'bool', 'timestamptz'];
    for (const size of [1060, 1065, 1074, 1080]) {
      const rows = Array.from({ length: 600 }, (_, i) => [
        Buffer.alloc(size + (i % 17), 0x61),
        i / 3,
        i,
        true,
        new Date(i),
      ]);
      const back = readCopy(encode(types, rows), types);
      expect(back).toHaveLength(rows.length);
      expect(back[599]).toEqual(['a'.repeat(size + (599 % 17)), 599 / 3, 599, true, 599]);
    }
  });
});
