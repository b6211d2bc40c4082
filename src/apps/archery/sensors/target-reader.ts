/**
 * The target reader: reports where each released arrow landed, after its time of flight
 * (target distance over a ~60 m/s arrow), scattered around the centre of a face like a
 * decent archer's group; ~10 % of arrows (and any that fly past the boss) are misses.
 */
import { forEachPending, gaussian, runSensor, sleep } from './sensor-process.ts';

await runSensor('target-reader', async (ctx) => {
  const { target, faces } = await ctx.link.calibration();
  if (target === null || faces.length === 0) throw new Error('the open session has no target with faces');
  // The group widens with distance: about 3 mm per metre, a 60 mm spread at 20 m.
  const spread = 3 * target.distance;
  let n = 0;
  await forEachPending(ctx, 'target', async (reading) => {
    const face = faces[n++ % faces.length] as (typeof faces)[number];
    const released = new Date(reading.arrow_disengage_time ?? Date.now()).getTime();
    const flightMs = (target.distance / gaussian(60, 2)) * 1000;
    await sleep(Math.max(0, released + flightMs - Date.now()));
    const x = gaussian(face.x, spread);
    const y = gaussian(face.y, spread);
    const onBoss = x >= 0 && y >= 0 && x <= target.max_x && y <= target.max_y;
    const landed = onBoss && Math.random() >= ctx.config.missRate;
    await ctx.link.recordTarget(
      reading.id,
      landed
        ? { time: new Date(released + flightMs), x: Math.round(x * 10) / 10, y: Math.round(y * 10) / 10 }
        : null,
    );
    ctx.log.debug({ reading: reading.id, landed }, landed ? 'arrow landed' : 'arrow missed');
  });
});
