import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvTypeError, MemoryKv, type KeyValueStore } from '../../../src/platform/kv/index.ts';
import { ValkeyKv } from '../../../src/platform/kv/valkey.ts';
import { silentLog } from '../../helpers/db.ts';
import { eventually } from '../../helpers/live.ts';

/** Memory always; Valkey too when TEST_VALKEY_URL is set (keys under a random prefix, removed after). */
const stores: [string, () => Promise<KeyValueStore>][] = [['memory', async () => new MemoryKv()]];
const valkeyUrl = process.env.TEST_VALKEY_URL;
if (valkeyUrl) {
  stores.push([
    'valkey',
    () =>
      ValkeyKv.open({
        url: valkeyUrl,
        prefix: `conflux-test:${randomBytes(4).toString('hex')}:`,
        log: silentLog,
      }),
  ]);
}

describe.each(stores)('key-value store: %s', (_name, open) => {
  let kv: KeyValueStore;
  beforeAll(async () => {
    kv = await open();
  });
  afterAll(async () => {
    if (kv instanceof ValkeyKv) {
      const { client, prefix } = kv;
      const keys = await client.keys(`${prefix}*`);
      if (keys.length > 0) await client.del(...keys.map((k) => k.slice(prefix.length)));
    }
    await kv.close();
  });

  it('gets, sets, deletes and checks existence', async () => {
    expect(await kv.get('s1')).toBeNull();
    expect(await kv.set('s1', 'a')).toBe(true);
    expect(await kv.get('s1')).toBe('a');
    expect(await kv.exists('s1')).toBe(true);
    expect(await kv.set('s1', 'b', { ifAbsent: true })).toBe(false);
    expect(await kv.get('s1')).toBe('a');
    expect(await kv.set('s1-new', 'c', { ifAbsent: true })).toBe(true);
    expect(await kv.del('s1', 's1-new', 'never')).toBe(2);
    expect(await kv.exists('s1')).toBe(false);
  });

  it('expires keys after their TTL and reports the time left', async () => {
    await kv.set('t1', 'x', { ttlMs: 150 });
    const left = await kv.ttl('t1');
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(150);
    await kv.set('t2', 'y');
    expect(await kv.ttl('t2')).toBeNull();
    expect(await kv.expire('t2', 150)).toBe(true);
    expect(await kv.expire('t-missing', 150)).toBe(false);
    await eventually(async () => (await kv.get('t1')) === null && (await kv.get('t2')) === null, 'expiry');
    expect(await kv.ttl('t1')).toBeNull();
  });

  it('increments atomically, also under concurrency', async () => {
    expect(await kv.incr('c1')).toBe(1);
    expect(await kv.incr('c1', 5)).toBe(6);
    expect(await kv.incr('c1', -2)).toBe(4);
    await Promise.all(Array.from({ length: 200 }, () => kv.incr('c2')));
    expect(await kv.get('c2')).toBe('200');
    await kv.set('c3', 'not a number');
    await expect(kv.incr('c3')).rejects.toThrow(/not an integer/);
  });

  it('keeps hashes', async () => {
    await kv.hset('h1', { a: '1', b: '2' });
    await kv.hset('h1', { b: '3' });
    expect(await kv.hget('h1', 'b')).toBe('3');
    expect(await kv.hget('h1', 'zz')).toBeNull();
    expect(await kv.hgetall('h1')).toEqual({ a: '1', b: '3' });
    expect(await kv.hincr('h1', 'a', 10)).toBe(11);
    expect(await kv.hincr('h1', 'n')).toBe(1);
    expect(await kv.hdel('h1', 'a', 'b', 'zz')).toBe(2);
    expect(await kv.hgetall('h1')).toEqual({ n: '1' });
    expect(await kv.hgetall('h-missing')).toEqual({});
  });

  it('keeps lists with Valkey index semantics', async () => {
    expect(await kv.rpush('l1', 'b', 'c')).toBe(2);
    expect(await kv.lpush('l1', 'x', 'a')).toBe(4);
    expect(await kv.lrange('l1', 0, -1)).toEqual(['a', 'x', 'b', 'c']);
    expect(await kv.lrange('l1', -2, -1)).toEqual(['b', 'c']);
    expect(await kv.lrange('l1', 1, 100)).toEqual(['x', 'b', 'c']);
    expect(await kv.lrange('l1', 3, 1)).toEqual([]);
    expect(await kv.lpop('l1')).toBe('a');
    expect(await kv.rpop('l1')).toBe('c');
    expect(await kv.llen('l1')).toBe(2);
    await kv.rpush('l2', '1', '2', '3', '4', '5');
    await kv.ltrim('l2', -3, -1);
    expect(await kv.lrange('l2', 0, -1)).toEqual(['3', '4', '5']);
    expect(await kv.lpop('l-missing')).toBeNull();
  });

  it('refuses to use a key as another kind of value', async () => {
    await kv.set('w1', 'str');
    await expect(kv.hget('w1', 'f')).rejects.toBeInstanceOf(KvTypeError);
    await expect(kv.rpush('w1', 'v')).rejects.toBeInstanceOf(KvTypeError);
    await kv.rpush('w2', 'v');
    await expect(kv.get('w2')).rejects.toBeInstanceOf(KvTypeError);
  });

  it('publishes to subscribers until they unsubscribe', async () => {
    const got: string[] = [];
    const other: string[] = [];
    const off = await kv.subscribe('ch1', (m) => got.push(m));
    await kv.subscribe('ch2', (m) => other.push(m));
    expect(await kv.publish('ch1', 'one')).toBe(1);
    await kv.publish('ch2', 'two');
    await eventually(() => got.length === 1 && other.length === 1, 'both messages');
    expect(got).toEqual(['one']);
    await off();
    expect(await kv.publish('ch1', 'after')).toBe(0);
    await kv.publish('ch2', 'marker');
    await eventually(() => other.length === 2, 'the marker');
    expect(got).toEqual(['one']);
  });

  it('answers a ping', async () => {
    expect(await kv.ping()).toBeGreaterThanOrEqual(0);
  });
});
