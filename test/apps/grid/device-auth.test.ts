/** Devices log in to the embedded broker with an API key: username = key id, password = secret. */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseApiKey } from '../../../src/platform/auth/secrets.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';

describe('device API keys on the embedded broker', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('pglite', { MQTT_ALLOW_ANONYMOUS: 'false' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  const connect = (opts: mqtt.IClientOptions) =>
    mqtt.connectAsync(server.core.mqtt!.url, { ...opts, reconnectPeriod: 0, connectTimeout: 5000 });

  it('accepts a device key, refuses a wrong secret, a revoked key and anonymous devices', async () => {
    await server.core.auth.createUser('meter-fleet', null, 'device');
    const created = await server.core.auth.createApiKey('meter-fleet', 'field meters');
    const { id, secret } = parseApiKey(created.key)!;
    const ok = await connect({ clientId: 'dev-ok', username: id, password: secret });
    expect(ok.connected).toBe(true);
    await ok.endAsync();
    await expect(connect({ clientId: 'dev-bad', username: id, password: `${secret}x` })).rejects.toThrow();
    await expect(connect({ clientId: 'dev-anon' })).rejects.toThrow();
    await server.core.auth.revokeApiKey(created.id);
    await expect(connect({ clientId: 'dev-revoked', username: id, password: secret })).rejects.toThrow();
  });
});
