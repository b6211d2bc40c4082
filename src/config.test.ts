import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, VARIABLES, describeConfig, loadConfig, maskSecret } from './config.ts';

describe('loadConfig', () => {
  it('has working defaults for a bare machine', () => {
    const c = loadConfig({}, '/srv/app');
    expect(c).toMatchObject({ host: '0.0.0.0', port: 8000, dataDir: '/srv/app/data', apps: null });
    expect(c.database.url).toBeNull();
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT: must be a whole number from 0 to 65535 \(got 'eighty'\)/],
    [{ PORT: '70000' }, /PORT: must be a whole number/],
    [{ DATABASE_URL: 'mysql://x@y/z' }, /DATABASE_URL: scheme must be postgres: or postgresql:/],
    [{ DATABASE_URL: 'not a url' }, /DATABASE_URL: is not a valid URL/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL: must be one of/],
    [{ NODE_ENV: 'staging' }, /NODE_ENV: must be one of/],
    [{ LIVE_DURABLE_TOPICS: 'grid.*,a..b' }, /LIVE_DURABLE_TOPICS: 'a..b' is not a topic pattern/],
  ])('names the variable and the problem: %o', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('reports every bad variable at once', () => {
    try {
      loadConfig({ PORT: 'x', DATABASE_POOL_MAX: '0' });
      expect.fail('should throw');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).problems).toHaveLength(2);
    }
  });

  it('takes the durable topic patterns the live channel takes, @ included', () => {
    const c = loadConfig({ LIVE_DURABLE_TOPICS: 'grid.events,grid.telemetry.meter@site-3,archery.*' });
    expect(c.live.durableTopics).toEqual(['grid.events', 'grid.telemetry.meter@site-3', 'archery.*']);
  });

  it('parses APPS as a list', () => {
    expect(loadConfig({ APPS: ' grid, bench ,' }).apps).toEqual(['grid', 'bench']);
  });
});

describe('documentation and masking', () => {
  it('documents every variable in .env.example with its default', () => {
    const example = readFileSync(new URL('../.env.example', import.meta.url), 'utf8');
    for (const v of VARIABLES) expect(example).toContain(`\n${v.name}=${v.default}\n`);
  });

  it('masks secrets', () => {
    expect(maskSecret('postgres://u:hunter2@db:5432/x')).toBe('postgres://u:***@db:5432/x');
    expect(maskSecret('plain-secret')).toBe('***');
    const rows = describeConfig({ DATABASE_URL: 'postgres://u:hunter2@db/x' });
    expect(JSON.stringify(rows)).not.toContain('hunter2');
  });
});
