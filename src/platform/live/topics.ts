/**
 * Topic names and patterns. Topics are dot-separated words of letters, digits and `_:@-`
 * (`grid.telemetry.ven-1a2b3c4d`, `grid.telemetry.meter@site-3`); a pattern may hold `*`, which
 * matches any non-empty run of characters, dots included, so `grid.telemetry.*` matches every VEN
 * and `grid.*` everything of grid.
 */

const TOPIC = /^[A-Za-z0-9_:@-]+(\.[A-Za-z0-9_:@-]+)*$/;
const PATTERN = /^[A-Za-z0-9_:@*-]+(\.[A-Za-z0-9_:@*-]+)*$/;
export const MAX_TOPIC_LENGTH = 200;

export function isTopic(topic: string): boolean {
  return topic.length <= MAX_TOPIC_LENGTH && TOPIC.test(topic);
}

export function isPattern(pattern: string): boolean {
  return pattern.length <= MAX_TOPIC_LENGTH && PATTERN.test(pattern);
}

export function hasWildcard(pattern: string): boolean {
  return pattern.includes('*');
}

/** A matcher for one pattern; exact names compare as strings, wildcards through a RegExp. */
export function compilePattern(pattern: string): (topic: string) => boolean {
  if (!hasWildcard(pattern)) return (topic) => topic === pattern;
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\-]/g, '\\$&'))
    .join('.+');
  const re = new RegExp(`^${source}$`);
  return (topic) => re.test(topic);
}

/** The same pattern as an SQL `LIKE` operand (with `\` as the escape character). */
export function patternToLike(pattern: string): string {
  return pattern.replace(/[\\%_]/g, '\\$&').replaceAll('*', '_%');
}
