/**
 * Live channel clients for tests: a WebSocket client and an SSE reader over real sockets that
 * record what they receive and let a test wait for a condition with a deadline.
 */
import WebSocket from 'ws';

export interface Received {
  topic?: string;
  id?: number;
  ts?: string;
  data?: unknown;
  type?: string;
  [k: string]: unknown;
}

/** Polls `check` until it returns something other than undefined/false, or fails at the deadline. */
export async function eventually<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export class WsClient {
  readonly ws: WebSocket;
  readonly messages: Received[] = [];
  closed = false;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data: Buffer) => this.messages.push(JSON.parse(data.toString('utf8')) as Received));
    ws.on('close', () => (this.closed = true));
  }

  static async connect(baseUrl: string, path = '/live'): Promise<WsClient> {
    const ws = new WebSocket(baseUrl.replace(/^http/, 'ws') + path);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    return new WsClient(ws);
  }

  get events(): Received[] {
    return this.messages.filter((m) => m.type === undefined);
  }

  /** Subscribes and waits for the server's acknowledgement (after any replay). */
  async subscribe(topics: string[], since?: number): Promise<Received> {
    const before = this.messages.length;
    this.ws.send(JSON.stringify({ type: 'subscribe', topics, ...(since === undefined ? {} : { since }) }));
    return eventually(
      () => this.messages.slice(before).find((m) => m.type === 'subscribed' || m.type === 'error'),
      `subscription to ${topics.join(',')}`,
    );
  }

  close(): void {
    this.ws.close();
  }
}

/** Reads `/live/sse` with fetch's streaming body and parses the SSE messages. */
export class SseClient {
  readonly messages: { id?: string; event?: string; data: Received }[] = [];
  private readonly controller = new AbortController();
  status = 0;
  ended = false;

  static async connect(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const c = new SseClient();
    const res = await fetch(url, { headers, signal: c.controller.signal });
    c.status = res.status;
    if (res.ok && res.body) void c.read(res.body);
    else c.ended = true;
    return c;
  }

  get events(): Received[] {
    return this.messages.filter((m) => m.event === undefined).map((m) => m.data);
  }

  private async read(body: ReadableStream<Uint8Array>) {
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of body) {
        buf += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const fields: Record<string, string> = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':') || line === '') continue;
            const i = line.indexOf(':');
            fields[line.slice(0, i)] = line.slice(i + 1).trimStart();
          }
          if (fields.data !== undefined)
            this.messages.push({
              id: fields.id,
              event: fields.event,
              data: JSON.parse(fields.data) as Received,
            });
        }
      }
    } catch {
      // aborted or cut off by the server
    }
    this.ended = true;
  }

  close(): void {
    this.controller.abort();
  }
}
