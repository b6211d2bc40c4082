/**
 * What the three sensor entry points share: reading their configuration from the environment
 * (they are separate OS processes started by `conflux simulate archery`), a logger, a clean
 * stop on SIGINT/SIGTERM and an exit code that tells the parent whether they finished.
 */
import type { Logger } from 'pino';
import { createLogger } from '../../../platform/log.ts';
import { openLink, type SensorConfig, type SensorLink } from './link.ts';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A normally distributed sample (Box–Muller). */
export function gaussian(mean: number, sd: number): number {
  const u = 1 - Math.random();
  const v = Math.random();
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

export interface SensorContext {
  config: SensorConfig;
  link: SensorLink;
  log: Logger;
  /** True once a stop signal arrived: loops finish their current step and return. */
  stopped: () => boolean;
}

export async function runSensor(name: string, body: (ctx: SensorContext) => Promise<void>): Promise<void> {
  const log = createLogger({ level: process.env.LOG_LEVEL ?? 'info' }).child({ sensor: name });
  const raw = process.env.ARCHERY_SENSOR_CONFIG;
  if (!raw) {
    log.error('ARCHERY_SENSOR_CONFIG is not set: start sensors with `conflux simulate archery`');
    process.exit(2);
  }
  const config = JSON.parse(raw) as SensorConfig;
  let stop = false;
  const onSignal = () => {
    stop = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let link: SensorLink | undefined;
  try {
    link = await openLink(config, log);
    await body({ config, link, log, stopped: () => stop });
    await link.close();
    process.exit(0);
  } catch (e) {
    log.error({ err: e }, `${name} failed`);
    await link?.close().catch(() => undefined);
    process.exit(1);
  }
}

/**
 * Waits for readings at a stage and handles each once, until `count` are done (0 = forever)
 * or a stop signal. Polls briefly when idle: sensors are independent processes with nothing
 * to wake them but the shared state.
 */
export async function forEachPending(
  ctx: SensorContext,
  stage: 'bow' | 'target',
  handle: (reading: Awaited<ReturnType<SensorLink['pending']>>[number]) => Promise<void>,
): Promise<void> {
  const idleMs = Math.max(10, Math.min(100, ctx.config.intervalMs / 10));
  const seen = new Set<string>();
  const stale = new Set(ctx.config.staleReadingIds);
  while (!ctx.stopped() && (ctx.config.shots === 0 || seen.size < ctx.config.shots)) {
    const pending = (await ctx.link.pending(stage)).filter((r) => !seen.has(r.id) && !stale.has(r.id));
    if (pending.length === 0) {
      await sleep(idleMs);
      continue;
    }
    for (const reading of pending) {
      seen.add(reading.id);
      await handle(reading);
    }
  }
}
