import type { Logger } from 'pino';
import type { Config } from '../../config.ts';
import { MemoryKv } from './memory.ts';
import type { KeyValueStore } from './port.ts';
import type { ValkeyKv } from './valkey.ts';

export type { KeyValueStore, SetOptions } from './port.ts';
export { KvTypeError } from './port.ts';
export { MemoryKv } from './memory.ts';

/** Valkey when `VALKEY_URL` is set (its client loaded only then), memory otherwise. */
export async function openKv(config: Config, log: Logger): Promise<KeyValueStore> {
  if (config.valkey.url === null) return new MemoryKv();
  const { ValkeyKv } = await import('./valkey.ts');
  return ValkeyKv.open({ url: config.valkey.url, prefix: config.valkey.prefix, log });
}

/** The Valkey client behind a store, for parts that share its connection (the live bus). */
export function valkeyClientOf(kv: KeyValueStore): ValkeyKv['client'] | null {
  return kv.kind === 'valkey' ? (kv as ValkeyKv).client : null;
}
