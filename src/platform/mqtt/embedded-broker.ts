import { randomBytes, timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import { Aedes, type AuthenticateError } from 'aedes';
import type { Logger } from 'pino';
import type { DeviceAuthenticator } from './port.ts';

export interface EmbeddedBroker {
  readonly port: number;
  /** Credentials the platform's own clients use; never shown anywhere. */
  readonly internal: { username: string; password: string };
  setDeviceAuthenticator(fn: DeviceAuthenticator): void;
  close(): Promise<void>;
}

/**
 * The in-process broker (Aedes on a TCP port). Sessions live in memory: they die with the
 * process, which is fine because the broker and its only durable consumer die together.
 */
export async function startEmbeddedBroker(opts: {
  host: string;
  port: number;
  allowAnonymous: boolean;
  log: Logger;
}): Promise<EmbeddedBroker> {
  const internal = {
    username: `conflux-internal-${randomBytes(4).toString('hex')}`,
    password: randomBytes(24).toString('base64url'),
  };
  let devices: DeviceAuthenticator | null = null;
  const broker = await Aedes.createBroker({
    // Keep QoS 1 messages for slow consumers instead of dropping them.
    queueLimit: 100_000,
    authenticate: (_client, username, password, done) => {
      const fail = () => {
        const err = new Error('bad username or password') as AuthenticateError;
        err.returnCode = 4;
        done(err, false);
      };
      if (username === internal.username) {
        const ok = password !== undefined && safeEqual(password, Buffer.from(internal.password));
        return ok ? done(null, true) : fail();
      }
      if (devices !== null && username !== undefined) {
        devices(username, password?.toString('utf8') ?? '').then(
          (ok) => (ok ? done(null, true) : fail()),
          () => fail(),
        );
        return;
      }
      // No API-key verifier yet (the auth part sets one): anonymous only when allowed.
      return opts.allowAnonymous ? done(null, true) : fail();
    },
  });
  broker.on('clientError', (client, err) => opts.log.debug({ client: client.id, err }, 'mqtt client error'));
  const server = net.createServer((socket) => broker.handle(socket));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : opts.port;
  return {
    port,
    internal,
    setDeviceAuthenticator(fn) {
      devices = fn;
    },
    async close() {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
