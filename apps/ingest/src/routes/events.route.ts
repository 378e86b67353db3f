import { HttpError, strictJsonParser, type TrackerApp } from '@tracker/http';
import { type IdentifyInput, IdentifyInputSchema, InteractionInputSchema, LIMITS } from '@tracker/schemas';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { SegmentBatchBodySchema, SegmentMessageBodySchema, SegmentResultSchema } from '../compat/schemas.js';
import { byShape, type SegmentIntake, segmentScope } from '../compat/segment.route.js';
import { isSegmentBatch, isSegmentMessage } from '../compat/segment-map.js';
import type { IngestConfig } from '../config.js';
import { type Intake, listPaths, prefixed } from '../intake.js';
import { eventsAuth } from '../keys.js';
import { type Prepared, prepareIdentify, prepareInteraction } from '../normalize.js';
import {
  AcceptedSchema,
  type BatchBody,
  BatchBodySchema,
  BatchResultSchema,
  commonErrors,
  WriteKeyQuerySchema,
} from '../schemas.js';
import { typeboxValidatorCompiler } from '../validation.js';

const security = [{ bearer: [] }, { writeKeyHeader: [] }, { writeKeyQuery: [] }];

export interface EventsRoutesOptions {
  config: IngestConfig;
  /** Limits, event budget, validation and publishing, shared with the Segment and PostHog routes. */
  intake: Intake;
  /** Segment's messages on the paths it shares with ours (/v1/batch, /v1/identify). */
  segment: SegmentIntake;
}

/** Ours on a shared path must still be JSON (text/plain is read there only for Segment's bodies). */
function requireJson(request: FastifyRequest): void {
  const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json')
    throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `Unsupported Media Type: ${type ?? '(none)'}`);
}

/**
 * POST /v1/events, /v1/batch, /v1/identify and /v1/beacon. Each answers only after Kafka acknowledged
 * what it accepted; every refused item is reported with its field path and reason. /v1/batch and
 * /v1/identify are also Segment's paths: the body's shape decides whose it is (segment-map.ts).
 */
export async function eventsRoutes(app: TrackerApp, { config, intake, segment }: EventsRoutesOptions) {
  const { eventRate } = intake;
  const requestContext = (request: FastifyRequest) => intake.context(request);
  app.setValidatorCompiler(typeboxValidatorCompiler);
  app.addHook('onRequest', eventsAuth(config));
  // NOTE: no text/plain here: a JSON endpoint answers 415 to it, except beacon below.
  app.removeContentTypeParser('text/plain');
  const metrics = app.events.metrics;

  const rejectSingle = (route: string, prepared: Extract<Prepared, { ok: false }>): never => {
    metrics.rejected.inc({ route, reason: prepared.reason });
    if (prepared.reason === 'too_large') {
      throw new HttpError(
        413,
        'PAYLOAD_TOO_LARGE',
        `one event may have at most ${LIMITS.eventBytes} bytes`,
        prefixed('body', prepared.errors),
      );
    }
    throw new HttpError(400, 'VALIDATION_FAILED', 'invalid body', prefixed('body', prepared.errors));
  };

  const ingestBatch = (request: FastifyRequest, events: unknown[], route: string) =>
    intake.batch(request, route, events, listPaths('body.events'), (item, _i, ctx) =>
      prepareInteraction(item, ctx),
    );

  app.post(
    '/v1/events',
    {
      bodyLimit: LIMITS.eventBytes * 2,
      schema: {
        summary: 'Track one interaction',
        description:
          'Validates and normalises one interaction and answers 202 once Kafka acknowledged it. ' +
          'role is case-insensitive (default GUEST); action is lower-cased; an absolute page URL is stored as its path; ' +
          'timestamp is corrected for clock skew with sentAt; at most 32 KB; at most 24 h in the future.',
        tags: ['ingest'],
        security,
        querystring: WriteKeyQuerySchema,
        body: InteractionInputSchema,
        response: { 202: AcceptedSchema, ...commonErrors },
      },
    },
    async (request, reply) => {
      metrics.requestEvents.observe({ route: '/v1/events' }, 1);
      eventRate.take(request, 1);
      const prepared = prepareInteraction(request.body, requestContext(request));
      if (!prepared.ok) return rejectSingle('/v1/events', prepared);
      await eventRate.refundingUnavailable(request, 1, () =>
        app.events.publish([prepared.record], '/v1/events'),
      );
      return reply.code(202).send({ id: prepared.record.eventId });
    },
  );

  // Paths Segment's SDKs use too: Segment's bodies may come as text/plain, a form type or gzip by
  // its bytes, and carry the key in the body (segmentScope); ours stay JSON only (requireJson).
  await app.register(async (shared) => {
    segmentScope(shared, config);
    const sharedConfig = { perItemText: true, bodyKey: true };

    shared.post(
      '/v1/batch',
      {
        config: sharedConfig,
        validatorCompiler: byShape(isSegmentBatch, BatchBodySchema, SegmentBatchBodySchema),
        schema: {
          summary: 'Track many interactions',
          description:
            `At most INGEST_BATCH_MAX_EVENTS (default 1000) events and INGEST_BATCH_MAX_BYTES (default 1 MB). ` +
            'Each item is validated like POST /v1/events. 202 when all were accepted, 207 when some were refused ' +
            '(the valid ones are accepted), 400 when none is valid. A body with `batch` instead of `events` is ' +
            "Segment's or RudderStack's (analytics-node, rudder-sdk-node): 200 {success: true, accepted, rejected, dropped}.",
          tags: ['ingest', 'segment'],
          security: [...security, { basic: [] }],
          querystring: WriteKeyQuerySchema,
          body: Type.Union([BatchBodySchema, SegmentBatchBodySchema]),
          response: {
            200: SegmentResultSchema,
            202: BatchResultSchema,
            207: BatchResultSchema,
            ...commonErrors,
          },
        },
      },
      async (request, reply) => {
        if (isSegmentBatch(request.body)) return segment.batch(request, reply, '/v1/batch');
        requireJson(request);
        const result = await ingestBatch(request, (request.body as BatchBody).events, '/v1/batch');
        return reply.code(result.rejected.length > 0 ? 207 : 202).send(result);
      },
    );

    shared.post(
      '/v1/identify',
      {
        bodyLimit: LIMITS.eventBytes * 2,
        config: sharedConfig,
        validatorCompiler: byShape(isSegmentMessage, IdentifyInputSchema, SegmentMessageBodySchema),
        schema: {
          summary: 'Identify a user',
          description:
            'Records a user and role (traits optional) before or without any action, so they count in total users. ' +
            'Travels on the interactions topic as type IDENTIFY (action "identify", no page, traits as properties). ' +
            "A body with a field of Segment's (anonymousId, messageId, context, writeKey, type, …) is Segment's identify: " +
            '200 {success: true, accepted, rejected, dropped}.',
          tags: ['ingest', 'segment'],
          security: [...security, { basic: [] }],
          querystring: WriteKeyQuerySchema,
          body: Type.Union([IdentifyInputSchema, SegmentMessageBodySchema]),
          response: { 200: SegmentResultSchema, 202: AcceptedSchema, ...commonErrors },
        },
      },
      async (request, reply) => {
        if (isSegmentMessage(request.body)) return segment.single(request, reply, '/v1/identify', 'identify');
        requireJson(request);
        eventRate.take(request, 1);
        const prepared = prepareIdentify(request.body as IdentifyInput, requestContext(request));
        if (!prepared.ok) return rejectSingle('/v1/identify', prepared);
        await eventRate.refundingUnavailable(request, 1, () =>
          app.events.publish([prepared.record], '/v1/identify'),
        );
        return reply.code(202).send({ id: prepared.record.eventId });
      },
    );
  });

  // navigator.sendBeacon posts a string as text/plain (no CORS preflight) and cannot set headers.
  await app.register(async (beacon) => {
    beacon.addContentTypeParser('text/plain', { parseAs: 'buffer' }, strictJsonParser(beacon));
    beacon.post(
      '/v1/beacon',
      {
        config: { perItemText: true },
        schema: {
          summary: 'Track interactions sent with navigator.sendBeacon',
          description:
            'The body of POST /v1/batch sent as text/plain (or application/json), the write key in ?writeKey=. ' +
            '204 when at least one event was accepted (refused items are counted in metrics, a beacon cannot read ' +
            'a response), 400 when none is valid.',
          tags: ['ingest'],
          security,
          consumes: ['text/plain', 'application/json'],
          querystring: WriteKeyQuerySchema,
          body: BatchBodySchema,
          response: { 204: Type.Null({ description: 'Accepted' }), ...commonErrors },
        },
      },
      async (request, reply) => {
        await ingestBatch(request, (request.body as BatchBody).events, '/v1/beacon');
        return reply.code(204).send();
      },
    );
  });
}
