/**
 * `conflux bench ingest <local dir | storage prefix>`: puts local profiles into storage (under
 * `--owner`), or takes those already under a prefix, queues them like object events do, runs
 * a worker in this process and shows progress until every file is done; then a summary table.
 * Exits non-zero when any file failed.
 */
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import type { Platform, Stoppable } from '../../platform/app.ts';
import type { JobHandler } from '../../platform/jobs/port.ts';
import { JobWorker } from '../../platform/jobs/worker.ts';
import type { ObjectEvent, ObjectInfo } from '../../platform/objects/port.ts';
import { isProfileKey, onProfileObject } from './service.ts';
import * as store from './store.ts';

export interface IngestOptions {
  owner?: string;
  concurrency: number;
  /** Progress output; pass null for none (tests). */
  out?: NodeJS.WritableStream | null;
}

export interface IngestResult {
  rows: store.BenchJobRow[];
  failed: number;
}

function localProfiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && /\.h5$/i.test(e.name)) found.push(p);
    }
  };
  if (statSync(dir).isDirectory()) walk(dir);
  else found.push(dir);
  return found.sort();
}

/** A mistake in the command's arguments: one line on stderr, exit code 2. */
export class IngestUsageError extends Error {}

/**
 * A row still queued or processing whose queue job has ended (cancelled by hand, say) would be
 * waited for forever: it is reported as failed, with the job's last error.
 */
async function settleOrphans(platform: Platform, rows: store.BenchJobRow[]): Promise<void> {
  for (const r of rows) {
    if ((r.status !== 'queued' && r.status !== 'processing') || r.queue_job_id === null) continue;
    const job = await platform.jobs.get(r.queue_job_id);
    if (job === null || job.status === 'queued' || job.status === 'running') continue;
    // The row may have been updated after the job read it: look again before calling it stuck.
    const now = await store.byObject(platform.db, r.bucket, r.object_key);
    if (
      now === null ||
      (now.status !== 'queued' && now.status !== 'processing') ||
      now.queue_job_id !== job.id
    )
      continue;
    r.status = 'failed';
    r.error = `its processing job ${job.id} ended (${job.status}) without a result${job.lastError ? `: ${job.lastError}` : ''}`;
  }
}

/** Runs the batch; the caller prints or inspects the result. */
export async function ingest(
  platform: Platform,
  handlers: Record<string, JobHandler>,
  target: string,
  opts: IngestOptions,
): Promise<IngestResult> {
  const objects = platform.objects;
  let infos: ObjectInfo[];
  if (existsSync(target)) {
    if (!opts.owner)
      throw new IngestUsageError('--owner <username> is required for local files (the storage prefix)');
    if (!(await platform.auth.userExists(opts.owner)))
      throw new IngestUsageError(
        `no user ${opts.owner}: create it first (conflux users create ${opts.owner})`,
      );
    const root = statSync(target).isDirectory() ? target : path.dirname(target);
    infos = [];
    for (const file of localProfiles(target)) {
      const name = path.relative(root, file).split(path.sep).join('/');
      infos.push(
        await objects.put(`${opts.owner}/${name}`, createReadStream(file), { size: statSync(file).size }),
      );
    }
  } else {
    infos = (await objects.list(target)).filter((o) => isProfileKey(o.key));
    if (infos.length === 0)
      throw new IngestUsageError(
        `${target} is neither a local file or directory nor a storage prefix with .h5 objects`,
      );
  }
  const events: ObjectEvent[] = infos.map((i) => ({
    bucket: objects.bucket,
    key: i.key,
    size: i.size,
    etag: i.etag,
    lastModified: i.lastModified,
  }));
  for (const e of events) await platform.db.transaction((tx) => onProfileObject(platform, e, tx));

  const worker = new JobWorker({
    db: platform.db,
    queue: platform.jobs,
    log: platform.log,
    handlers: new Map(Object.entries(handlers)),
    concurrency: opts.concurrency,
    pollMs: 500,
  });
  const out = opts.out === undefined ? process.stderr : opts.out;
  const bar = out
    ? new SingleBar(
        {
          stream: out,
          // not a terminal (CI, a pipe): print a line every half second instead of redrawing
          noTTYOutput: true,
          notTTYSchedule: 500,
          format: ' {bar} {value}/{total} files | {failed} failed | {duration_formatted}',
        },
        Presets.shades_classic,
      )
    : null;
  bar?.start(events.length, 0, { failed: 0 });
  await worker.start();
  const keys = events.map((e) => e.key);
  let rows: store.BenchJobRow[] = [];
  try {
    for (let poll = 0; ; poll++) {
      rows = await store.statusOf(platform.db, objects.bucket, keys);
      // One query per pending row: every 5 s is enough for something that should not happen.
      if (poll % 25 === 24) await settleOrphans(platform, rows);
      const done = rows.filter((r) => r.status === 'succeeded' || r.status === 'failed');
      bar?.update(done.length, { failed: done.filter((r) => r.status === 'failed').length });
      // A row deleted meanwhile (DELETE /bench/jobs) is no longer waited for.
      if (done.length >= rows.length) break;
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    bar?.stop();
    await worker.stop();
  }
  rows.sort((a, b) => a.object_key.localeCompare(b.object_key));
  return { rows, failed: rows.filter((r) => r.status === 'failed').length };
}

/** A plain-text table of the batch. */
export function summaryTable(rows: store.BenchJobRow[]): string {
  const fmt = (v: number | null, digits: number) => (v === null ? '—' : v.toFixed(digits));
  const table = [
    ['file', 'job', 'status', 'nodes', 'samples', 'energy kWh', 'TTS s', 'avg W', 'cost EUR', 'reason'],
    ...rows.map((r) => [
      r.object_key,
      r.job_id,
      r.status,
      fmt(r.nodes, 0),
      fmt(r.samples, 0),
      fmt(r.energy_kwh, 4),
      fmt(r.tts_s, 1),
      fmt(r.avg_power_w, 1),
      fmt(r.cost_eur, 4),
      r.error ?? '',
    ]),
  ];
  const widths = table[0]?.map((_, c) => Math.max(...table.map((row) => (row[c] ?? '').length))) ?? [];
  return table
    .map((row) =>
      row
        .map((cell, c) => cell.padEnd(widths[c] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function registerIngestCommand(
  program: Command,
  open: () => Promise<Platform & Stoppable>,
  handlers: (platform: Platform) => Record<string, JobHandler>,
): void {
  program
    .command('ingest <target>')
    .description('process HDF5 profiles from a local directory (uploaded under --owner) or a storage prefix')
    .option('-o, --owner <username>', 'storage prefix (user) for local files')
    .option('-c, --concurrency <n>', 'files processed at once', '2')
    .action(async (target: string, o: { owner?: string; concurrency: string }) => {
      const platform = await open();
      try {
        const result = await ingest(platform, handlers(platform), target, {
          concurrency: Math.max(1, Number(o.concurrency) || 1),
          ...(o.owner ? { owner: o.owner } : {}),
        });
        process.stdout.write(
          `${summaryTable(result.rows)}\n\n${result.rows.length} files, ${result.failed} failed\n`,
        );
        process.exitCode = result.failed > 0 ? 1 : 0;
      } catch (e) {
        if (!(e instanceof IngestUsageError)) throw e;
        process.stderr.write(`conflux: ${e.message}\n`);
        process.exitCode = 2;
      } finally {
        await platform.stop();
      }
    });
}
