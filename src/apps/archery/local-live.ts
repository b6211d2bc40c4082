/**
 * An in-process {@link LiveChannel}, used only while the platform does not provide one
 * (`platform.live`). The shot feed is already cross-instance (every instance LISTENs to the
 * trigger's NOTIFY and publishes locally), so a local channel loses nothing here.
 */
import type { Platform } from '../../platform/app.ts';
import type { LiveChannel, LiveEvent } from '../../platform/live/port.ts';

function patternToRegExp(pattern: string): RegExp {
  const escaped = pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.+')}$`);
}

export function createLocalLive(): LiveChannel {
  const ids = new Map<string, number>();
  const subs = new Set<{ res: RegExp[]; handler: (e: LiveEvent) => void }>();
  return {
    async publish<T>(topic: string, data: T) {
      const id = (ids.get(topic) ?? 0) + 1;
      ids.set(topic, id);
      const event: LiveEvent<T> = { topic, id, ts: new Date().toISOString(), data };
      for (const s of subs) if (s.res.some((r) => r.test(topic))) s.handler(event);
      return event;
    },
    subscribe(patterns, handler) {
      const sub = { res: patterns.map(patternToRegExp), handler };
      subs.add(sub);
      return () => subs.delete(sub);
    },
  };
}

const fallbacks = new WeakMap<Platform, LiveChannel>();

/** The platform's live channel, or one in-process channel per platform until it has one. */
export function liveOf(platform: Platform): LiveChannel {
  const own = (platform as Platform & { live?: LiveChannel }).live;
  if (own) return own;
  let local = fallbacks.get(platform);
  if (!local) {
    local = createLocalLive();
    fallbacks.set(platform, local);
  }
  return local;
}
