/**
 * Reads a Slurm-style HDF5 profile with h5wasm (the HDF5 C library compiled to WebAssembly)
 * from a file on disk: every top-level group is a node; every numeric dataset below it
 * (compound tables, 1-D and N-D arrays, in nested sub-groups, chunked and compressed) becomes
 * columns named by the dataset path joined with `__`.
 *
 * h5wasm does not report read errors: when HDF5 cannot decode a chunk (a compression filter it
 * does not have, corrupt data) it prints a diagnostic and returns whatever the buffer held.
 * So we (1) refuse datasets whose filters are not built in, with a clear reason, and (2) fill
 * every read buffer with a sentinel and re-read with another one when a row still looks
 * untouched: a row that differs between the two reads was never written by HDF5.
 */
import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
// h5wasm is loaded on first use: its 4 MB module costs start-up time and memory for every server.
import type * as H5Lib from 'h5wasm/node';
import type { Dataset as H5Dataset, File as H5File, Group as H5Group } from 'h5wasm/node';

/** Filters compiled into h5wasm's HDF5: deflate, shuffle, fletcher32, nbit, scale-offset. */
const DECODABLE_FILTERS = new Map([
  [1, 'deflate'],
  [2, 'shuffle'],
  [3, 'fletcher32'],
  [5, 'nbit'],
  [6, 'scaleoffset'],
]);
/** Well-known registered ids, only to name them in messages. */
const KNOWN_FILTER_NAMES = new Map([
  [4, 'szip'],
  [32000, 'lzf'],
  [32001, 'blosc'],
  [32004, 'lz4'],
  [32008, 'bitshuffle'],
  [32015, 'zstd'],
]);

const H5T_INTEGER = 0;
const H5T_FLOAT = 1;
const H5T_COMPOUND = 6;
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Raised for a file that cannot be used; the message is shown to the user as the reason. */
export class ProfileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProfileError';
  }
}

/** One numeric column of a dataset, before joining: `field` is the member or dataset name. */
export interface RawColumn {
  name: string;
  field: string;
  values: Float64Array;
}

/** The columns of one dataset, which share a row axis. */
export interface RawTable {
  path: string;
  columns: RawColumn[];
}

export interface RawNode {
  name: string;
  tables: RawTable[];
}

interface TypeMeta {
  type: number;
  size: number;
  signed: boolean;
  littleEndian: boolean;
  shape?: number[] | null;
  total_size?: number;
  name?: string;
  offset?: number;
  compound_type?: { members: TypeMeta[] };
}

interface H5Module {
  get_dataset_data(
    fileId: bigint,
    path: string,
    count: null,
    offset: null,
    strides: null,
    ptr: bigint,
  ): number;
  _malloc(n: number): number;
  _free(ptr: number): void;
  HEAPU8: Uint8Array;
}

let loaded: Promise<{ lib: typeof H5Lib; module: H5Module }> | null = null;
const h5 = () =>
  (loaded ??= import('h5wasm/node').then(async (lib) => ({
    lib,
    module: (await lib.ready) as unknown as H5Module,
  })));

const SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Checks what HDF5 would only answer with an opaque error: empty file, no signature, or a file
 * shorter than the end-of-file address its superblock records (truncated upload).
 */
export function checkContainer(file: string): void {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size === 0) throw new ProfileError('the file is empty');
    const head = Buffer.alloc(Math.min(size, 64));
    // the superblock sits at 0, 512, 1024, 2048 ... (after an optional user block)
    for (let at = 0; at + 8 <= size; at = at === 0 ? 512 : at * 2) {
      readSync(fd, head, 0, head.length, at);
      if (!head.subarray(0, 8).equals(SIGNATURE)) continue;
      const version = head[8] ?? 0;
      const offsets = version >= 2 ? (head[9] ?? 8) : (head[13] ?? 8);
      const eofAt = version >= 2 ? 12 + 2 * offsets : (version === 1 ? 28 : 24) + 2 * offsets;
      if (eofAt + offsets <= head.length && offsets === 8) {
        const eof = Number(head.readBigUInt64LE(eofAt)) + at;
        if (eof > size) {
          throw new ProfileError(`the file is truncated: ${size} of ${eof} bytes`);
        }
      }
      return;
    }
    throw new ProfileError('not an HDF5 file (no HDF5 signature)');
  } finally {
    closeSync(fd);
  }
}

/** Reads every node of the file. Throws {@link ProfileError} for files that cannot be used. */
export async function readProfile(file: string): Promise<RawNode[]> {
  const nodes: RawNode[] = [];
  for await (const node of profileNodes(file)) nodes.push(node);
  return nodes;
}

/** The nodes of the file one at a time, so that each can be handed on while the next is read. */
export async function* profileNodes(file: string): AsyncGenerator<RawNode> {
  checkContainer(file);
  const { lib, module } = await h5();
  let h5file: H5File;
  try {
    h5file = new lib.File(file, 'r');
  } catch {
    throw new ProfileError('the HDF5 library cannot open the file (damaged or unsupported)');
  }
  try {
    const names = readOrDamaged('/', () => h5file.keys());
    for (const name of names) {
      const tables = readOrDamaged(`/${name}`, () => {
        const entity = h5file.get(name);
        if (!(entity instanceof lib.Group)) return null;
        const found: RawTable[] = [];
        collect(lib, module, h5file, entity, [], found);
        return found;
      });
      if (tables !== null) yield { name, tables };
    }
    // a file whose datasets sit at the top level is one unnamed node
    const top = readOrDamaged('/', () => {
      const found: RawTable[] = [];
      for (const name of names) {
        const entity = h5file.get(name);
        if (entity instanceof lib.Dataset) readDataset(module, h5file, entity, [name], found);
      }
      return found;
    });
    if (top.length > 0) yield { name: 'node', tables: top };
  } finally {
    h5file.close();
  }
}

/**
 * Runs a read of the opened file. The file is complete on local disk, so whatever the HDF5
 * library throws here (it says little more than "error - name not defined!" about a damaged
 * B-tree or heap) is the file's fault: retrying cannot help, and the job fails with the place.
 */
function readOrDamaged<T>(where: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof ProfileError) throw e;
    const why = e instanceof Error ? e.message : String(e);
    // Out of memory (a RangeError from an allocation, WebAssembly aborting) or a fault in this
    // code (TypeError and the like) says nothing about the file: left to the job's retries.
    if (e instanceof RangeError || e instanceof TypeError || e instanceof ReferenceError) throw e;
    if (/out of memory|\bOOM\b|Aborted\(/i.test(why)) throw e;
    throw new ProfileError(`the file is damaged: the HDF5 library could not read ${where} (${why})`);
  }
}

/** What the reading thread posts: a node, the end, or why the file cannot be read. */
export type ReaderMessage = { node: RawNode } | { done: true } | { error: string; profile: boolean };

/** Loads the HDF5 library ahead of the first read. */
export async function preloadHdf5(): Promise<void> {
  await h5();
}

export interface ProfileReader {
  /** The file's nodes, one at a time, as the thread reads them. Call once. */
  nodes(file: string): AsyncGenerator<RawNode>;
  close(): Promise<void>;
}

/**
 * A reader on a worker thread: HDF5 decoding (decompression above all) runs beside whatever the
 * caller does with the nodes already read, such as writing them. The thread starts loading the
 * HDF5 library at once, so start the reader before fetching the file.
 */
export function startProfileReader(): ProfileReader {
  const worker = new Worker(new URL('./h5-read-worker.ts', import.meta.url));
  const inbox: ReaderMessage[] = [];
  let wake: (() => void) | null = null;
  const push = (m: ReaderMessage) => {
    inbox.push(m);
    wake?.();
  };
  worker.on('message', push);
  worker.on('error', (e: Error) => push({ error: e.message, profile: false }));
  worker.on('exit', (code) => push({ error: `the HDF5 reader thread exited (${code})`, profile: false }));
  const close = async () => {
    worker.removeAllListeners();
    await worker.terminate();
  };
  return {
    async *nodes(file: string) {
      worker.postMessage({ file });
      for (;;) {
        if (inbox.length === 0) await new Promise<void>((r) => (wake = r));
        wake = null;
        const m = inbox.shift()!;
        if ('node' in m) yield m.node;
        else if ('done' in m) return;
        else throw m.profile ? new ProfileError(m.error) : new Error(m.error);
      }
    },
    close,
  };
}

function collect(
  lib: typeof H5Lib,
  module: H5Module,
  file: H5File,
  group: H5Group,
  path: string[],
  out: RawTable[],
) {
  for (const key of group.keys()) {
    const entity = group.get(key);
    if (entity instanceof lib.Group) collect(lib, module, file, entity, [...path, key], out);
    else if (entity instanceof lib.Dataset) readDataset(module, file, entity, [...path, key], out);
  }
}

function readDataset(module: H5Module, file: H5File, ds: H5Dataset, path: string[], out: RawTable[]): void {
  const where = ds.path;
  for (const f of ds.filters) {
    if (!DECODABLE_FILTERS.has(f.id)) {
      const name = f.name || KNOWN_FILTER_NAMES.get(f.id) || 'unknown';
      throw new ProfileError(
        `dataset ${where} is compressed with filter ${f.id} (${name}), which this server cannot decode`,
      );
    }
  }
  const meta = ds.metadata as unknown as TypeMeta;
  const shape = meta.shape ?? [];
  const rows = shape[0] ?? 0;
  const total = meta.total_size ?? 0;
  if (shape.length === 0 || rows === 0 || total === 0) return; // scalars and empty datasets
  const members = numericMembers(meta);
  if (members.length === 0) return; // strings, references ...
  const bytes = readRaw(module, file.file_id, where, meta.size * total, meta.size, where);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const name = path.join('__');
  const columns: RawColumn[] = [];
  if (meta.type === H5T_COMPOUND) {
    for (const m of members) {
      columns.push({
        name: `${name}__${m.name ?? ''}`,
        field: m.name ?? '',
        values: decode(view, rows, meta.size, m.offset ?? 0, m),
      });
    }
  } else {
    const width = total / rows;
    const leaf = path[path.length - 1] ?? 'value';
    if (width === 1) {
      columns.push({ name, field: leaf, values: decode(view, rows, meta.size, 0, meta) });
    } else {
      for (let c = 0; c < width; c++) {
        columns.push({
          name: `${name}__col_${c}`,
          field: `${leaf}__col_${c}`,
          values: decode(view, rows, meta.size * width, c * meta.size, meta),
        });
      }
    }
  }
  out.push({ path: name, columns });
}

function numericMembers(meta: TypeMeta): TypeMeta[] {
  const numeric = (t: TypeMeta) =>
    (t.type === H5T_FLOAT && (t.size === 4 || t.size === 8)) ||
    (t.type === H5T_INTEGER && [1, 2, 4, 8].includes(t.size));
  if (meta.type === H5T_COMPOUND) {
    return (meta.compound_type?.members ?? []).filter((m) => numeric(m) && (m.shape ?? []).length === 0);
  }
  return numeric(meta) ? [meta] : [];
}

/** Reads a whole dataset into a copy of its bytes, failing when HDF5 left rows unwritten. */
function readRaw(module: H5Module, fileId: bigint, path: string, n: number, row: number, where: string) {
  const ptr = module._malloc(n);
  if (ptr === 0) throw new ProfileError(`dataset ${where} is too large to read (${n} bytes)`);
  try {
    module.HEAPU8.fill(0xff, ptr, ptr + n);
    module.get_dataset_data(fileId, path, null, null, null, BigInt(ptr));
    const first = module.HEAPU8.slice(ptr, ptr + n);
    const suspect = untouchedRows(first, row, 0xff);
    if (suspect.length > 0) {
      module.HEAPU8.fill(0x00, ptr, ptr + n);
      module.get_dataset_data(fileId, path, null, null, null, BigInt(ptr));
      const second = module.HEAPU8.subarray(ptr, ptr + n);
      for (const r of suspect) {
        if (second[r * row] !== 0xff) {
          throw new ProfileError(`dataset ${where} cannot be read (HDF5 could not decode its data)`);
        }
      }
    }
    return first;
  } finally {
    module._free(ptr);
  }
}

/** Rows whose every byte is `fill`. */
function untouchedRows(bytes: Uint8Array, row: number, fill: number): number[] {
  const found: number[] = [];
  const rows = bytes.length / row;
  for (let r = 0; r < rows; r++) {
    let all = true;
    const base = r * row;
    for (let i = 0; i < row; i++) {
      if (bytes[base + i] !== fill) {
        all = false;
        break;
      }
    }
    if (all) found.push(r);
  }
  return found;
}

function decode(view: DataView, rows: number, stride: number, offset: number, t: TypeMeta): Float64Array {
  const out = new Float64Array(rows);
  const le = t.littleEndian;
  // fast path for aligned little-endian doubles (the usual profile column): typed-array reads
  if (
    t.type === H5T_FLOAT &&
    t.size === 8 &&
    le &&
    HOST_LE &&
    (view.byteOffset + offset) % 8 === 0 &&
    stride % 8 === 0
  ) {
    const f64 = new Float64Array(view.buffer, view.byteOffset, Math.floor(view.byteLength / 8));
    const step = stride / 8;
    for (let i = 0, k = offset / 8; i < rows; i++, k += step) out[i] = f64[k] ?? NaN;
    return out;
  }
  let get: (at: number) => number;
  if (t.type === H5T_FLOAT)
    get = t.size === 8 ? (at) => view.getFloat64(at, le) : (at) => view.getFloat32(at, le);
  else if (t.size === 8)
    get = t.signed ? (at) => Number(view.getBigInt64(at, le)) : (at) => Number(view.getBigUint64(at, le));
  else if (t.size === 4) get = t.signed ? (at) => view.getInt32(at, le) : (at) => view.getUint32(at, le);
  else if (t.size === 2) get = t.signed ? (at) => view.getInt16(at, le) : (at) => view.getUint16(at, le);
  else get = t.signed ? (at) => view.getInt8(at) : (at) => view.getUint8(at);
  for (let i = 0, at = offset; i < rows; i++, at += stride) out[i] = get(at);
  return out;
}
