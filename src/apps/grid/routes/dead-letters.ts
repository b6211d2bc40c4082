import { Type } from 'typebox';
import type { Http } from '../../../platform/app.ts';
import type { DeadLetters } from '../../../platform/mqtt/dead-letters.ts';
import { DeadLetterJson } from '../schemas.ts';

export function deadLetterRoutes(http: Http, deadLetters: () => DeadLetters | undefined) {
  http.get(
    '/dead-letters',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['grid: dead letters'],
        summary: 'MQTT messages that could not be stored: topic, reason and raw bytes (newest first)',
        querystring: Type.Object(
          {
            topic: Type.Optional(Type.String()),
            before: Type.Optional(Type.Integer({ minimum: 1 })),
            limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Array(DeadLetterJson) },
      },
    },
    async (req) => {
      const dl = deadLetters();
      if (!dl) return [];
      const rows = await dl.list({
        limit: req.query.limit,
        topic: req.query.topic,
        before: req.query.before,
      });
      return rows.map((r) => {
        const text = r.payload.toString('utf8');
        return {
          id: r.id,
          consumer: r.consumer,
          topic: r.topic,
          reason: r.reason,
          payloadBase64: r.payload.toString('base64'),
          // The bytes as text when they are valid UTF-8 (most bad payloads are), for people.
          payloadText: Buffer.from(text, 'utf8').equals(r.payload) ? text : null,
          receivedAt: r.receivedAt.toISOString(),
        };
      });
    },
  );
}
