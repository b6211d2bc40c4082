/** Shared helpers of the archery tests: envelope requests, a practice set-up, a real ws client. */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import type { TestServer } from '../helpers/server.ts';

export interface Envelope<T = unknown> {
  code: number;
  data: T;
  errors: string[];
}

export async function call<T = unknown>(
  server: { url: string },
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Envelope<T> }> {
  const res = await fetch(`${server.url}/api/v0${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Envelope<T> };
}

/** Polls `check` until it returns a value other than undefined, or fails after `ms`. */
export async function eventually<T>(
  check: () => T | undefined | Promise<T | undefined>,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A real WebSocket client on /api/v0/ws/shot that collects every message. */
export async function shotSocket(server: { url: string }) {
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/api/v0/ws/shot`);
  const messages: Record<string, unknown>[] = [];
  ws.on('message', (m: Buffer) => messages.push(JSON.parse(m.toString()) as Record<string, unknown>));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    messages,
    close: () =>
      new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.close();
      }),
  };
}

/** An open session with a 1.5 m × 1.5 m target at 18 m carrying one 122 cm face, and arrows. */
export async function setUpPractice(server: TestServer | { url: string }, arrows = 3) {
  const session = await call<{ id: string }>(server, 'POST', '/session', {
    location: 'range',
    is_indoor: true,
  });
  const target = await call<{ id: string }>(server, 'POST', '/target', {
    max_x: 1500,
    max_y: 1500,
    distance: 18,
    session_id: session.body.data.id,
  });
  const faces = await call<{ id: string }[]>(server, 'POST', `/target/${target.body.data.id}/face`, {
    catalogue_id: 'wa-122-full',
  });
  const arrowIds: string[] = [];
  for (let i = 0; i < arrows; i++) {
    const id = randomUUID();
    await call(server, 'POST', '/arrow', { id, human_identifier: `T${i}-${id.slice(0, 4)}`, length: 70 });
    arrowIds.push(id);
  }
  return { sessionId: session.body.data.id, targetId: target.body.data.id, faces: faces.body.data, arrowIds };
}
