import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

describe('archery settings (seed names)', () => {
  it('defaults: channel archy, dev mode outside production', () => {
    const c = loadConfig({ NODE_ENV: 'development' });
    expect(c.archery).toEqual({ devMode: true, wsChannel: 'archy' });
    expect(c.port).toBe(8000);
  });

  it('takes ARCH_STATS_SERVER_PORT when PORT is not set, PORT otherwise', () => {
    expect(loadConfig({ ARCH_STATS_SERVER_PORT: '8123' }).port).toBe(8123);
    expect(loadConfig({ ARCH_STATS_SERVER_PORT: '8123', PORT: '9000' }).port).toBe(9000);
  });

  it.each([
    [
      { NODE_ENV: 'production', ARCH_STATS_DEV_MODE: 'true', JWT_SECRET: 'x'.repeat(40) },
      /ARCH_STATS_DEV_MODE: dev mode/,
    ],
    [{ ARCH_STATS_DEV_MODE: 'maybe' }, /ARCH_STATS_DEV_MODE: must be true or false/],
    [{ ARCH_STATS_WS_CHANNEL: 'bad channel;' }, /ARCH_STATS_WS_CHANNEL: must be a lower-case identifier/],
    [{ ARCH_STATS_SERVER_PORT: 'http' }, /ARCH_STATS_SERVER_PORT: must be a whole number/],
  ])('refuses %o', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('closes the archery routes in production unless asked', () => {
    const c = loadConfig({ NODE_ENV: 'test', ARCH_STATS_DEV_MODE: 'false' });
    expect(c.archery.devMode).toBe(false);
  });
});
