/**
 * The live channel: events to browsers over WebSocket `/live` and SSE `/live/sse`, fanned out
 * across instances (PostgreSQL NOTIFY or Valkey pub/sub). Publish only after the data behind an
 * event is committed.
 */

/** What subscribers receive. `id` increases per topic; `ts` is ISO-8601. */
export interface LiveEvent<T = unknown> {
  topic: string;
  id: number;
  ts: string;
  data: T;
}

export interface LiveChannel {
  /**
   * Publishes `data` on `topic` to every subscriber on every instance. Topics are dot-separated
   * (`grid.telemetry.ven-1a2b3c4d`). Resolves once the event is handed to the fan-out.
   * `local: true` delivers only to this instance's subscribers: for sources every instance
   * already sees on its own (e.g. a database trigger's NOTIFY that each instance LISTENs to).
   */
  publish<T>(topic: string, data: T, opts?: { local?: boolean }): Promise<LiveEvent<T>>;
  /**
   * Subscribes in-process to topics matching any of `patterns` (`*` matches one or more
   * dot-separated segments' worth of characters, e.g. `grid.telemetry.*`). Returns an unsubscribe
   * function. Handlers must not throw or block; slow consumers are the caller's to bound.
   */
  subscribe(patterns: readonly string[], handler: (event: LiveEvent) => void): () => void;
}
