import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type Server } from '../../src/server.ts';
import { backends, silentLog } from '../helpers/db.ts';
import { startTestServer, testConfig, type TestServer } from '../helpers/server.ts';
import { call, eventually, setUpPractice, shotSocket } from './helpers.ts';

/**
 * A shot written by plain SQL (as a sensor process does) reaches the sockets of every server
 * instance. On PostgreSQL two servers share one database; PGlite is one process's database,
 * so there the writer and the socket share the one server.
 */
describe.each(backends())('archery live shots on %s', (backend) => {
  let writer: TestServer;
  let reader: Server | TestServer;
  beforeAll(async () => {
    writer = await startTestServer(backend);
    reader =
      backend === 'postgres'
        ? await startServer(testConfig(writer.dataDir, writer.databaseUrl), silentLog)
        : writer;
  });
  afterAll(async () => {
    if (reader !== writer) await reader.stop();
    await writer.stop();
  });

  it('pushes a shot inserted by SQL on one instance to a socket on another, once, scored', async () => {
    const p = await setUpPractice(writer, 1);
    const onReader = await shotSocket(reader);
    const onWriter = await shotSocket(writer);
    const insert = async (x: number) =>
      (
        await writer.core.db.query<{ id: string }>(
          `INSERT INTO archery_shots (arrow_id, session_id, arrow_engage_time, arrow_disengage_time,
             arrow_landing_time, x, y)
           VALUES ($1, $2, now() - interval '2 s', now() - interval '1 s', now() - interval '0.8 s', $3, 750)
           RETURNING id`,
          [p.arrowIds[0], p.sessionId, x],
        )
      ).rows[0]?.id;
    const id = await insert(790);
    const got = await eventually(() => onReader.messages.find((m) => m.id === id));
    expect(got).toMatchObject({ score: 10, x: 790, y: 750, time_of_flight_seconds: 0.2 });
    expect(got.arrow_speed).toBeCloseTo(18 / 0.2, 6);
    await eventually(() => onWriter.messages.find((m) => m.id === id));
    // Every instance hears the NOTIFY itself and publishes locally, so nothing is relayed
    // twice: once a later shot has arrived, the first one is there exactly once.
    const later = await insert(900);
    await eventually(() => onReader.messages.find((m) => m.id === later));
    expect(onReader.messages.find((m) => m.id === later)).toMatchObject({ score: 8 });
    expect(onReader.messages.filter((m) => m.id === id)).toHaveLength(1);
    await onReader.close();
    await onWriter.close();
    await call(writer, 'DELETE', `/session/${p.sessionId}`);
  });

  it('turns the three sensor readings into a shot in the database and pushes it', async () => {
    const p = await setUpPractice(writer, 1);
    const socket = await shotSocket(reader);
    const db = writer.core.db;
    const { rows } = await db.query<{ id: string }>(
      'INSERT INTO archery_shot_readings (session_id, arrow_id) VALUES ($1, $2) RETURNING id',
      [p.sessionId, p.arrowIds[0]],
    );
    const readingId = rows[0]?.id;
    await db.query(
      `UPDATE archery_shot_readings SET arrow_engage_time = now() - interval '1 s',
         arrow_disengage_time = now() - interval '0.3 s' WHERE id = $1`,
      [readingId],
    );
    expect(socket.messages).toHaveLength(0);
    await db.query('UPDATE archery_shot_readings SET target_read = true WHERE id = $1', [readingId]);
    const miss = await eventually(() => socket.messages[0]);
    expect(miss).toMatchObject({ score: null, x: null, arrow_speed: null, arrow_id: p.arrowIds[0] });
    const stored = await db.query<{ shot_id: string }>(
      'SELECT shot_id FROM archery_shot_readings WHERE id = $1',
      [readingId],
    );
    expect(stored.rows[0]?.shot_id).toBe(miss.id);
    await socket.close();
    await call(writer, 'DELETE', `/session/${p.sessionId}`);
  });
});
