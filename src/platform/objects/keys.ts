/**
 * Object keys: `<username>/<object name>`. Names may contain sub-folders, but nothing that could
 * climb out of a prefix or mean different things to S3 and to a file system.
 */

/** S3's limit, and ours for the embedded store. */
export const MAX_KEY_BYTES = 1024;

const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Why `key` is not acceptable, or `null` when it is. Refused: empty, a leading `/`, backslashes,
 * control characters, `.` / `..` / empty segments (so `a//b` and a trailing `/` too), over 1024 bytes.
 */
export function keyProblem(key: string): string | null {
  if (key === '') return 'is empty';
  if (key.startsWith('/')) return 'must not start with /';
  if (key.includes('\\')) return 'must not contain backslashes';
  if (CONTROL.test(key)) return 'must not contain control characters';
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) return `must be at most ${MAX_KEY_BYTES} bytes`;
  for (const segment of key.split('/')) {
    if (segment === '..' || segment === '.') return 'must not contain . or .. segments';
    if (segment === '') return 'must not contain empty segments (// or a trailing /)';
  }
  if (!key.isWellFormed()) return 'must be valid UTF-8';
  return null;
}

/** The key of a user's object, or the reason it is refused. */
export function userKey(username: string, objectName: string): { key: string } | { problem: string } {
  const key = `${username}/${objectName}`;
  const problem = keyProblem(objectName) ?? keyProblem(key);
  return problem === null ? { key } : { problem: `object_name ${problem}` };
}

/** Encodes each segment for a URL path, keeping the `/` between them. */
export const encodeKey = (key: string) => key.split('/').map(encodeURIComponent).join('/');
