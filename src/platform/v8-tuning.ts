/**
 * V8 settings the server applies to its own process before it takes traffic.
 *
 * Allocation-site pretenuring: when nearly every object made at some allocation site (an object
 * or array literal) is still alive at the next young-generation collection, V8 starts allocating
 * that site's objects directly in the old generation. Ingest trips it: a message's objects (the
 * consumer's entry, the batch writer's pending unit, the decoded reading) live from admission to
 * commit, a few hundred milliseconds when the database is the bottleneck, which is longer than
 * the interval between scavenges. Pretenured, they die in the old generation a moment later, which
 * then fills at tens of megabytes a second and needs a full mark-compact every second or so; and
 * while they wait for it they keep the young objects they point to alive, so those get promoted
 * too. Without pretenuring they die young. With `--trace-gc`, `npm run bench -- grid-ingest` has no
 * mark-compact in its flat-out phase instead of one (a longer run of the same load had one every
 * 1.4 s), and its p99 at 10,000 messages/s fell from 21–25 to 13 ms.
 *
 * The flag is read at each collection, so setting it after start-up takes effect (checked with
 * `--trace-pretenuring-statistics` on Node 24 / V8 13; Node documents changing V8 flags after
 * start-up as unsupported in general, so recheck on a new major version). A
 * `--allocation-site-pretenuring` (or `--no-…`) on the command line is left as the user gave it;
 * NODE_OPTIONS cannot carry it.
 */
import v8 from 'node:v8';

export function applyV8Tuning(execArgv: readonly string[] = process.execArgv): void {
  if (execArgv.some((a) => /allocation[-_]site[-_]pretenuring/.test(a))) return;
  v8.setFlagsFromString('--no-allocation-site-pretenuring');
}
