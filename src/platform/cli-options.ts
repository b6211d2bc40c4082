/**
 * Option parsers for the command line. Commander calls them while parsing, so a bad value stops
 * the command before it starts, with one line naming the option:
 * `error: option '--vens <n>' argument 'abc' is invalid. must be a whole number from 1 to 10000`.
 */
import { InvalidArgumentError } from 'commander';
import { parseApiKey } from './auth/secrets.ts';

/** A whole number in `[min, max]`. */
export function wholeNumber(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(
        max === Number.MAX_SAFE_INTEGER
          ? `must be a whole number of at least ${min}`
          : `must be a whole number from ${min} to ${max}`,
      );
    }
    return n;
  };
}

/** An API key as `POST /auth/api-keys` returns it (`ck_<id>_<secret>`), split into id and secret. */
export function apiKey(value: string): { id: string; secret: string } {
  const parsed = parseApiKey(value.trim());
  if (!parsed) {
    throw new InvalidArgumentError(
      'expected the whole key ck_<id>_<secret>, as POST /auth/api-keys returns it',
    );
  }
  return parsed;
}
