import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePattern, isPattern, isTopic, patternToLike } from './topics.ts';
import { parseClientMessage } from './ws-route.ts';

describe('topic patterns', () => {
  it.each([
    ['grid.telemetry.*', 'grid.telemetry.ven-1a2b', true],
    ['grid.telemetry.*', 'grid.telemetry.ven-1.extra', true],
    ['grid.telemetry.*', 'grid.telemetry', false],
    ['grid.telemetry.*', 'grid.telemetryx.a', false],
    ['grid.*.status', 'grid.ven-1.status', true],
    ['grid.*.status', 'grid.status', false],
    ['*', 'anything.at.all', true],
    ['a.b', 'a.b', true],
    ['a.b', 'a.bc', false],
    ['a-b.*', 'a-b.c', true],
  ])('%s matches %s: %s', (pattern, topic, expected) => {
    expect(compilePattern(pattern)(topic)).toBe(expected);
  });

  it('validates names', () => {
    expect(isTopic('grid.telemetry.ven-1a2b3c4d')).toBe(true);
    // Grid VEN ids may hold @ (and dots, which then separate words).
    expect(isTopic('grid.telemetry.meter@site-3.b2')).toBe(true);
    expect(isPattern('grid.telemetry.*@site-3')).toBe(true);
    for (const bad of ['', 'a..b', '.a', 'a.', 'a b', 'a.*', 'x'.repeat(201)])
      expect(isTopic(bad)).toBe(false);
    expect(isPattern('a.*.c')).toBe(true);
    expect(isPattern('a..*')).toBe(false);
  });

  it('translates to SQL LIKE with the same meaning (escaping LIKE wildcards)', () => {
    expect(patternToLike('grid.telemetry.*')).toBe('grid.telemetry._%');
    expect(patternToLike('a_b.*')).toBe('a\\_b._%');
    // The RegExp and the LIKE operand agree on every generated topic.
    const like = (pattern: string, topic: string) => {
      const source = patternToLike(pattern)
        .split(/(\\[\\%_]|%|_)/)
        .map((part) =>
          part === '%'
            ? '.*'
            : part === '_'
              ? '.'
              : part.startsWith('\\')
                ? `\\${part[1]}`
                : part.replace(/[.+?^${}()|[\]\\-]/g, '\\$&'),
        )
        .join('');
      return new RegExp(`^${source}$`).test(topic);
    };
    const word = fc.stringMatching(/^[a-z_]{1,3}$/);
    const topic = fc.array(word, { minLength: 1, maxLength: 4 }).map((w) => w.join('.'));
    const pattern = fc
      .array(fc.oneof(word, fc.constant('*')), { minLength: 1, maxLength: 4 })
      .map((w) => w.join('.'));
    fc.assert(
      fc.property(pattern, topic, (p, t) => {
        expect(like(p, t)).toBe(compilePattern(p)(t));
      }),
    );
  });
});

describe('WebSocket client messages', () => {
  it.each([
    ['{"type":"subscribe","topics":["a"]}', { type: 'subscribe', topics: ['a'] }],
    ['{"type":"subscribe","topics":["a"],"since":5}', { type: 'subscribe', topics: ['a'], since: 5 }],
    ['{"type":"unsubscribe"}', { type: 'unsubscribe' }],
    ['{"type":"unsubscribe","topics":["a"]}', { type: 'unsubscribe', topics: ['a'] }],
  ])('accepts %s', (text, parsed) => {
    expect(parseClientMessage(text)).toEqual(parsed);
  });

  it.each([
    'not json',
    '[]',
    '{"type":"subscribe"}',
    '{"type":"subscribe","topics":[]}',
    '{"type":"subscribe","topics":[1]}',
    '{"type":"subscribe","topics":["a"],"since":-1}',
    '{"type":"subscribe","topics":["a"],"since":"5"}',
    '{"type":"unsubscribe","topics":"a"}',
    '{"type":"publish"}',
  ])('refuses %s with a reason', (text) => {
    expect(parseClientMessage(text)).toBeTypeOf('string');
  });
});
