/**
 * s3rver checks the access key of a SigV4 request but not its signature ("unimplemented" in its
 * authentication middleware), so a presigned URL with a tampered signature or a past expiry
 * would pass. This proxy sits in front of it and verifies presigned (query-string) SigV4 URLs
 * the way S3 does, with its own implementation (not the SDK's), before forwarding.
 */
import { createHash, createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const rfc3986 = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

/** Why a presigned request is refused, or `null` when its signature and expiry hold. */
export function checkPresigned(
  method: string,
  rawUrl: string,
  headers: http.IncomingHttpHeaders,
  secrets: Record<string, string>,
  now = new Date(),
): string | null {
  const q = rawUrl.indexOf('?');
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : rawUrl.slice(q + 1));
  const signature = params.get('X-Amz-Signature');
  const credential = params.get('X-Amz-Credential') ?? '';
  const amzDate = params.get('X-Amz-Date') ?? '';
  const expires = Number(params.get('X-Amz-Expires'));
  const signedHeaders = (params.get('X-Amz-SignedHeaders') ?? '').split(';');
  if (!signature || params.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') return 'not a SigV4 presigned URL';
  const [accessKey, date, region, service] = credential.split('/');
  const secret = secrets[accessKey ?? ''];
  if (secret === undefined) return 'unknown access key';
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!m) return 'bad X-Amz-Date';
  const signedAt = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  if (!(expires > 0) || now.getTime() > signedAt + expires * 1000) return 'Request has expired';

  const query = [...params.entries()]
    .filter(([k]) => k !== 'X-Amz-Signature')
    .map(([k, v]) => [rfc3986(k), rfc3986(v)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalHeaders = signedHeaders.map((h) => `${h}:${String(headers[h] ?? '').trim()}\n`).join('');
  const payload = params.get('X-Amz-Content-Sha256') ?? 'UNSIGNED-PAYLOAD';
  const canonical = [method, path, query, canonicalHeaders, signedHeaders.join(';'), payload].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    scope,
    createHash('sha256').update(canonical).digest('hex'),
  ].join('\n');
  let key = hmac(`AWS4${secret}`, date ?? '');
  for (const part of [region ?? '', service ?? '', 'aws4_request']) key = hmac(key, part);
  const expected = createHmac('sha256', key).update(toSign).digest('hex');
  return expected === signature ? null : 'SignatureDoesNotMatch';
}

export async function startSigV4Proxy(
  target: string,
  secrets: Record<string, string>,
): Promise<{ url: string; close(): Promise<void> }> {
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (url.includes('X-Amz-Signature=')) {
      const problem = checkPresigned(req.method ?? 'GET', url, req.headers, secrets);
      if (problem !== null) {
        res.writeHead(403, { 'content-type': 'application/xml' });
        res.end(`<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>${problem}</Message></Error>`);
        req.resume();
        return;
      }
    }
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
