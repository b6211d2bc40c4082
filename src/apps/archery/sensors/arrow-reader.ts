/**
 * The arrow reader: identifies each arrow as it is nocked (round the quiver) and opens a
 * reading for it, one every interval.
 */
import { runSensor, sleep } from './sensor-process.ts';

await runSensor('arrow-reader', async ({ config, link, log, stopped }) => {
  for (let n = 0; !stopped() && (config.shots === 0 || n < config.shots); n++) {
    const arrowId = config.arrowIds[n % config.arrowIds.length] as string;
    await link.startReading(arrowId);
    log.debug({ arrowId, n }, 'arrow nocked');
    if (config.shots === 0 || n + 1 < config.shots) await sleep(config.intervalMs);
  }
});
