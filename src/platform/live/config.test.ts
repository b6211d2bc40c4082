import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config.ts';

describe('live and key-value configuration', () => {
  it('has working defaults: in-memory store, NOTIFY fan-out, 1 MiB per client', () => {
    const c = loadConfig({}, '/tmp');
    expect(c.valkey).toEqual({ url: null, prefix: 'conflux:' });
    expect(c.live).toEqual({
      clientBufferBytes: 1048576,
      durableTopics: [],
      retainEvents: 1000,
      retainMinutes: 60,
      fanout: 'auto',
    });
  });

  it('reads every variable', () => {
    const c = loadConfig(
      {
        VALKEY_URL: 'redis://cache:6379/2',
        VALKEY_PREFIX: 'x:',
        LIVE_FANOUT: 'valkey',
        LIVE_DURABLE_TOPICS: 'grid.events.*, archery.shots',
        LIVE_CLIENT_BUFFER_BYTES: '65536',
        LIVE_RETAIN_EVENTS: '50',
        LIVE_RETAIN_MINUTES: '5',
      },
      '/tmp',
    );
    expect(c.valkey).toEqual({ url: 'redis://cache:6379/2', prefix: 'x:' });
    expect(c.live).toEqual({
      clientBufferBytes: 65536,
      durableTopics: ['grid.events.*', 'archery.shots'],
      retainEvents: 50,
      retainMinutes: 5,
      fanout: 'valkey',
    });
  });

  it.each([
    [{ LIVE_FANOUT: 'valkey' }, 'LIVE_FANOUT: valkey needs VALKEY_URL'],
    [{ LIVE_FANOUT: 'kafka' }, 'LIVE_FANOUT: must be one of'],
    [{ LIVE_DURABLE_TOPICS: 'a..b' }, "LIVE_DURABLE_TOPICS: 'a..b' is not a topic pattern"],
    [{ LIVE_CLIENT_BUFFER_BYTES: '10' }, 'LIVE_CLIENT_BUFFER_BYTES: must be a whole number'],
    [{ VALKEY_URL: 'http://cache:6379' }, 'VALKEY_URL: scheme must be'],
  ])('refuses %o naming the variable', (env, message) => {
    expect(() => loadConfig(env, '/tmp')).toThrow(ConfigError);
    expect(() => loadConfig(env, '/tmp')).toThrow(message);
  });
});
