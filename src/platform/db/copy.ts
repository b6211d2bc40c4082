/**
 * Bulk writes with `COPY ... FROM STDIN (FORMAT binary)`: PostgreSQL only (PGlite's node-postgres
 * adapter has no COPY sub-protocol). Binary tuples spare both sides the text formatting and
 * parsing of every value, which is most of the cost of a multi-row insert of narrow rows.
 *
 * Values per column type:
 * - `text`: string; `json`/`jsonb`: the JSON text (a string, or its UTF-8 bytes as a Buffer, copied
 *   as they are) or any other value, stringified;
 * - `float8`: number (not finite → NULL); `int4`/`int8`: integer number;
 * - `bool`: boolean; `timestamptz`: Date, epoch milliseconds or an ISO string;
 * - `null`/`undefined` is NULL everywhere.
 */
import { once } from 'node:events';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

export type CopyType = 'text' | 'json' | 'jsonb' | 'float8' | 'int4' | 'int8' | 'bool' | 'timestamptz';

// Column types as small integers: the per-value switch becomes a jump table.
const FLOAT8 = 0;
const INT4 = 1;
const INT8 = 2;
const BOOL = 3;
const TIMESTAMPTZ = 4;
const TEXT = 5;
const JSON_TEXT = 6;
const JSONB = 7;
const CODES: Record<CopyType, number> = {
  float8: FLOAT8,
  int4: INT4,
  int8: INT8,
  bool: BOOL,
  timestamptz: TIMESTAMPTZ,
  text: TEXT,
  json: JSON_TEXT,
  jsonb: JSONB,
};

export function isCopyType(t: string): t is CopyType {
  return Object.hasOwn(CODES, t);
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
/** A chunk buffer: a chunk plus room for the row that crosses `CHUNK`. */
const CHUNK_BYTES = CHUNK + 1024;

/**
 * Chunk buffers of finished COPYs, for the next ones. A fresh 256 KB buffer per chunk (plus a copy
 * into it) is tens of megabytes a second of ArrayBuffers at ingest rates, and V8 answers that
 * external memory with extra garbage collections: measured, that was most of the encoder's cost.
 */
const spare: Buffer[] = [];
const MAX_SPARE = 32;

function chunkBuffer(): Buffer {
  return spare.pop() ?? Buffer.allocUnsafe(CHUNK_BYTES);
}

const EMPTY = Buffer.alloc(0);

function recycle(b: Buffer) {
  if (b.length === CHUNK_BYTES && spare.length < MAX_SPARE) spare.push(b);
}

const TWO_32 = 4294967296;

/** The most bytes a field of each type takes, length word included (text: a NULL's 4). */
const ROOM = [12, 8, 12, 5, 12, 4, 4, 4];

/** A whole number of up to 53 bits as a big-endian int8 at `at`, without a BigInt. */
function int8(view: DataView, at: number, n: number) {
  const high = Math.floor(n / TWO_32);
  view.setInt32(at, high);
  view.setUint32(at + 4, n - high * TWO_32);
}

/**
 * Encodes rows as one binary COPY stream, in chunks of about `CHUNK` bytes. Written for the ingest
 * hot path (tens of thousands of rows a second): room is made once per row (text fields excepted),
 * the write position lives in a local, numbers go through a DataView, which V8 compiles to plain
 * stores (Buffer's `writeInt32BE` and friends check their arguments on every call), int8 and
 * timestamps without a BigInt per value, and short ASCII text byte by byte. Chunks are views of
 * pooled buffers, not copies: {@link release} recycles them once the COPY is over.
 */
export class BinaryCopyEncoder {
  private buf!: Buffer;
  private view!: DataView;
  private o = 0;
  private readonly codes: Uint8Array;
  /** Room for a row's field count and every field but text longer than nothing. */
  private readonly rowRoom: number;
  /** Buffers behind the chunks `encode` has yielded. */
  private readonly yielded: Buffer[] = [];

  constructor(types: readonly CopyType[]) {
    this.codes = Uint8Array.from(types, (t) => CODES[t]);
    this.rowRoom = 2 + this.codes.reduce((n, c) => n + ROOM[c]!, 0);
    this.use(chunkBuffer());
  }

  /**
   * Hands this encoder's buffers back to the pool. Only once nothing reads the chunks any more
   * (the COPY has completed); the encoder is not used afterwards.
   */
  release(): void {
    for (const b of this.yielded.splice(0)) recycle(b);
    recycle(this.buf);
    this.use(EMPTY);
  }

  private use(b: Buffer) {
    this.buf = b;
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  *encode(rows: readonly (readonly unknown[])[]): Generator<Buffer> {
    this.ensure(SIGNATURE.length + 8);
    SIGNATURE.copy(this.buf, 0);
    this.view.setInt32(11, 0); // flags
    this.view.setInt32(15, 0); // header extension length
    this.o = 19;
    for (let next = 0; next < rows.length;) {
      next = this.fill(rows, next);
      if (this.o >= CHUNK) yield this.take();
    }
    this.ensure(2);
    this.view.setInt16(this.o, -1);
    this.o += 2;
    yield this.take(true);
  }

  /**
   * Encodes rows from `from` on until the chunk is full or the rows run out; returns the index of
   * the next row. A plain loop, not the generator's: V8 optimises it better.
   */
  private fill(rows: readonly (readonly unknown[])[], from: number): number {
    const codes = this.codes;
    const n = codes.length;
    let r = from;
    while (r < rows.length && this.o < CHUNK) {
      const row = rows[r++]!;
      this.ensure(this.rowRoom);
      let view = this.view;
      let o = this.o;
      view.setInt16(o, n);
      o += 2;
      for (let i = 0; i < n; i++) {
        const v = row[i];
        const code = codes[i]!;
        if (v === null || v === undefined) {
          view.setInt32(o, -1);
          o += 4;
          continue;
        }
        switch (code) {
          case FLOAT8: {
            const x = typeof v === 'number' ? v : Number(v);
            if (Number.isFinite(x)) {
              view.setInt32(o, 8);
              view.setFloat64(o + 4, x);
              o += 12;
            } else {
              view.setInt32(o, -1);
              o += 4;
            }
            break;
          }
          case INT4: {
            const x = typeof v === 'number' ? v : Number(v);
            if (!Number.isInteger(x) || x < -2147483648 || x > 2147483647)
              throw new CopyValueError(`not an int4: ${show(v)}`);
            view.setInt32(o, 4);
            view.setInt32(o + 4, x);
            o += 8;
            break;
          }
          case INT8:
            view.setInt32(o, 8);
            if (typeof v === 'bigint') view.setBigInt64(o + 4, v);
            else if (typeof v === 'number' && Number.isSafeInteger(v)) int8(view, o + 4, v);
            else throw new CopyValueError(`not an int8: ${show(v)}`);
            o += 12;
            break;
          case BOOL:
            view.setInt32(o, 1);
            view.setUint8(o + 4, v ? 1 : 0);
            o += 5;
            break;
          case TIMESTAMPTZ: {
            const ms = v instanceof Date ? v.getTime() : typeof v === 'number' ? v : Date.parse(show(v));
            if (!Number.isFinite(ms)) throw new CopyValueError(`not a timestamp: ${show(v)}`);
            // Microseconds since 2000-01-01; whole milliseconds times 1000 stay exact in a double.
            view.setInt32(o, 8);
            int8(view, o + 4, Math.round((ms - PG_EPOCH_MS) * 1000));
            o += 12;
            break;
          }
          default:
            // Text makes its own room (a NULL's 4 bytes were counted in the row's), and then
            // room again for the fields after it, which the row's room counted from its start.
            this.o = o;
            this.text(code, v);
            this.ensure(this.rowRoom);
            view = this.view;
            o = this.o;
        }
      }
      this.o = o;
    }
    return r;
  }

  /** The chunk so far; unless it is the `last`, encoding goes on in another buffer. */
  private take(last = false): Buffer {
    const out = this.buf.subarray(0, this.o);
    this.yielded.push(this.buf);
    this.use(last ? EMPTY : chunkBuffer());
    this.o = 0;
    return out;
  }

  private ensure(n: number) {
    if (this.o + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.o + n + 1024));
    this.buf.copy(next, 0, 0, this.o);
    // Nothing has seen the old buffer's bytes yet: it can serve another chunk.
    recycle(this.buf);
    this.use(next);
  }

  /** A text, json or jsonb field at `this.o`; makes its own room. */
  private text(code: number, v: unknown) {
    const prefix = code === JSONB ? 1 : 0;
    if (Buffer.isBuffer(v)) {
      // Already UTF-8 (e.g. an MQTT payload stored as received): no decode and re-encode.
      this.ensure(4 + prefix + v.length);
      this.view.setInt32(this.o, v.length + prefix);
      if (prefix) this.buf[this.o + 4] = 1;
      this.buf.set(v, this.o + 4 + prefix);
      this.o += 4 + prefix + v.length;
      return;
    }
    const s = typeof v === 'string' ? v : code === TEXT ? show(v) : JSON.stringify(v);
    this.ensure(4 + prefix + s.length * 3); // UTF-8 takes at most 3 bytes per UTF-16 unit
    if (prefix) this.buf[this.o + 4] = 1; // jsonb binary format version
    const at = this.o + 4 + prefix;
    let len = -1;
    if (s.length <= 32) {
      // Short text (ids, names): a byte loop beats the call into the UTF-8 encoder.
      const buf = this.buf;
      let i = 0;
      for (; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c > 127) break;
        buf[at + i] = c;
      }
      if (i === s.length) len = i;
    }
    if (len < 0) len = this.buf.write(s, at, 'utf8');
    this.view.setInt32(this.o, len + prefix);
    this.o += 4 + prefix + len;
  }
}

/** A cell as text: strings as they are, numbers and the like in their usual form, the rest as JSON. */
function show(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v) ?? '';
}

/** Rows encoded for one COPY, not yet sent (see {@link encodeCopy}). */
export interface EncodedCopy {
  readonly sql: string;
  readonly chunks: readonly Buffer[];
  /** Recycles the chunks' buffers; only once nothing reads them (the COPY is committed). */
  release(): void;
}

/**
 * Encodes `rows` for `COPY table (columns) FROM STDIN (FORMAT binary)`, synchronously. Throws
 * {@link CopyValueError} for a value the encoder cannot write. Encoding before anything is sent
 * lets the caller drop the rows before the round trip instead of after it.
 */
export function encodeCopy(
  table: string,
  columns: readonly { name: string; type: CopyType }[],
  rows: readonly (readonly unknown[])[],
): EncodedCopy {
  const encoder = new BinaryCopyEncoder(columns.map((c) => c.type));
  let chunks: Buffer[];
  try {
    chunks = [...encoder.encode(rows)];
  } catch (e) {
    encoder.release();
    throw e;
  }
  return {
    sql: `COPY ${table} (${columns.map((c) => c.name).join(', ')}) FROM STDIN (FORMAT binary)`,
    chunks,
    release: () => encoder.release(),
  };
}

/**
 * Sends an encoded COPY on `client` (inside the caller's transaction when it has one). The
 * chunks stay the caller's: it may send them again (a retried transaction) and releases them
 * once the COPY is committed.
 *
 * The chunks are already in memory, so they are written straight into the COPY stream (which
 * holds them until the server is ready for data) instead of through `stream.pipeline`. A
 * pipeline costs a Readable, an AbortController and their listeners per COPY, and its objects kept
 * the batch's data reachable after the COPY had finished: in a loop of BEGIN, COPY, COMMIT holding
 * per-batch objects, 31 MB were promoted to the old generation in 8 s through a pipeline against
 * 9 MB written directly (`--trace-gc-nvp`).
 */
export async function sendCopy(client: pg.ClientBase, copy: EncodedCopy): Promise<void> {
  const stream = client.query(copyFrom(copy.sql));
  // `once` rejects if the stream emits 'error' first (the server refused the COPY). It then stops
  // listening: a later error (the connection failing before the server is ready again) goes here.
  stream.on('error', afterFailure);
  const finished = once(stream, 'finish');
  for (const chunk of copy.chunks) stream.write(chunk);
  stream.end();
  try {
    await finished;
  } catch (e) {
    // pg has let go of the stream (it no longer has a connection), but chunks it had not sent
    // yet would still be written on the socket's next 'drain', and throw there, in a socket
    // listener where nothing catches it. Destroying the stream drops them.
    stream.destroy();
    throw e;
  }
}

/** Errors of a COPY stream that has already failed: the transaction around it reports the first. */
function afterFailure(): void {}

/** Writes `rows` into `table (columns)` with binary COPY on `client`. */
export async function copyRows(
  client: pg.ClientBase,
  table: string,
  columns: readonly { name: string; type: CopyType }[],
  rows: readonly (readonly unknown[])[],
): Promise<void> {
  const copy = encodeCopy(table, columns, rows);
  await sendCopy(client, copy);
  // The server has answered the COPY, so every chunk has left the socket. (After a failure the
  // buffers are left to the garbage collector: a write may still hold one.)
  copy.release();
}
