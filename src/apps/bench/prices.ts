/**
 * Loads the configured electricity price series (a storage key or an http(s) URL, CSV or SMARD
 * JSON) and keeps it for a few minutes so that a batch of files fetches it once.
 */
import type { ObjectStore } from '../../platform/objects/port.ts';
import { parsePriceCsv, parseSmardJson, type PriceSeries } from './compute.ts';

const TTL_MS = 5 * 60_000;

/** CSV or SMARD JSON, whichever the text is. */
export function parsePrices(text: string): PriceSeries {
  const trimmed = text.trimStart();
  return trimmed.startsWith('{') ? parseSmardJson(JSON.parse(trimmed)) : parsePriceCsv(text);
}

export class PriceSource {
  private readonly source: string | null;
  private readonly store: ObjectStore;
  private cached: { at: number; prices: PriceSeries } | null = null;

  constructor(source: string | null, store: ObjectStore) {
    this.source = source;
    this.store = store;
  }

  /** The series, or null when none is configured. Throws when the configured one cannot be read. */
  async get(): Promise<PriceSeries | null> {
    if (this.source === null) return null;
    if (this.cached && Date.now() - this.cached.at < TTL_MS) return this.cached.prices;
    const text = await this.fetchText(this.source);
    const prices = parsePrices(text);
    if (prices.t.length === 0) throw new Error(`price series ${this.source} has no points`);
    this.cached = { at: Date.now(), prices };
    return prices;
  }

  private async fetchText(source: string): Promise<string> {
    if (/^https?:\/\//i.test(source)) {
      const res = await fetch(source, { signal: AbortSignal.timeout(15_000) });
      if (!res.ok) throw new Error(`price series ${source}: HTTP ${res.status}`);
      return res.text();
    }
    const stream = await this.store.open(source);
    if (!stream) throw new Error(`price series ${source} is not in storage`);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
}
