/**
 * Bulk writes with `COPY ... FROM STDIN (FORMAT binary)`: PostgreSQL only (PGlite's node-postgres
 * adapter has no COPY sub-protocol). Binary tuples spare both sides the text formatting and
 * parsing of every value, which is most of the cost of a multi-row insert of narrow rows.
 *
 * Values per column type:
 * - `text`: string; `json`/`jsonb`: the JSON text (a string) or any value, stringified;
 * - `float8`: number (not finite → NULL); `int4`/`int8`: integer number;
 * - `bool`: boolean; `timestamptz`: Date, epoch milliseconds or an ISO string;
 * - `null`/`undefined` is NULL everywhere.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

export type CopyType = 'text' | 'json' | 'jsonb' | 'float8' | 'int4' | 'int8' | 'bool' | 'timestamptz';

const COPY_TYPES = new Set<string>([
  'text',
  'json',
  'jsonb',
  'float8',
  'int4',
  'int8',
  'bool',
  'timestamptz',
]);

export function isCopyType(t: string): t is CopyType {
  return COPY_TYPES.has(t);
}

/**
 * A value the encoder cannot write. It carries SQLSTATE 22000 (data exception), as PostgreSQL's
 * own complaint about the same value would, so callers treat it as bad data, not as an outage.
 */
export class CopyValueError extends Error {
  readonly code = '22000';
}

/** Microseconds between the Unix epoch and PostgreSQL's (2000-01-01 UTC). */
const PG_EPOCH_MS = 946_684_800_000;
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Flush the encoder's buffer to the stream at about this size. */
const CHUNK = 256 * 1024;

/** Encodes rows as one binary COPY stream, in chunks of about `CHUNK` bytes. */
export class BinaryCopyEncoder {
  private buf = Buffer.allocUnsafe(CHUNK + 1024);
  private o = 0;
  private readonly types: readonly CopyType[];

  constructor(types: readonly CopyType[]) {
    this.types = types;
  }

  *encode(rows: Iterable<readonly unknown[]>): Generator<Buffer> {
    this.ensure(SIGNATURE.length + 8);
    SIGNATURE.copy(this.buf, 0);
    this.buf.writeInt32BE(0, 11); // flags
    this.buf.writeInt32BE(0, 15); // header extension length
    this.o = 19;
    for (const row of rows) {
      this.ensure(2);
      this.buf.writeInt16BE(this.types.length, this.o);
      this.o += 2;
      for (let i = 0; i < this.types.length; i++) this.field(this.types[i]!, row[i]);
      if (this.o >= CHUNK) yield this.take();
    }
    this.ensure(2);
    this.buf.writeInt16BE(-1, this.o);
    this.o += 2;
    yield this.take();
  }

  private take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.o));
    this.o = 0;
    return out;
  }

  private ensure(n: number) {
    if (this.o + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.o + n + 1024));
    this.buf.copy(next, 0, 0, this.o);
    this.buf = next;
  }

  private nul() {
    this.ensure(4);
    this.buf.writeInt32BE(-1, this.o);
    this.o += 4;
  }

  private field(type: CopyType, v: unknown) {
    if (v === null || v === undefined) return this.nul();
    switch (type) {
      case 'float8': {
        const n = Number(v);
        if (!Number.isFinite(n)) return this.nul();
        this.ensure(12);
        this.buf.writeInt32BE(8, this.o);
        this.buf.writeDoubleBE(n, this.o + 4);
        this.o += 12;
        return;
      }
      case 'int4': {
        const n = Number(v);
        if (!Number.isInteger(n) || n < -2147483648 || n > 2147483647)
          throw new CopyValueError(`not an int4: ${show(v)}`);
        this.ensure(8);
        this.buf.writeInt32BE(4, this.o);
        this.buf.writeInt32BE(n, this.o + 4);
        this.o += 8;
        return;
      }
      case 'int8':
        this.ensure(12);
        this.buf.writeInt32BE(8, this.o);
        if (typeof v !== 'bigint' && !Number.isSafeInteger(v))
          throw new CopyValueError(`not an int8: ${show(v)}`);
        this.buf.writeBigInt64BE(BigInt(v as number | bigint), this.o + 4);
        this.o += 12;
        return;
      case 'bool':
        this.ensure(5);
        this.buf.writeInt32BE(1, this.o);
        this.buf[this.o + 4] = v ? 1 : 0;
        this.o += 5;
        return;
      case 'timestamptz': {
        const ms = v instanceof Date ? v.getTime() : typeof v === 'number' ? v : Date.parse(show(v));
        if (!Number.isFinite(ms)) throw new CopyValueError(`not a timestamp: ${show(v)}`);
        // Whole milliseconds times 1000 stay exact in a double; then one BigInt for the write.
        this.ensure(12);
        this.buf.writeInt32BE(8, this.o);
        this.buf.writeBigInt64BE(BigInt(Math.round((ms - PG_EPOCH_MS) * 1000)), this.o + 4);
        this.o += 12;
        return;
      }
      case 'text':
      case 'json':
      case 'jsonb': {
        const s = typeof v === 'string' ? v : type === 'text' ? show(v) : JSON.stringify(v);
        const prefix = type === 'jsonb' ? 1 : 0;
        this.ensure(4 + prefix + s.length * 3); // UTF-8 takes at most 3 bytes per UTF-16 unit
        if (prefix) this.buf[this.o + 4] = 1; // jsonb binary format version
        const len = this.buf.write(s, this.o + 4 + prefix, 'utf8') + prefix;
        this.buf.writeInt32BE(len, this.o);
        this.o += 4 + len;
        return;
      }
    }
  }
}

/** A cell as text: strings as they are, numbers and the like in their usual form, the rest as JSON. */
function show(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v) ?? '';
}

/**
 * Writes `rows` into `table (columns)` with binary COPY on `client` (inside the caller's
 * transaction when it has one).
 */
export async function copyRows(
  client: pg.ClientBase,
  table: string,
  columns: readonly { name: string; type: CopyType }[],
  rows: Iterable<readonly unknown[]>,
): Promise<void> {
  const sql = `COPY ${table} (${columns.map((c) => c.name).join(', ')}) FROM STDIN (FORMAT binary)`;
  const encoder = new BinaryCopyEncoder(columns.map((c) => c.type));
  await pipeline(Readable.from(encoder.encode(rows)), client.query(copyFrom(sql)));
}
