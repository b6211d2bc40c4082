import { describe, expect, it } from 'vitest';
import { DeadLetter } from '../../platform/mqtt/port.ts';
import { decodeAck, decodeMetering, parseTimestamp } from './codec.ts';
import { splitReduction } from './dispatch.ts';
import { topicMatches } from './ingest.ts';
import { parseGranularity } from './service.ts';

const buf = (o: unknown) => Buffer.from(JSON.stringify(o));

describe('grid payload codec', () => {
  it('reads epoch seconds, epoch milliseconds and ISO timestamps alike', () => {
    const iso = '2026-03-01T12:00:00.000Z';
    const ms = Date.parse(iso);
    expect(parseTimestamp(ms / 1000).toISOString()).toBe(iso);
    expect(parseTimestamp(ms).toISOString()).toBe(iso);
    expect(parseTimestamp(iso).toISOString()).toBe(iso);
    expect(() => parseTimestamp('soon')).toThrow(DeadLetter);
    expect(() => parseTimestamp(undefined)).toThrow(DeadLetter);
  });

  it('accepts the legacy power_kw / shed_kw names and takes the VEN id from the topic', () => {
    const m = decodeMetering(buf({ timestamp: 1767225600, power_kw: 3.5, shed_kw: 1.25 }), 'ven-from-topic');
    expect(m).toMatchObject({ venId: 'ven-from-topic', usedPowerKw: 3.5, shedPowerKw: 1.25, loads: [] });
  });

  it('takes VEN ids of 1–128 letters, digits and _.:@-', () => {
    const withVen = (venId: string) => () => decodeMetering(buf({ venId, timestamp: 1767225600 }), null);
    for (const ok of ['meter@site-3', 'bldg.7:unit_2', 'a..b', 'v'.repeat(128)])
      expect(withVen(ok)().venId).toBe(ok);
    for (const bad of ['', 'a b', 'a/b', 'v'.repeat(129)])
      expect(withVen(bad), bad).toThrow(/venId missing or invalid/);
  });

  it('dead-letters wrong types instead of guessing', () => {
    expect(() => decodeMetering(buf({ venId: 'v', timestamp: 1767225600, usedPowerKw: '3' }), null)).toThrow(
      /usedPowerKw must be a number/,
    );
    expect(() =>
      decodeMetering(buf({ venId: 'v', timestamp: 1767225600, loads: [{ id: 'a' }, { id: 'a' }] }), null),
    ).toThrow(/duplicated/);
    expect(() => decodeMetering(Buffer.from('{"venId": "v", timestamp'), null)).toThrow(/not JSON/);
    // Stored as received, so it must be text PostgreSQL takes: invalid UTF-8 is refused up front.
    expect(() => decodeMetering(Buffer.from([0xff, 0x00]), null)).toThrow(/not UTF-8/);
    const latin1 = Buffer.from('{"venId":"v","timestamp":1767225600,"name":"caf\xe9"}', 'latin1');
    expect(() => decodeMetering(latin1, null)).toThrow(/not UTF-8/);
  });

  it('keeps load names PostgreSQL can read back from the loads column', () => {
    const withName = (name: string) =>
      Buffer.from(`{"venId":"v","timestamp":1767225600,"loads":[{"id":"c1","name":"${name}"}]}`);
    // JSON.parse takes both escapes; PostgreSQL's JSON parser refuses them (migration 005).
    // NUL dead-letters the message (a text column never took it either).
    expect(() => decodeMetering(withName('a\\u0000b'), null)).toThrow(/loads\[0\]\.name holds NUL/);
    // An unpaired surrogate is replaced, as writing it to a text column as UTF-8 did.
    expect(decodeMetering(withName('a\\ud800b'), null).loads[0]?.name).toBe('a\ufffdb');
    expect(decodeMetering(withName('caf\\u00e9 \\ud83d\\ude00'), null).loads[0]?.name).toBe('café 😀');
  });

  it('takes ping and restore acks without an eventId, but not event acks', () => {
    expect(decodeAck(buf({ op: 'ping', status: 'success' }), 'v1')).toMatchObject({
      venId: 'v1',
      eventId: null,
    });
    expect(decodeAck(buf({ op: 'restore', status: 'success', event_id: 'evt-1' }), 'v1').eventId).toBe(
      'evt-1',
    );
    expect(() => decodeAck(buf({ op: 'event', status: 'accepted' }), 'v1')).toThrow(/without eventId/);
    expect(() => decodeAck(buf({ op: 'dance', status: 'accepted' }), 'v1')).toThrow(DeadLetter);
  });
});

describe('dispatch split', () => {
  it('splits proportionally to shed availability, equally when none is known', () => {
    const p = splitReduction(10, [
      { id: 'a', availability: 3 },
      { id: 'b', availability: 1 },
    ]);
    expect([p.get('a'), p.get('b')]).toEqual([7.5, 2.5]);
    const e = splitReduction(9, [
      { id: 'a', availability: null },
      { id: 'b', availability: 0 },
      { id: 'c', availability: null },
    ]);
    expect([...e.values()]).toEqual([3, 3, 3]);
  });
});

describe('helpers', () => {
  it('matches MQTT topic filters and parses granularities', () => {
    expect(topicMatches('ven/telemetry/+', 'ven/telemetry/v1')).toBe(true);
    expect(topicMatches('ven/telemetry/+', 'ven/telemetry/v1/x')).toBe(false);
    expect(topicMatches('a/#', 'a/b/c')).toBe(true);
    expect(parseGranularity('5m')).toBe(300_000);
    expect(parseGranularity('250ms')).toBe(250);
    expect(() => parseGranularity('5 minutes')).toThrow();
  });
});
