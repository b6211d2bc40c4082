import type { Logger } from 'pino';
import type { Config } from '../../config.ts';
import { MemoryKv } from './memory.ts';
import type { KeyValueStore } from './port.ts';
import { ValkeyKv } from './valkey.ts';

export type { KeyValueStore, SetOptions } from './port.ts';
export { KvTypeError } from './port.ts';
export { MemoryKv } from './memory.ts';
export { ValkeyKv } from './valkey.ts';

/** Valkey when `VALKEY_URL` is set, memory otherwise. */
export async function openKv(config: Config, log: Logger): Promise<KeyValueStore> {
  if (config.valkey.url === null) return new MemoryKv();
  return ValkeyKv.open({ url: config.valkey.url, prefix: config.valkey.prefix, log });
}
