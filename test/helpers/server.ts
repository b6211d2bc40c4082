/**
 * Starts a whole Conflux server for a test, on a free port and a fresh database, and returns
 * it with an `inject` shortcut. Close it with `stop()` in `afterAll`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { startServer, type Server } from '../../src/server.ts';
import { freshDatabase, silentLog, type Backend } from './db.ts';

export interface TestServer extends Server {
  dataDir: string;
  databaseUrl: string | null;
}

/**
 * The configuration of a test server: free HTTP and MQTT ports (this machine may run a broker on
 * 1883), its own MQTT session, silent logs. Also for a second instance on the same database.
 */
export function testConfig(dataDir: string, databaseUrl: string | null, env: Record<string, string> = {}) {
  return loadConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    MQTT_PORT: '0',
    MQTT_CLIENT_ID: `conflux-test-${randomBytes(4).toString('hex')}`,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    ...env,
  });
}

export async function startTestServer(
  backend: Backend,
  env: Record<string, string> = {},
  log: Logger = silentLog,
): Promise<TestServer> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'conflux-test-'));
  const fresh = await freshDatabase(backend);
  const config = testConfig(dataDir, fresh.url, env);
  const server = await startServer(config, log, { db: fresh.db });
  return {
    ...server,
    dataDir,
    databaseUrl: fresh.url,
    async stop() {
      await server.stop();
      await fresh.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
