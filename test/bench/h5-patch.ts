/**
 * Test helper: rewrites the filter id of a chunked dataset in an HDF5 file written by h5wasm, to
 * produce a dataset compressed with a filter the library does not have (h5wasm refuses to write
 * one). The object header's Jenkins lookup3 checksum is recomputed so the file stays valid.
 */

const rot = (x: number, k: number) => (x << k) | (x >>> (32 - k));

/** Bob Jenkins' lookup3 `hashlittle`, as HDF5 uses it for metadata checksums. */
export function lookup3(k: Uint8Array, initval = 0): number {
  let length = k.length;
  let a = (0xdeadbeef + length + initval) | 0;
  let b = a;
  let c = a;
  let o = 0;
  const w = (i: number) => k[o + i] ?? 0;
  while (length > 12) {
    a = (a + (w(0) | (w(1) << 8) | (w(2) << 16) | (w(3) << 24))) | 0;
    b = (b + (w(4) | (w(5) << 8) | (w(6) << 16) | (w(7) << 24))) | 0;
    c = (c + (w(8) | (w(9) << 8) | (w(10) << 16) | (w(11) << 24))) | 0;
    a = (a - c) | 0;
    a ^= rot(c, 4);
    c = (c + b) | 0;
    b = (b - a) | 0;
    b ^= rot(a, 6);
    a = (a + c) | 0;
    c = (c - b) | 0;
    c ^= rot(b, 8);
    b = (b + a) | 0;
    a = (a - c) | 0;
    a ^= rot(c, 16);
    c = (c + b) | 0;
    b = (b - a) | 0;
    b ^= rot(a, 19);
    a = (a + c) | 0;
    c = (c - b) | 0;
    c ^= rot(b, 4);
    b = (b + a) | 0;
    length -= 12;
    o += 12;
  }
  if (length === 0) return c >>> 0;
  const tail = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  for (let i = 0; i < length; i++) tail[i] = w(i);
  const t = (i: number) => tail[i] ?? 0;
  a = (a + (t(0) | (t(1) << 8) | (t(2) << 16) | (t(3) << 24))) | 0;
  b = (b + (t(4) | (t(5) << 8) | (t(6) << 16) | (t(7) << 24))) | 0;
  c = (c + (t(8) | (t(9) << 8) | (t(10) << 16) | (t(11) << 24))) | 0;
  c ^= b;
  c = (c - rot(b, 14)) | 0;
  a ^= c;
  a = (a - rot(c, 11)) | 0;
  b ^= a;
  b = (b - rot(a, 25)) | 0;
  c ^= b;
  c = (c - rot(b, 16)) | 0;
  a ^= c;
  a = (a - rot(c, 4)) | 0;
  b ^= a;
  b = (b - rot(a, 14)) | 0;
  c ^= b;
  c = (c - rot(b, 24)) | 0;
  return c >>> 0;
}

/**
 * Replaces the deflate filter (id 1, level `level`) of the first matching pipeline message by
 * `filterId` (< 256, so the message layout does not change) and fixes the header checksum.
 */
export function replaceDeflateFilter(file: Buffer, level: number, filterId: number): Buffer {
  const out = Buffer.from(file);
  // filter pipeline message v2 body: version 2, 1 filter, id 1, flags 0 (mandatory), 1 client value = level
  const pattern = Buffer.from([2, 1, 1, 0, 0, 0, 1, 0, level, 0, 0, 0]);
  const at = out.indexOf(pattern);
  if (at < 0) throw new Error('no deflate pipeline message found');
  out.writeUInt16LE(filterId, at + 2);
  const start = out.lastIndexOf('OHDR', at);
  if (start < 0) throw new Error('filter message is not in a version 2 object header');
  const flags = out[start + 5] ?? 0;
  let p = start + 6;
  if (flags & 0x20) p += 16; // times
  if (flags & 0x10) p += 4; // attribute phase change values
  const sizeBytes = 1 << (flags & 3);
  let size = 0;
  for (let i = 0; i < sizeBytes; i++) size += (out[p + i] ?? 0) * 2 ** (8 * i);
  p += sizeBytes;
  const end = p + size;
  const stored = out.readUInt32LE(end);
  if (lookup3(file.subarray(start, end)) !== stored) throw new Error('checksum layout not understood');
  out.writeUInt32LE(lookup3(out.subarray(start, end)), end);
  return out;
}
