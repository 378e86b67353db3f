import { HttpError, type TrackerApp } from '@tracker/http';
import { Type } from 'typebox';
import { DlqSchema, ErrorRef } from '../schemas/responses.schema.js';

export const DlqQuerySchema = Type.Object(
  {
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 100,
        default: 20,
        description: 'How many recent messages (1-100)',
      }),
    ),
  },
  { additionalProperties: false },
);

export async function dlqRoute(app: TrackerApp): Promise<void> {
  app.get(
    '/dlq',
    {
      schema: {
        summary: 'Dead-lettered messages: how many, and the most recent with their reasons',
        description:
          'Reads the dead-letter topic directly (watermarks + the last messages; no committed consumer group), ' +
          'within QUERY_DLQ_TIMEOUT_MS. 503 when Kafka does not answer in time.',
        tags: ['pipeline'],
        security: [{ bearer: [] }],
        querystring: DlqQuerySchema,
        response: { 200: DlqSchema, 400: ErrorRef, 401: ErrorRef, 429: ErrorRef, 503: ErrorRef },
      },
    },
    async (request) => {
      try {
        return await app.dlq.snapshot(request.query.limit ?? 20);
      } catch (error) {
        request.log.warn({ msg: 'dlq_read_failed', err: (error as Error).message });
        throw new HttpError(
          503,
          'KAFKA_UNAVAILABLE',
          `the dead-letter topic cannot be read: ${(error as Error).message}`,
          [],
          {
            'retry-after': '5',
          },
        );
      }
    },
  );
}
