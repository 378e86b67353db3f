import { HttpError, type TrackerApp } from '@tracker/http';
import type { IngestConfig } from '../config.js';
import { type Intake, listPaths } from '../intake.js';
import { bodyKeyAuth, eventsAuth } from '../keys.js';
import { commonErrors } from '../schemas.js';
import { typeboxValidatorCompiler } from '../validation.js';
import { installCompatParsers } from './body-decode.js';
import { ingestCompat } from './compat-intake.js';
import { mapPostHogEvent, posthogBodyKey, posthogEnvelope } from './posthog-map.js';
import { PostHogBodySchema, PostHogQuerySchema, PostHogResultSchema } from './schemas.js';

/**
 * PostHog's capture endpoints as its SDKs call them with only the host changed: posthog-node
 * POSTs `{api_key, batch, sent_at}` (gzip, Content-Encoding) to /batch/; posthog-js POSTs to /e/
 * (or /i/v0/e/ when its config names it) gzip as text/plain with no header or flag, or a base64
 * `data=` form with ?compression=base64. /capture/ and /track/ take the same. Each path with and
 * without its trailing slash.
 */
export const POSTHOG_PATHS = ['/batch', '/capture', '/e', '/i/v0/e', '/track'] as const;

export interface PostHogRoutesOptions {
  config: IngestConfig;
  intake: Intake;
}

export async function posthogRoutes(app: TrackerApp, { config, intake }: PostHogRoutesOptions) {
  app.setValidatorCompiler(typeboxValidatorCompiler);
  app.addHook('onRequest', eventsAuth(config));
  installCompatParsers(app, config.INGEST_BATCH_MAX_BYTES);
  app.addHook(
    'preValidation',
    bodyKeyAuth(config, (body) => posthogBodyKey(body)),
  );
  for (const base of POSTHOG_PATHS) {
    for (const path of [base, `${base}/`]) {
      app.post(
        path,
        {
          config: { bodyKey: true, perItemText: true },
          schema: {
            summary: `PostHog capture (${path})`,
            description:
              'PostHog events as posthog-node and posthog-js send them: {api_key, batch, sent_at}, an array or one event; ' +
              'JSON, gzip (by Content-Encoding or by its bytes) or a base64 data= form; the project token (api_key, token, ' +
              'or properties.token) is the write key. 200 {status: 1, accepted, rejected, dropped}. Mapped to our event ' +
              '(README: Switching from PostHog).',
            tags: ['posthog'],
            consumes: ['application/json', 'text/plain', 'application/x-www-form-urlencoded'],
            querystring: PostHogQuerySchema,
            body: PostHogBodySchema,
            response: { 200: PostHogResultSchema, ...commonErrors },
          },
        },
        async (request, reply) => {
          const envelope = posthogEnvelope(request.body, request.query as Record<string, unknown>);
          if (envelope.events.length === 0)
            throw new HttpError(400, 'VALIDATION_FAILED', 'no events in the body', [
              { path: envelope.isBatch ? 'body.batch' : 'body', message: 'must hold at least one event' },
            ]);
          const outcome = await ingestCompat(
            intake,
            request,
            base,
            envelope.events,
            envelope.isBatch
              ? listPaths(Array.isArray(request.body) ? 'body' : 'body.batch')
              : { list: 'body', item: () => 'body' },
            (event) => mapPostHogEvent(event, envelope),
          );
          return reply.code(200).send({ status: 1, ...outcome });
        },
      );
    }
  }
}
