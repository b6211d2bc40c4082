/**
 * The bow reader: for each nocked arrow, marks when the string is drawn (engage) and released
 * (disengage). Draw-and-aim takes a share of the interval, like an archer holding at anchor.
 */
import { forEachPending, gaussian, runSensor, sleep } from './sensor-process.ts';

await runSensor('bow-reader', async (ctx) => {
  const holdMs = Math.min(3000, ctx.config.intervalMs * 0.3);
  await forEachPending(ctx, 'bow', async (reading) => {
    const engage = new Date();
    await sleep(Math.max(1, gaussian(holdMs, holdMs * 0.1)));
    const disengage = new Date();
    await ctx.link.recordBow(reading.id, engage, disengage);
    ctx.log.debug({ reading: reading.id }, 'arrow released');
  });
});
