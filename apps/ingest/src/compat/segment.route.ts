import type { TrackerApp } from '@tracker/http';
import type { FastifyReply, FastifyRequest, FastifySchemaCompiler } from 'fastify';
import type { TSchema } from 'typebox';
import type { IngestConfig } from '../config.js';
import { type Intake, listPaths } from '../intake.js';
import { bodyKeyAuth, eventsAuth } from '../keys.js';
import { commonErrors, WriteKeyQuerySchema } from '../schemas.js';
import { typeboxValidatorCompiler } from '../validation.js';
import { installCompatParsers } from './body-decode.js';
import { ingestCompat } from './compat-intake.js';
import { SegmentBatchBodySchema, SegmentMessageBodySchema, SegmentResultSchema } from './schemas.js';
import { mapSegmentMessage, type SegmentType, segmentBodyKey } from './segment-map.js';

const security = [{ basic: [] }, { bearer: [] }, { writeKeyHeader: [] }];

/**
 * Segment's and RudderStack's tracking API, as their SDKs call it with only the host changed:
 * analytics-node and rudder-sdk-node POST `{batch, writeKey?, sentAt}` to /v1/batch (shared with
 * ours: see events.route.ts), analytics-next one message per /v1/t|p|i|s|g|a or a batch to /v1/b,
 * the HTTP API one per /v1/track|page|screen|group|alias|identify. The key: Basic user name (both
 * send it), else the body's `writeKey`. Answers 200 `{success: true, accepted, rejected, dropped}`.
 */
export class SegmentIntake {
  constructor(private readonly intake: Intake) {}

  async batch(request: FastifyRequest, reply: FastifyReply, route: string) {
    const body = request.body as { batch: unknown[]; sentAt?: unknown; context?: unknown };
    const envelope = { sentAt: body.sentAt, context: body.context };
    const outcome = await ingestCompat(
      this.intake,
      request,
      route,
      body.batch,
      listPaths('body.batch'),
      (m) => mapSegmentMessage(m, undefined, envelope),
    );
    return reply.code(200).send({ success: true, ...outcome });
  }

  async single(request: FastifyRequest, reply: FastifyReply, route: string, type: SegmentType | undefined) {
    const outcome = await ingestCompat(
      this.intake,
      request,
      route,
      [request.body],
      { list: 'body', item: () => 'body' },
      (m) => mapSegmentMessage(m, type),
    );
    return reply.code(200).send({ success: true, ...outcome });
  }
}

/**
 * A body validator for a path two protocols share: `isTheirs(body)` picks Segment's schema, else
 * ours, so each keeps its own errors (ours word for word as before the path was shared).
 */
export function byShape(
  isTheirs: (body: unknown) => boolean,
  ours: TSchema,
  theirs: TSchema,
): FastifySchemaCompiler<TSchema> {
  return (route) => {
    if (route.httpPart !== 'body') return typeboxValidatorCompiler(route);
    const validateOurs = typeboxValidatorCompiler({ ...route, schema: ours });
    const validateTheirs = typeboxValidatorCompiler({ ...route, schema: theirs });
    return (data: unknown) =>
      (isTheirs(data) ? validateTheirs(data) : validateOurs(data)) as ReturnType<
        ReturnType<FastifySchemaCompiler<TSchema>>
      >;
  };
}

export const SEGMENT_SINGLE_PATHS: Readonly<Record<string, SegmentType>> = {
  '/v1/track': 'track',
  '/v1/page': 'page',
  '/v1/screen': 'screen',
  '/v1/group': 'group',
  '/v1/alias': 'alias',
  '/v1/t': 'track',
  '/v1/p': 'page',
  '/v1/i': 'identify',
  '/v1/s': 'screen',
  '/v1/g': 'group',
  '/v1/a': 'alias',
};

/** The body parsers and key check every route that takes Segment bodies needs (also /v1/batch and /v1/identify). */
export function segmentScope(scope: TrackerApp, config: IngestConfig): void {
  installCompatParsers(scope, config.INGEST_BATCH_MAX_BYTES);
  scope.addHook('preValidation', bodyKeyAuth(config, segmentBodyKey));
}

export interface SegmentRoutesOptions {
  config: IngestConfig;
  segment: SegmentIntake;
}

/** The Segment paths ours does not have (/v1/batch and /v1/identify are in events.route.ts). */
export async function segmentRoutes(app: TrackerApp, { config, segment }: SegmentRoutesOptions) {
  app.setValidatorCompiler(typeboxValidatorCompiler);
  app.addHook('onRequest', eventsAuth(config));
  segmentScope(app, config);
  const response = { 200: SegmentResultSchema, ...commonErrors };
  const routeConfig = { bodyKey: true, perItemText: true };
  for (const [path, type] of Object.entries(SEGMENT_SINGLE_PATHS)) {
    app.post(
      path,
      {
        config: routeConfig,
        schema: {
          summary: `Segment/RudderStack ${type}`,
          description:
            `One Segment message of type ${type} (the type comes from the path), as JSON or text/plain JSON; ` +
            'the write key as Basic auth user name or the body’s writeKey. Mapped to our event (README: Switching from Segment).',
          tags: ['segment'],
          security,
          querystring: WriteKeyQuerySchema,
          body: SegmentMessageBodySchema,
          response,
        },
      },
      (request, reply) => segment.single(request, reply, path, type),
    );
  }
  app.post(
    '/v1/b',
    {
      config: routeConfig,
      schema: {
        summary: 'Segment batch (analytics-next batching)',
        description:
          'The body of POST /v1/batch in Segment’s shape, as analytics-next’s batching delivery sends it.',
        tags: ['segment'],
        security,
        querystring: WriteKeyQuerySchema,
        body: SegmentBatchBodySchema,
        response,
      },
    },
    (request, reply) => segment.batch(request, reply, '/v1/b'),
  );
}
