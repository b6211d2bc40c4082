import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { PeerInterest, type InterestMessage } from './interest.ts';

const log = pino({ level: 'silent' });

interface Member {
  interest: PeerInterest;
  patterns: string[];
  /** Hears nothing (a peer that stopped answering). */
  deaf: boolean;
}

/** Instances on an in-memory bus that delivers every message to the others, asynchronously. */
function cluster() {
  const members = new Map<string, Member>();
  const make = (origin: string, opts: { maxPayload?: number; ackTimeoutMs?: number } = {}): Member => {
    const member: Member = {
      patterns: [],
      deaf: false,
      interest: new PeerInterest({
        origin,
        log,
        maxPayload: opts.maxPayload ?? 7900,
        ackTimeoutMs: opts.ackTimeoutMs ?? 1000,
        localPatterns: () => member.patterns,
        send: async (payload) => {
          const msg = JSON.parse(payload) as InterestMessage;
          setImmediate(() => {
            for (const [o, m] of members) if (o !== origin && !m.deaf) m.interest.handle(msg);
          });
        },
      }),
    };
    members.set(origin, member);
    return member;
  };
  return { make, members };
}

const settle = () => new Promise((r) => setTimeout(r, 20));

describe('peer interest', () => {
  const started: PeerInterest[] = [];
  const startAll = async (...members: Member[]) => {
    for (const m of members) {
      await m.interest.start();
      started.push(m.interest);
    }
  };
  afterEach(async () => {
    for (const p of started.splice(0)) await p.stop();
  });

  it('forwards a topic only while another instance subscribes to it', async () => {
    const c = cluster();
    const a = c.make('a');
    const b = c.make('b');
    await startAll(a, b);
    await settle();
    expect(a.interest.peerCount).toBe(1);
    expect(a.interest.wants('grid.telemetry.v1')).toBe(false);

    b.patterns = ['grid.telemetry.*', 'archery.shots'];
    b.interest.localChanged();
    await b.interest.settled(); // acknowledged by a
    expect(a.interest.wants('grid.telemetry.v1')).toBe(true);
    expect(a.interest.wants('archery.shots')).toBe(true);
    expect(a.interest.wants('grid.vens')).toBe(false);

    b.patterns = [];
    b.interest.localChanged();
    await b.interest.settled();
    expect(a.interest.wants('grid.telemetry.v1')).toBe(false);

    // A stopping instance says so: the others stop sending to it at once.
    b.patterns = ['x.*'];
    b.interest.localChanged();
    await b.interest.settled();
    expect(a.interest.wants('x.y')).toBe(true);
    await b.interest.stop();
    started.splice(started.indexOf(b.interest), 1);
    await settle();
    expect(a.interest.peerCount).toBe(0);
    expect(a.interest.wants('x.y')).toBe(false);
  });

  it('announces everything when the patterns do not fit in one bus message', async () => {
    const c = cluster();
    const a = c.make('a');
    const b = c.make('b', { maxPayload: 200 });
    await startAll(a, b);
    b.patterns = Array.from({ length: 50 }, (_, i) => `grid.telemetry.ven-${i}`);
    b.interest.localChanged();
    await b.interest.settled();
    expect(a.interest.wants('anything.at.all')).toBe(true);
  });

  it('does not wait for ever for a peer that does not answer', async () => {
    const c = cluster();
    const a = c.make('a');
    const b = c.make('b', { ackTimeoutMs: 50 });
    await startAll(a, b);
    await settle();
    a.deaf = true;
    b.patterns = ['t.*'];
    b.interest.localChanged();
    // Resolves (after ackTimeoutMs) although a never acknowledges; a knows nothing of it.
    await expect(b.interest.settled()).resolves.toBeUndefined();
    expect(a.interest.wants('t.x')).toBe(false);
  });
});
