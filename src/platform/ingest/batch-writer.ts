import type pg from 'pg';
import type { Logger } from 'pino';
import { encodeCopy, isCopyType, sendCopy, type CopyType, type EncodedCopy } from '../db/copy.ts';
import type { Database, Queryable } from '../db/port.ts';
import { asError } from '../errors.ts';
import { isoFormatter } from '../iso-time.ts';
import { Counter, Gauge, Histogram, type Metrics } from '../metrics.ts';

/** A column of a batched table: its name and the PostgreSQL type its array is cast to. */
export interface ColumnSpec {
  name: string;
  type: string;
}

/**
 * A table the writer fills. Rows of one batch go in one `INSERT ... SELECT FROM unnest(...)`:
 * one statement and one round trip per table, whatever the number of rows, and the same SQL on
 * PostgreSQL and PGlite. Tables marked `copy` are written with binary COPY on PostgreSQL (COPY is
 * not available through PGlite's driver).
 */
export interface TableSpec {
  table: string;
  columns: readonly ColumnSpec[];
  /** Appended to the INSERT, e.g. `ON CONFLICT (id) DO NOTHING`. */
  onConflict?: string;
  /**
   * Rows with the same key are merged before writing (an upsert may touch a row only once per
   * statement); `merge` keeps the survivor.
   */
  key?: (row: readonly unknown[]) => string;
  merge?: (a: readonly unknown[], b: readonly unknown[]) => readonly unknown[];
  /**
   * On PostgreSQL, write with binary COPY, several times cheaper than the insert for both sides.
   * COPY has no ON CONFLICT: when it hits a unique violation (a redelivered message), the whole
   * batch is written again with the INSERT and its `onConflict`. Column types must be ones
   * `copy.ts` encodes.
   */
  copy?: boolean;
}

/** What one message writes: rows per table name, in column order. */
export type Unit = Record<string, readonly (readonly unknown[])[]>;

/**
 * A unit, or how to make it. A function is called when its batch is prepared (and again if the
 * batch has to be written another way: as INSERTs after COPY refused it, or unit by unit; a retry
 * after a transient failure reuses what was prepared), so that its rows live for the length of a
 * write, not from admission to commit: the rows of thousands of messages waiting for their batch
 * outlived V8's young generation and had to be copied and then collected as old objects.
 */
export type UnitSource = Unit | (() => Unit);

export interface BatchWriterOptions {
  name: string;
  /** Tables in the order they are written inside a batch (parents before children, rows that
   * other batches also lock last). */
  tables: readonly TableSpec[];
  maxBatch?: number;
  /** How long the first unit of a batch may wait for company. */
  maxDelayMs?: number;
  /** Units queued or in flight before producers must wait (`waitForRoom`). */
  maxQueue?: number;
  /**
   * Batches in flight at the same time (1 on PGlite, which has one connection): being prepared,
   * waiting for their turn, or in their transaction. Their statements take turns (see `commit`).
   */
  concurrency?: number;
  log: Logger;
  metrics?: Metrics;
}

/** Told once: no error when the unit is committed, else why it is not. */
export type WriteCallback = (err?: Error) => void;

/** One table's statement of a batch, ready to run in any transaction (again, on a retry). */
interface Statement {
  table: string;
  rows: number;
  run: (tx: Queryable) => Promise<unknown>;
}

interface Prepared {
  statements: Statement[];
  /** The COPY encodings among them: their buffers go back to the pool once committed. */
  encoded: EncodedCopy[];
}

interface Pending {
  unit: UnitSource;
  done: WriteCallback;
  /** Whether `done` has been called. */
  told: boolean;
}

/**
 * SQLSTATE classes of errors caused by the data itself: isolate the row, don't retry. 54 is
 * "program limit exceeded", e.g. JSON nested too deep for PostgreSQL's parser.
 */
const DATA_ERROR = /^(22|23|42|54)/;

/**
 * The ingest batch writer: units (the rows of one message) are collected, written in one
 * transaction with one multi-row statement per table, and each unit's promise resolves after
 * COMMIT. When a batch fails on bad data it is retried unit by unit, so a bad row fails only its
 * own message. Transient failures (connection lost, timeouts) are retried with backoff and never
 * drop a unit. The queue is bounded: `waitForRoom()` lets producers stall (backpressure).
 */
export class BatchWriter {
  private readonly db: Database;
  private readonly opts: Required<Omit<BatchWriterOptions, 'metrics'>>;
  private readonly specs: Map<string, TableSpec>;
  private readonly sql: Map<string, string>;
  private queue: Pending[] = [];
  private inFlight = 0;
  private units = 0;
  private timer: NodeJS.Timeout | null = null;
  private roomWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  private closed = false;
  /** Settles when every batch that has asked for the turn has handed it on (see `commit`). */
  private turn: Promise<void> = Promise.resolve();
  private readonly m: {
    rows: Counter<'table'>;
    batches: Counter<'writer' | 'outcome'>;
    duration: Histogram<'writer'>;
  } | null;

  constructor(db: Database, opts: BatchWriterOptions) {
    this.db = db;
    this.opts = {
      maxBatch: 1000,
      maxDelayMs: 5,
      maxQueue: 20_000,
      concurrency: db.kind === 'pglite' ? 1 : 2,
      ...opts,
    };
    this.specs = new Map(opts.tables.map((t) => [t.table, t]));
    for (const t of opts.tables)
      for (const c of t.copy ? t.columns : [])
        if (!isCopyType(c.type)) throw new Error(`${t.table}.${c.name}: COPY cannot encode type ${c.type}`);
    this.sql = new Map(opts.tables.map((t) => [t.table, insertSql(t)]));
    this.m = opts.metrics ? writerMetrics(opts.metrics, this) : null;
  }

  /** Units accepted and not yet committed (queued or being written). */
  get backlog(): number {
    return this.units;
  }

  get full(): boolean {
    return this.units >= this.opts.maxQueue;
  }

  /** Resolves when there is room for one more unit. */
  waitForRoom(): Promise<void> | void {
    if (!this.full) return;
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /**
   * Queues a unit; resolves after the transaction holding it commits. A unit given as a function
   * that throws, or that names an unknown table, fails alone when its batch is written.
   */
  write(unit: UnitSource): Promise<void> {
    return new Promise((resolve, reject) => this.add(unit, (err) => (err ? reject(err) : resolve())));
  }

  /**
   * `write` without a promise: `done` is called once, after the unit's transaction commits or with
   * the reason it did not (never synchronously). The ingest hot path uses it: a promise, its two
   * resolving functions and an await per message add up at tens of thousands a second.
   */
  add(unit: UnitSource, done: WriteCallback): void {
    let bad: Error | null = null;
    if (this.closed) bad = new Error(`batch writer ${this.opts.name} is closed`);
    else if (typeof unit !== 'function') bad = this.unknownTable(unit);
    if (bad !== null) {
      const err = bad;
      queueMicrotask(() => done(err));
      return;
    }
    this.queue.push({ unit, done, told: false });
    this.units++;
    this.schedule();
  }

  /** Waits until everything accepted so far is committed (or failed). */
  async drain(): Promise<void> {
    if (this.units === 0) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
      this.pump();
    }
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    await this.drain();
    this.closed = true;
  }

  private schedule() {
    if (this.queue.length >= this.opts.maxBatch) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.pump();
    } else if (this.timer === null && this.inFlight < this.opts.concurrency) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.pump();
      }, this.opts.maxDelayMs);
    }
  }

  private pump() {
    while (this.inFlight < this.opts.concurrency && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.opts.maxBatch);
      this.inFlight++;
      void this.flush(batch).finally(() => {
        this.inFlight--;
        this.units -= batch.length;
        this.wake();
        if (this.queue.length > 0) this.schedule();
      });
    }
  }

  private wake() {
    while (this.roomWaiters.length > 0 && !this.full) this.roomWaiters.shift()!();
    if (this.units === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /**
   * Tells `p` its outcome, once: committed without `err`. A callback that throws is logged and
   * cannot stop the others of its batch from being told.
   */
  private tell(p: Pending, err?: Error) {
    if (p.told) return;
    p.told = true;
    try {
      p.done(err);
    } catch (e) {
      this.opts.log.error({ err: e, writer: this.opts.name }, 'batch writer callback failed');
    }
  }

  private unknownTable(unit: Unit): Error | null {
    // for-in rather than Object.keys: no array per unit.
    for (const t in unit) if (!this.specs.has(t)) return new Error(`unknown table ${t}`);
    return null;
  }

  /**
   * The units of `batch`, made now. A pending whose unit cannot be made is told so here and
   * writes nothing (telling it again, with its batch, does nothing).
   */
  private make(batch: readonly Pending[]): Unit[] {
    const out: Unit[] = [];
    for (const p of batch) {
      // Already failed (its function threw on an earlier attempt): it writes nothing, ever.
      if (p.told) continue;
      if (typeof p.unit !== 'function') {
        out.push(p.unit);
        continue;
      }
      try {
        const unit = p.unit();
        const bad = this.unknownTable(unit);
        if (bad !== null) throw bad;
        out.push(unit);
      } catch (e) {
        this.tell(p, asError(e));
      }
    }
    return out;
  }

  private async flush(batch: Pending[]) {
    const t0 = performance.now();
    try {
      const copy = this.db.kind === 'postgres' && this.opts.tables.some((t) => t.copy);
      try {
        await this.commit(this.prepare(batch, copy));
      } catch (e) {
        // COPY failed on the data: typically a unique violation, rows already stored by a
        // redelivered message. The INSERT skips those, and isolates any really bad row.
        if (!copy || !isDataError(e)) throw e;
        await this.commit(this.prepare(batch, false));
      }
      for (const p of batch) this.tell(p);
      this.m?.batches.inc({ writer: this.opts.name, outcome: 'ok' });
    } catch (e) {
      if (!isDataError(e) || batch.length === 1) {
        for (const p of batch) this.tell(p, asError(e));
        this.m?.batches.inc({ writer: this.opts.name, outcome: 'failed' });
        return;
      }
      // Isolate the bad unit(s): each one alone in its own transaction.
      this.m?.batches.inc({ writer: this.opts.name, outcome: 'split' });
      this.opts.log.debug(
        { writer: this.opts.name, err: (e as Error).message },
        'batch failed; retrying row-wise',
      );
      for (const p of batch) {
        try {
          await this.commit(this.prepare([p], false));
          this.tell(p);
        } catch (err) {
          this.tell(p, asError(err));
        }
      }
    } finally {
      this.m?.duration.observe({ writer: this.opts.name }, (performance.now() - t0) / 1000);
    }
  }

  /**
   * Runs prepared statements in one transaction, retrying transient failures with the same
   * statements. Batches are prepared concurrently (while one batch's rows go into the database,
   * the next one is encoded here), but their statements run one batch at a time: two
   * transactions appending to the same tables at once made PostgreSQL spend more CPU per row on
   * contended pages (`npm run bench -- grid-ingest`). The turn is taken after BEGIN, so a batch
   * may wait for it idle in its transaction, normally for less than one batch's statements (one
   * whose session the server ends meanwhile fails as a transient error and is retried; taking it
   * before connecting, so that none waits in a transaction, was 2–8 % slower in three interleaved
   * runs). It is handed on before COMMIT: the next batch's rows go in while that COMMIT waits for
   * its WAL to reach the disk.
   */
  private async commit(prepared: Prepared): Promise<void> {
    // Every unit of the batch failed to be made: nothing to write.
    if (prepared.statements.length === 0) return;
    await this.withTransientRetry(() =>
      this.db.transaction(async (tx) => {
        const handOn = await this.takeTurn();
        try {
          for (const s of prepared.statements) {
            await s.run(tx);
            this.m?.rows.inc({ table: s.table }, s.rows);
          }
        } finally {
          handOn();
        }
      }),
    );
    // Committed: every COPY has been answered, so no write still reads the buffers. (After a
    // failure they are left to the garbage collector.)
    for (const c of prepared.encoded) c.release();
  }

  /**
   * Waits until every batch that asked before has handed the turn on (a FIFO lock); returns the
   * function that hands it on, which does nothing when called again.
   */
  private async takeTurn(): Promise<() => void> {
    const previous = this.turn;
    let handOn!: () => void;
    this.turn = new Promise<void>((resolve) => (handOn = resolve));
    await previous;
    return handOn;
  }

  /**
   * Makes the units of `batch` and each table's statement: COPY bytes (when `copy`) or the
   * insert's arrays, all made before anything is sent, so that the rows are garbage before the
   * round trips instead of after them.
   */
  private prepare(batch: readonly Pending[], copy: boolean): Prepared {
    const tables = this.opts.tables;
    const perTable: (readonly unknown[])[][] = tables.map(() => []);
    for (const unit of this.make(batch))
      for (let j = 0; j < tables.length; j++) {
        const r = unit[tables[j]!.table];
        if (r) for (const row of r) perTable[j]!.push(row);
      }
    const prepared: Prepared = { statements: [], encoded: [] };
    try {
      for (let j = 0; j < tables.length; j++) {
        const spec = tables[j]!;
        let rows = perTable[j]!;
        if (rows.length === 0) continue;
        if (spec.key) rows = dedupe(rows, spec.key, spec.merge ?? ((_a, b) => b));
        prepared.statements.push(this.statement(spec, rows, copy && spec.copy === true, prepared.encoded));
      }
    } catch (e) {
      for (const c of prepared.encoded) c.release();
      throw e;
    }
    return prepared;
  }

  private statement(
    spec: TableSpec,
    rows: readonly (readonly unknown[])[],
    copy: boolean,
    encoded: EncodedCopy[],
  ): Statement {
    if (copy) {
      const c = encodeCopy(spec.table, spec.columns as { name: string; type: CopyType }[], rows);
      encoded.push(c);
      // On PostgreSQL the transaction's Queryable is its pg client.
      return { table: spec.table, rows: rows.length, run: (tx) => sendCopy(tx as pg.ClientBase, c) };
    }
    const sql = this.sql.get(spec.table)!;
    const params = unnestParams(spec, rows);
    return { table: spec.table, rows: rows.length, run: (tx) => tx.query(sql, params) };
  }

  /** Retries while the database is unreachable or busy; data errors go straight up. */
  private async withTransientRetry<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (isDataError(e) || this.closed || attempt >= 50) throw e;
        const delay = Math.min(2000, 20 * 2 ** attempt);
        this.opts.log.warn(
          { writer: this.opts.name, err: (e as Error).message, attempt },
          'batch write failed; retrying',
        );
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }
}

/**
 * The parameters of `insertSql(spec)`: one array per column; Dates as ISO text; Buffers in text
 * and JSON columns as the UTF-8 text they hold (the driver would send them as bytea).
 */
function unnestParams(spec: TableSpec, rows: readonly (readonly unknown[])[]): unknown[][] {
  return spec.columns.map((c, i) => {
    if (c.type === 'timestamptz') {
      // The driver would format a Date in local time, slowly; ISO text is exact and cheap.
      const iso = isoFormatter();
      return rows.map((row) => {
        const v = row[i];
        // Epoch ms too, as COPY takes them (anything else is the server's to refuse).
        if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'invalid' : iso(v.getTime());
        return typeof v === 'number' && Number.isFinite(v) ? iso(v) : (v ?? null);
      });
    }
    if (c.type === 'text' || c.type === 'json' || c.type === 'jsonb')
      return rows.map((row) => {
        const v = row[i];
        return Buffer.isBuffer(v) ? v.toString('utf8') : (v ?? null);
      });
    return rows.map((row) => row[i] ?? null);
  });
}

function isDataError(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && DATA_ERROR.test(code);
}

function dedupe(
  rows: (readonly unknown[])[],
  key: (row: readonly unknown[]) => string,
  merge: (a: readonly unknown[], b: readonly unknown[]) => readonly unknown[],
): (readonly unknown[])[] {
  const byKey = new Map<string, readonly unknown[]>();
  for (const row of rows) {
    const k = key(row);
    const prev = byKey.get(k);
    byKey.set(k, prev === undefined ? row : merge(prev, row));
  }
  // Sorted keys: concurrent batches lock rows in the same order and do not deadlock.
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
}

export function insertSql(t: TableSpec): string {
  const cols = t.columns.map((c) => quoteIdent(c.name)).join(', ');
  const arrays = t.columns.map((c, i) => `$${i + 1}::${c.type}[]`).join(', ');
  return `INSERT INTO ${quoteIdent(t.table)} (${cols}) SELECT * FROM unnest(${arrays})${t.onConflict ? ` ${t.onConflict}` : ''}`;
}

function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad identifier ${name}`);
  return name;
}

function writerMetrics(metrics: Metrics, writer: BatchWriter) {
  const reg = [metrics.registry];
  const get = <T>(name: string, make: () => T): T =>
    (metrics.registry.getSingleMetric(name) as T | undefined) ?? make();
  new Gauge({
    name: `ingest_backlog_${writer['opts'].name}`,
    help: `units accepted by the ${writer['opts'].name} batch writer and not yet committed`,
    registers: reg,
    collect() {
      this.set(writer.backlog);
    },
  });
  return {
    rows: get(
      'ingest_rows_total',
      () =>
        new Counter({
          name: 'ingest_rows_total',
          help: 'rows written by batch writers',
          labelNames: ['table'] as const,
          registers: reg,
        }),
    ),
    batches: get(
      'ingest_batches_total',
      () =>
        new Counter({
          name: 'ingest_batches_total',
          help: 'batches by outcome (ok, split = retried row-wise, failed)',
          labelNames: ['writer', 'outcome'] as const,
          registers: reg,
        }),
    ),
    duration: get(
      'ingest_batch_duration_seconds',
      () =>
        new Histogram({
          name: 'ingest_batch_duration_seconds',
          help: 'time to write and commit one batch',
          labelNames: ['writer'] as const,
          buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
          registers: reg,
        }),
    ),
  };
}
