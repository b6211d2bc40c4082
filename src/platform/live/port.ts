/**
 * The live channel: events to browsers over WebSocket `/live` and SSE `/live/sse`, fanned out
 * across instances (PostgreSQL NOTIFY or Valkey pub/sub). Publish only after the data behind an
 * event is committed.
 *
 * Wire protocol (both routes need a user token: `Authorization: Bearer`, or `?token=` /
 * `?access_token=` for browsers, whose WebSocket and EventSource cannot set headers):
 * - WebSocket `GET /live`. Client → server: `{"type":"subscribe","topics":["grid.telemetry.*"],
 *   "since":<id>?}` (adds topics; with `since`, durable events after that id are sent first),
 *   `{"type":"unsubscribe","topics":[...]?}` (all when omitted). Server → client: events
 *   `{topic,id,ts,data}`, and control messages, which always have a `type` that events never
 *   have: `{"type":"subscribed","topics":[...],"replayed":n,"truncated":bool}` (after any
 *   replay; `truncated`: more were missed than one replay sends, 1000), `unsubscribed`, `error`.
 * - SSE `GET /live/sse?topics=a,b.*[&since=id]`: each event is an SSE message with `id:` the
 *   event id and `data:` the event JSON; a reconnecting EventSource sends `Last-Event-ID` and
 *   gets the durable events it missed. Control messages come as named events (`event: subscribed`).
 * - A client that leaves more than `LIVE_CLIENT_BUFFER_BYTES` unread is disconnected.
 */

/**
 * What subscribers receive. `id` increases per topic; `ts` is ISO-8601. Ids are derived from
 * time (microseconds since the epoch, bumped when needed to stay increasing), so one number is
 * also a usable resume point across several topics (`since`, SSE `Last-Event-ID`).
 */
export interface LiveEvent<T = unknown> {
  topic: string;
  id: number;
  ts: string;
  data: T;
}

export interface PublishOptions {
  /** Deliver only to this instance's subscribers (see {@link LiveChannel.publish}). */
  local?: boolean;
  /**
   * Keep the event for clients that reconnect (`since` / `Last-Event-ID`), for a bounded time
   * and count. Defaults to whether the topic matches `LIVE_DURABLE_TOPICS` or a pattern given
   * to {@link LiveChannel.durable}. Durable events are written to the database before they
   * are delivered, so `publish` resolves after that write.
   */
  durable?: boolean;
}

export interface LiveChannel {
  /**
   * Publishes `data` on `topic` to every subscriber on every instance. Topics are dot-separated
   * (`grid.telemetry.ven-1a2b3c4d`). Resolves once the event is handed to the fan-out.
   * `local: true` delivers only to this instance's subscribers: for sources every instance
   * already sees on its own (e.g. a database trigger's NOTIFY that each instance LISTENs to).
   */
  publish<T>(topic: string, data: T, opts?: PublishOptions): Promise<LiveEvent<T>>;
  /**
   * Subscribes in-process to topics matching any of `patterns` (`*` matches one or more
   * dot-separated segments' worth of characters, e.g. `grid.telemetry.*`). Returns an unsubscribe
   * function. Handlers must not throw or block; slow consumers are the caller's to bound.
   */
  subscribe(patterns: readonly string[], handler: (event: LiveEvent) => void): () => void;
  /** Makes every topic matching one of `patterns` durable (kept for resume); for apps at start. */
  durable(patterns: readonly string[]): void;
  /**
   * Durable events on topics matching `patterns` with an id above `since` (oldest first, at
   * most `limit`): what a reconnecting client missed. Empty when nothing is kept.
   */
  replay(patterns: readonly string[], since: number, limit?: number): Promise<LiveEvent[]>;
}
