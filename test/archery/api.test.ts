import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../helpers/db.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { call, eventually, setUpPractice, shotSocket } from './helpers.ts';

const t = (ms: number) => new Date(Date.UTC(2026, 0, 1, 10, 0, 0, ms)).toISOString();

describe.each(backends())('archery API on %s', (backend) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(backend);
  });
  afterAll(async () => {
    await server.stop();
  });

  it('runs a full practice: every shot reaches the socket with its score and speed', async () => {
    const socket = await shotSocket(server);
    const p = await setUpPractice(server);
    const [a0, a1, a2] = p.arrowIds as [string, string, string];
    // Face centre (750, 750); 122 cm face: rings of 61 mm.
    const shots = [
      { arrow_id: a0, x: 750, y: 750, score: 10 }, // dead centre
      { arrow_id: a1, x: 750 + 100, y: 750, score: 9 }, // 100 mm: second ring
      { arrow_id: a2, x: 750, y: 750 - 600, score: 1 }, // 600 mm: outermost ring
      { arrow_id: a0, x: 10, y: 10, score: 0 }, // on the target, off the face
      { arrow_id: a1, x: null, y: null, score: null }, // a miss
    ];
    const ids: string[] = [];
    for (const [i, s] of shots.entries()) {
      const landed = s.x !== null;
      const res = await call<string[]>(server, 'POST', '/shot', {
        arrow_id: s.arrow_id,
        session_id: p.sessionId,
        arrow_engage_time: t(i * 10_000),
        arrow_disengage_time: t(i * 10_000 + 2000),
        arrow_landing_time: landed ? t(i * 10_000 + 2300) : null,
        x: s.x,
        y: s.y,
      });
      expect(res.body.errors).toEqual([]);
      ids.push(...res.body.data);
    }
    // A batch of two in one request.
    const batch = await call<string[]>(server, 'POST', '/shot', [
      {
        arrow_id: a2,
        session_id: p.sessionId,
        arrow_engage_time: t(60_000),
        arrow_disengage_time: t(61_000),
        arrow_landing_time: t(61_200),
        x: 760,
        y: 740,
      },
      {
        arrow_id: a0,
        session_id: p.sessionId,
        arrow_engage_time: t(70_000),
        arrow_disengage_time: t(71_000),
      },
    ]);
    expect(batch.status).toBe(201);
    expect(batch.body.data).toHaveLength(2);
    ids.push(...batch.body.data);
    const expected = [...shots.map((s) => s.score), 10, null];

    const received = await eventually(() =>
      socket.messages.length >= ids.length ? socket.messages : undefined,
    );
    expect(received.map((m) => m.id)).toEqual(ids);
    expect(received.map((m) => m.score)).toEqual(expected);
    expect(received[0]).toMatchObject({ time_of_flight_seconds: 0.3 });
    expect(typeof received[0]?.human_identifier).toBe('string');
    expect(received[0]?.arrow_speed).toBeCloseTo(18 / 0.3, 6);
    expect(received[4]).toMatchObject({ arrow_speed: null, time_of_flight_seconds: null, score: null });
    await socket.close();

    const perf = await call<{ id: string; score: number | null }[]>(server, 'GET', '/session_performance');
    expect(perf.status).toBe(200);
    expect(perf.body.errors).toEqual([]);
    expect(perf.body.data.map((s) => s.score)).toEqual(expected);
    const filtered = await call<unknown[]>(server, 'GET', `/shot?arrow_id=${a0}&session_id=${p.sessionId}`);
    expect(filtered.body.data).toHaveLength(3);
    expect((await call(server, 'DELETE', `/shot/${ids[3]}`)).body).toEqual({
      code: 200,
      data: { id: ids[3] },
      errors: [],
    });
    expect((await call(server, 'DELETE', `/shot/${ids[3]}`)).status).toBe(404);
    const closed = await call<{ is_opened: boolean; end_time: string }>(
      server,
      'PATCH',
      `/session/${p.sessionId}`,
      {
        is_opened: false,
      },
    );
    expect(closed.body.data).toMatchObject({
      is_opened: false,
      end_time: expect.stringMatching(/^\d{4}-/) as unknown,
    });
  });

  it('serves the CRUD endpoints in the envelope', async () => {
    const p = await setUpPractice(server, 1);
    const arrowId = p.arrowIds[0] as string;
    const got = await call<{ is_active: boolean; human_identifier: string }>(
      server,
      'GET',
      `/arrow/${arrowId}`,
    );
    expect(got).toMatchObject({ status: 200, body: { code: 200, errors: [], data: { is_active: true } } });
    const byName = await call<unknown[]>(
      server,
      'GET',
      `/arrow?human_identifier=${got.body.data.human_identifier}`,
    );
    expect(byName.body.data).toHaveLength(1);
    const voided = await call<{ is_active: boolean; voided_date: string }>(
      server,
      'PATCH',
      `/arrow/${arrowId}`,
      { is_active: false },
    );
    expect(voided.body.data.is_active).toBe(false);
    expect(voided.body.data.voided_date).toMatch(/^\d{4}-/);
    expect((await call(server, 'GET', '/arrow?is_active=false')).body.data).toContainEqual(
      expect.objectContaining({ id: arrowId }),
    );
    expect(
      (await call<{ arrow_uuid: string }>(server, 'GET', '/arrow/new_arrow_uuid')).body.data.arrow_uuid,
    ).toMatch(/-/);
    expect((await call(server, 'GET', '/session/open')).body.data).toMatchObject({
      id: p.sessionId,
      is_opened: true,
    });
    expect((await call(server, 'GET', `/target/session-id/${p.sessionId}`)).body.data).toMatchObject({
      id: p.targetId,
    });
    const calib = await call<{ target: { id: string }; faces: unknown[] }>(
      server,
      'GET',
      '/target/calibrate',
    );
    expect(calib.body.data.target.id).toBe(p.targetId);
    expect(calib.body.data.faces).toHaveLength(1);
    expect((await call<unknown[]>(server, 'GET', '/face/calibrate')).body.data).toHaveLength(1);
    expect((await call<unknown[]>(server, 'GET', '/face/catalogue')).body.data).toHaveLength(8);
    expect((await call<unknown[]>(server, 'GET', `/target/${p.targetId}/face`)).body.data).toHaveLength(1);
    const faceId = (p.faces[0] as { id: string }).id;
    expect((await call(server, 'DELETE', `/face/${faceId}`)).status).toBe(200);
    expect((await call(server, 'DELETE', `/face/${faceId}`)).status).toBe(404);
    expect((await call(server, 'DELETE', `/session/${p.sessionId}`)).status).toBe(200);
    expect((await call(server, 'GET', `/target/${p.targetId}`)).status).toBe(404);
    expect((await call(server, 'DELETE', `/arrow/${arrowId}`)).status).toBe(200);
  });

  it('places a triple catalogue face as three faces', async () => {
    const s = await call<{ id: string }>(server, 'POST', '/session', { location: 'hall' });
    const tg = await call<{ id: string }>(server, 'POST', '/target', {
      max_x: 800,
      max_y: 800,
      distance: 25,
      session_id: s.body.data.id,
    });
    const faces = await call<{ radii: number[] }[]>(server, 'POST', `/target/${tg.body.data.id}/face`, {
      catalogue_id: 'wa-60-triple-triangular',
    });
    expect(faces.status).toBe(201);
    expect(faces.body.data).toHaveLength(3);
    expect(faces.body.data[0]?.radii).toEqual([30, 60, 90, 120, 150]);
    await call(server, 'DELETE', `/session/${s.body.data.id}`);
  });

  describe('database rules answer 400/409 naming the rule', () => {
    let sessionId: string;
    let targetId: string;
    let arrowId: string;
    beforeAll(async () => {
      const p = await setUpPractice(server, 1);
      sessionId = p.sessionId;
      targetId = p.targetId;
      arrowId = p.arrowIds[0] as string;
    });
    afterAll(async () => {
      await call(server, 'DELETE', `/session/${sessionId}`);
    });

    const shot = (extra: Record<string, unknown>) => ({
      arrow_id: '',
      session_id: '',
      arrow_engage_time: t(0),
      arrow_disengage_time: t(1000),
      ...extra,
    });
    const cases: { name: string; status: number; rule: string; request: () => [string, string, unknown] }[] =
      [
        {
          name: 'a second open session',
          status: 409,
          rule: 'archery_sessions_one_open_session',
          request: () => ['POST', '/session', { location: 'x' }],
        },
        {
          name: 'a second target for a session',
          status: 409,
          rule: 'archery_targets_one_per_session',
          request: () => ['POST', '/target', { max_x: 100, max_y: 100, distance: 10, session_id: sessionId }],
        },
        {
          name: 'a face sticking out of the target',
          status: 400,
          rule: 'archery_faces_inside_target',
          request: () => [
            'POST',
            `/target/${targetId}/face`,
            [{ x: 100, y: 100, human_identifier: 'edge', radii: [50, 150], points: [10, 9] }],
          ],
        },
        {
          name: 'ring arrays of different lengths',
          status: 400,
          rule: 'archery_faces_rings_equal_length',
          request: () => [
            'POST',
            `/target/${targetId}/face`,
            [{ x: 300, y: 300, human_identifier: 'bad', radii: [50, 100], points: [10] }],
          ],
        },
        {
          name: 'a face identifier used twice on a target',
          status: 409,
          rule: 'archery_faces_identifier_unique_per_target',
          request: () => [
            'POST',
            `/target/${targetId}/face`,
            [{ x: 300, y: 300, human_identifier: 'wa-122-ful', radii: [50], points: [10] }],
          ],
        },
        {
          name: 'a fourth face',
          status: 400,
          rule: 'archery_faces_at_most_three_per_target',
          request: () => [
            'POST',
            `/target/${targetId}/face`,
            [1, 2, 3].map((i) => ({
              x: 200,
              y: 200 * i,
              human_identifier: `f${i}`,
              radii: [50],
              points: [10],
            })),
          ],
        },
        {
          name: 'a shrunk target that no longer holds its face',
          status: 400,
          rule: 'archery_faces_inside_target',
          request: () => ['PATCH', `/target/${targetId}`, { max_x: 500 }],
        },
        {
          name: 'a landing without x and y',
          status: 400,
          rule: 'archery_shots_landing_all_or_nothing',
          request: () => [
            'POST',
            '/shot',
            shot({ arrow_id: arrowId, session_id: sessionId, arrow_landing_time: t(1500) }),
          ],
        },
        {
          name: 'a release before the draw',
          status: 400,
          rule: 'archery_shots_disengage_after_engage',
          request: () => [
            'POST',
            '/shot',
            shot({ arrow_id: arrowId, session_id: sessionId, arrow_engage_time: t(5000) }),
          ],
        },
        {
          name: 'a shot with an unknown arrow',
          status: 400,
          rule: 'archery_shots_arrow_id_fkey',
          request: () => ['POST', '/shot', shot({ arrow_id: randomUUID(), session_id: sessionId })],
        },
      ];
    it.each(cases)('$name → $status $rule', async ({ status, rule, request }) => {
      const [method, path, body] = request();
      const res = await call(server, method, path, body);
      expect(res.status).toBe(status);
      expect(res.body.code).toBe(status);
      expect(res.body.data).toBeNull();
      expect(res.body.errors.join(' ')).toContain(rule);
    });

    it('refuses a second active arrow with the same identifier, allows it once the first is voided', async () => {
      const first = { id: randomUUID(), human_identifier: 'dup-1', length: 70 };
      expect((await call(server, 'POST', '/arrow', first)).status).toBe(201);
      const dup = await call(server, 'POST', '/arrow', { ...first, id: randomUUID() });
      expect(dup.status).toBe(409);
      expect(dup.body.errors.join(' ')).toContain('archery_arrows_active_identifier_unique');
      await call(server, 'PATCH', `/arrow/${first.id}`, { is_active: false });
      expect((await call(server, 'POST', '/arrow', { ...first, id: randomUUID() })).status).toBe(201);
    });

    it.each([
      ['POST', '/arrow', { id: 'not-a-uuid', human_identifier: 'x', length: 1 }],
      ['POST', '/arrow', { id: randomUUID(), human_identifier: 'much-too-long-id', length: 1 }],
      ['POST', '/session', { location: 'x', extra: 1 }],
      ['GET', '/shot?colour=red', undefined],
      ['POST', `/target/${randomUUID()}/face`, []],
    ] as const)('schema validation %s %s → 422 in the envelope', async (method, path, body) => {
      const res = await call(server, method, path, body);
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ code: 422, data: null });
      expect(res.body.errors.length).toBeGreaterThan(0);
    });

    it('answers unknown ids and routes with 404 in the envelope', async () => {
      expect((await call(server, 'GET', `/arrow/${randomUUID()}`)).body).toMatchObject({
        code: 404,
        data: null,
        errors: ['arrow not found'],
      });
      expect((await call(server, 'GET', '/nothing-here')).body).toMatchObject({ code: 404, data: null });
    });
  });
});
