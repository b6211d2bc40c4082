import { createHash } from 'node:crypto';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { textFrame } from './ws-shot.ts';

/**
 * Sends `frames` from a bare TCP server that does the WebSocket handshake by hand and
 * returns what a real `ws` client decodes from them.
 */
async function decode(frames: Buffer, expected: number): Promise<string[]> {
  const server = net.createServer((socket) => {
    socket.once('data', (head: Buffer) => {
      const key = /sec-websocket-key: (\S+)/i.exec(head.toString())?.[1] ?? '';
      const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
      );
      socket.write(frames);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  const messages: string[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      ws.on('message', (m: Buffer) => {
        messages.push(m.toString());
        if (messages.length === expected) resolve();
      });
      ws.on('error', reject);
    });
  } finally {
    ws.terminate();
    server.close();
  }
  return messages;
}

describe('textFrame', () => {
  it.each([0, 125, 126, 65_535, 65_536, 200_000])(
    'frames a %i-byte text message that ws decodes',
    async (n) => {
      const text = 'x'.repeat(n);
      expect(await decode(textFrame(Buffer.from(text)), 1)).toEqual([text]);
    },
  );

  it('concatenated frames decode as separate messages', async () => {
    const frames = Buffer.concat(['{"a":1}', '{"b":2}'].map((s) => textFrame(Buffer.from(s))));
    expect(await decode(frames, 2)).toEqual(['{"a":1}', '{"b":2}']);
  });
});
