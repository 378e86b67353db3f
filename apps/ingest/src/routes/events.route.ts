import { type ErrorDetail, HttpError, strictJsonParser, type TrackerApp } from '@tracker/http';
import {
  IdentifyInputSchema,
  InteractionInputSchema,
  type InteractionRecord,
  LIMITS,
} from '@tracker/schemas';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { IngestConfig } from '../config.js';
import { EventRate } from '../event-rate.js';
import { eventsAuth } from '../keys.js';
import { type Prepared, prepareIdentify, prepareInteraction, type RequestContext } from '../normalize.js';
import {
  AcceptedSchema,
  type BatchBody,
  BatchBodySchema,
  type BatchResult,
  BatchResultSchema,
  commonErrors,
  WriteKeyQuerySchema,
} from '../schemas.js';
import type { ParamFilter } from '../url-privacy.js';
import { typeboxValidatorCompiler } from '../validation.js';

const security = [{ bearer: [] }, { writeKeyHeader: [] }, { writeKeyQuery: [] }];

export function requestContext(request: FastifyRequest, keepParam?: ParamFilter): RequestContext {
  const ua = request.headers['user-agent'];
  return {
    receivedAt: Date.now(),
    userAgent: typeof ua === 'string' && ua.length > 0 ? ua : undefined,
    ...(keepParam ? { keepParam } : {}),
  };
}

/** Adds `prefix` to item-relative error paths (`userId` → `body.events.3.userId`). */
export function prefixed(prefix: string, errors: ErrorDetail[]): ErrorDetail[] {
  return errors.map((e) => ({ path: e.path ? `${prefix}.${e.path}` : prefix, message: e.message }));
}

export interface EventsRoutesOptions {
  config: IngestConfig;
  /** Query parameters kept in pages and referrers (from INGEST_URL_QUERY_ALLOW). */
  keepParam: ParamFilter;
}

/**
 * POST /v1/events, /v1/batch, /v1/identify and /v1/beacon. Each answers only after Kafka acknowledged
 * what it accepted; every refused item is reported with its field path and reason.
 */
export async function eventsRoutes(app: TrackerApp, { config, keepParam }: EventsRoutesOptions) {
  const eventRate = new EventRate({
    max: config.INGEST_EVENT_RATE_MAX,
    windowMs: config.INGEST_RATE_LIMIT_WINDOW_MS,
    bucket: 'key+address',
    setting: 'INGEST_EVENT_RATE_MAX',
  });
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

  /** Validates every item, produces the valid ones; throws when none is valid or too many were sent. */
  const ingestBatch = async (
    request: FastifyRequest,
    events: unknown[],
    route: string,
  ): Promise<BatchResult> => {
    if (events.length > config.INGEST_BATCH_MAX_EVENTS) {
      throw new HttpError(
        413,
        'TOO_MANY_EVENTS',
        `a batch may have at most ${config.INGEST_BATCH_MAX_EVENTS} events`,
        [{ path: 'body.events', message: `has ${events.length} items` }],
      );
    }
    metrics.requestEvents.observe({ route }, events.length);
    eventRate.take(request, events.length);
    const ctx = requestContext(request, keepParam);
    const result: BatchResult = { accepted: [], rejected: [] };
    const records: InteractionRecord[] = [];
    events.forEach((item, index) => {
      const prepared = prepareInteraction(item, ctx);
      if (prepared.ok) {
        records.push(prepared.record);
        result.accepted.push({ index, id: prepared.record.eventId });
      } else {
        metrics.rejected.inc({ route, reason: prepared.reason });
        result.rejected.push({ index, errors: prefixed(`body.events.${index}`, prepared.errors) });
      }
    });
    if (records.length === 0) {
      throw new HttpError(
        400,
        'VALIDATION_FAILED',
        `none of the ${events.length} events is valid`,
        result.rejected.flatMap((r) => r.errors),
      );
    }
    await app.events.publish(records, route);
    return result;
  };

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
      const prepared = prepareInteraction(request.body, requestContext(request, keepParam));
      if (!prepared.ok) return rejectSingle('/v1/events', prepared);
      await app.events.publish([prepared.record], '/v1/events');
      return reply.code(202).send({ id: prepared.record.eventId });
    },
  );

  app.post(
    '/v1/batch',
    {
      config: { perItemText: true },
      schema: {
        summary: 'Track many interactions',
        description:
          `At most INGEST_BATCH_MAX_EVENTS (default 1000) events and INGEST_BATCH_MAX_BYTES (default 1 MB). ` +
          'Each item is validated like POST /v1/events. 202 when all were accepted, 207 when some were refused ' +
          '(the valid ones are accepted), 400 when none is valid.',
        tags: ['ingest'],
        security,
        querystring: WriteKeyQuerySchema,
        body: BatchBodySchema,
        response: { 202: BatchResultSchema, 207: BatchResultSchema, ...commonErrors },
      },
    },
    async (request, reply) => {
      const result = await ingestBatch(request, request.body.events, '/v1/batch');
      return reply.code(result.rejected.length > 0 ? 207 : 202).send(result);
    },
  );

  app.post(
    '/v1/identify',
    {
      bodyLimit: LIMITS.eventBytes * 2,
      schema: {
        summary: 'Identify a user',
        description:
          'Records a user and role (traits optional) before or without any action, so they count in total users. ' +
          'Travels on the interactions topic as type IDENTIFY (action "identify", no page, traits as properties).',
        tags: ['ingest'],
        security,
        querystring: WriteKeyQuerySchema,
        body: IdentifyInputSchema,
        response: { 202: AcceptedSchema, ...commonErrors },
      },
    },
    async (request, reply) => {
      eventRate.take(request, 1);
      const prepared = prepareIdentify(request.body, requestContext(request, keepParam));
      if (!prepared.ok) return rejectSingle('/v1/identify', prepared);
      await app.events.publish([prepared.record], '/v1/identify');
      return reply.code(202).send({ id: prepared.record.eventId });
    },
  );

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
