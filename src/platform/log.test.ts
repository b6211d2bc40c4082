import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redactUrl } from './log.ts';

describe('redactUrl', () => {
  it.each([
    ['/auth/password?u=alice&p=s3cret', '/auth/password?u=alice&p=***'],
    ['/auth/refresh?rid=abc', '/auth/refresh?rid=***'],
    ['/o/k?X-Amz-Signature=dead&x=1', '/o/k?X-Amz-Signature=***&x=1'],
    ['/health', '/health'],
    ['/list?prefix=a', '/list?prefix=a'],
  ])('%s → %s', (input, expected) => {
    expect(redactUrl(input)).toBe(expected);
  });
});

describe('createLogger', () => {
  it('masks secrets in objects and request URLs', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const log = createLogger({ level: 'info', destination: sink });
    log.info({ password: 'hunter2', user: { token: 't0ken' } }, 'x');
    log.info({ req: { method: 'POST', url: '/auth/password?u=a&p=hunter2', headers: {} } }, 'y');
    const out = lines.join('');
    expect(out).not.toContain('hunter2');
    expect(out).not.toContain('t0ken');
    expect(out).toContain('p=***');
  });
});
