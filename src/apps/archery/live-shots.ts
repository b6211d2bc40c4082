/**
 * The live shot feed. A trigger NOTIFYs the id of every new shot, whoever inserted it; every
 * server instance LISTENs, loads the shots with their score and speed, and publishes them on
 * its own live channel (`local`: each instance hears the NOTIFY itself, so relaying it between
 * instances would deliver every shot twice).
 */
import type { Platform, Stoppable } from '../../platform/app.ts';
import type { LiveChannel } from '../../platform/live/port.ts';
import type { ArcheryService } from './service.ts';
import { setWsChannel } from './store.ts';

export const SHOTS_TOPIC = 'archery.shots';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function startShotFeed(
  platform: Platform,
  service: ArcheryService,
  live: LiveChannel,
): Promise<Stoppable> {
  const channel = platform.config.archery.wsChannel;
  await setWsChannel(platform.db, channel);
  // Notifications arriving together are loaded with one query; flushes run one after another
  // so that shots are published in commit order.
  let pending: string[] = [];
  let chain: Promise<void> = Promise.resolve();
  let scheduled = false;
  const flush = async () => {
    scheduled = false;
    const ids = pending;
    pending = [];
    try {
      for (const shot of await service.scoredShots(ids))
        await live.publish(SHOTS_TOPIC, shot, { local: true });
    } catch (e) {
      platform.log.error({ err: e, shots: ids.length }, 'archery: could not publish shots');
    }
  };
  const unlisten = await platform.db.listen(channel, (payload) => {
    if (!UUID.test(payload)) return; // someone else's NOTIFY on a shared channel name
    pending.push(payload);
    if (scheduled) return;
    scheduled = true;
    chain = chain.then(flush);
  });
  return {
    async stop() {
      await unlisten();
      await chain;
    },
  };
}
