import type { Readable, Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { trustProxyOption } from '@tracker/config';
import {
  apiHitsPlugin,
  type BaseAppOptions,
  createBaseApp,
  HttpError,
  healthPlugin,
  httpServerOptions,
  type TrackerApp,
} from '@tracker/http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { KafkaConfig } from 'kafkajs';
import { browserConfigRoutes } from './compat/browser-config.route.js';
import { posthogRoutes } from './compat/posthog.route.js';
import { SegmentIntake, segmentRoutes } from './compat/segment.route.js';
import type { IngestConfig } from './config.js';
import { Intake } from './intake.js';
import { eventsPlugin } from './plugins/events.plugin.js';
import { eventsRoutes } from './routes/events.route.js';
import { importRoute } from './routes/import.route.js';
import { trackerJsRoute } from './routes/tracker-js.route.js';
import { queryAllowList } from './url-privacy.js';

export const SERVICE = 'ingest';

/** What the app gets from outside besides its config. */
export interface AppDeps {
  /** kafkajs settings on top of the config (tests pass a socketFactory to cut the network to Kafka). */
  kafka?: Partial<KafkaConfig>;
}

/**
 * The base app options ingest runs with (limits, CORS, rate limit, proxy trust), without the API
 * docs: shared with the benchmark's no-Kafka baseline server so the two cannot drift apart.
 */
export function baseAppOptions(config: IngestConfig): Omit<BaseAppOptions, 'docs'> {
  return {
    service: SERVICE,
    logLevel: config.LOG_LEVEL,
    bodyLimit: config.INGEST_BATCH_MAX_BYTES,
    corsOrigins: config.INGEST_CORS_ORIGINS,
    // content-encoding: browsers may send compressed bodies (gzip, deflate, br), as the README says.
    // x-retry-count: analytics-next numbers its retries in it (the preflight must allow it).
    corsHeaders: ['x-write-key', 'content-encoding', 'x-retry-count'],
    rateLimitMax: config.INGEST_RATE_LIMIT_MAX,
    rateLimitWindowMs: config.INGEST_RATE_LIMIT_WINDOW_MS,
    trustProxy: trustProxyOption(config.TRUST_PROXY),
    ...httpServerOptions(config),
  };
}

const DECODERS: Record<string, () => Transform> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/**
 * preParsing: a compressed body (Content-Encoding gzip, deflate or br; back-end senders batch
 * compressed) is decompressed on the way in; the body limits apply to what it decompresses to. Any
 * other encoding is a 415, corrupt data a 400, rather than compressed bytes read as text.
 */
export async function decodeContentEncoding(
  request: FastifyRequest,
  _reply: FastifyReply,
  payload: Readable,
): Promise<Readable> {
  const encoding = request.headers['content-encoding']?.trim().toLowerCase();
  if (!encoding || encoding === 'identity') return payload;
  const decoder = DECODERS[encoding];
  if (!decoder) {
    throw new HttpError(
      415,
      'UNSUPPORTED_CONTENT_ENCODING',
      `Content-Encoding ${encoding} is not supported`,
      [{ path: 'headers.content-encoding', message: 'must be gzip, deflate, br or identity' }],
    );
  }
  if (request.headers['content-type']?.trim().toLowerCase().startsWith('multipart/')) {
    // NOTE: @fastify/multipart reads the request's own stream, not this hook's: the compressed bytes
    // were parsed as multipart (a misleading 400), or, once the unread decompressed copy filled its
    // buffer, the upload stalled and the request never got an answer.
    throw new HttpError(
      415,
      'UNSUPPORTED_CONTENT_ENCODING',
      'a multipart upload cannot be compressed as a whole: send the compressed file as the raw body ' +
        '(POST /v1/import with Content-Encoding), or the multipart upload uncompressed',
      [{ path: 'headers.content-encoding', message: 'must be identity (or absent) for multipart/form-data' }],
    );
  }
  const decoded = decoder();
  decoded.on('error', (error: Error) =>
    Object.assign(error, {
      statusCode: 400,
      code: 'INVALID_CONTENT_ENCODING',
      message: `the body is not valid ${encoding}: ${error.message}`,
    }),
  );
  payload.on('error', (error) => decoded.destroy(error));
  // Fastify checks Content-Length against the bytes received, which it reads from here.
  const counted = decoded as Transform & { receivedEncodedLength: number };
  counted.receivedEncodedLength = 0;
  payload.on('data', (chunk: Buffer) => {
    counted.receivedEncodedLength += chunk.length;
  });
  return payload.pipe(counted);
}

/**
 * The ingest service: validated interactions to Kafka as Avro. Builds and returns the app (never
 * listens); connects to the registry and Kafka while registering, closes them on app.close().
 */
export async function buildApp(config: IngestConfig, deps: AppDeps = {}): Promise<TrackerApp> {
  const app = await createBaseApp({
    ...baseAppOptions(config),
    docs: {
      title: 'Interaction tracker: ingest API',
      description:
        'Send interactions (page views, clicks, form submissions, any named action) and identify calls. ' +
        'Every accepted event is in Kafka when the answer is 202. Errors: {status, code, message, details:[{path, message}]}.',
      securitySchemes: {
        writeKeyHeader: { type: 'apiKey', in: 'header', name: 'x-write-key' },
        writeKeyQuery: { type: 'apiKey', in: 'query', name: 'writeKey' },
        basic: {
          type: 'http',
          scheme: 'basic',
          description: 'Segment/RudderStack: the write key as user name',
        },
      },
    },
  });
  // NOTE: on close, Fastify refuses new requests (503) and closes idle keep-alive sockets once; a
  // socket busy at that moment would stay open after its answer and hold the shutdown until its
  // keep-alive timeout. Answering those with Connection: close lets the server finish at once.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });
  app.addHook('preParsing', decodeContentEncoding);
  if (config.INGEST_WRITE_KEYS.length === 0) {
    app.log.warn({
      msg: 'write_keys_unset',
      hint: 'INGEST_WRITE_KEYS is empty: anyone who reaches this port can send events',
    });
  } else if (config.INGEST_IMPORT_KEYS.length === 0) {
    app.log.info({
      msg: 'imports_disabled',
      hint: 'write keys are set and INGEST_IMPORT_KEYS is empty: /v1/import refuses every request',
    });
  }

  await app.register(eventsPlugin, { config, kafka: deps.kafka ?? {} });
  await app.register(healthPlugin, {
    checks: {
      kafka: () => app.events.healthy,
      schemaRegistry: () => app.events.serde.schemaId !== undefined,
    },
  });
  // Registered after eventsPlugin so its final flush on close runs before the producers close.
  await app.register(apiHitsPlugin, {
    flush: (hits) => app.events.publishApiHits(SERVICE, hits),
    intervalMs: config.INGEST_API_HITS_INTERVAL_MS,
  });
  await app.register(trackerJsRoute, { path: config.INGEST_TRACKER_JS_PATH });
  await app.register(browserConfigRoutes, { config });
  const keepParam = queryAllowList(config.INGEST_URL_QUERY_ALLOW);
  const intake = new Intake(app, config, keepParam);
  const segment = new SegmentIntake(intake);
  await app.register(eventsRoutes, { config, intake, segment });
  await app.register(importRoute, { config, keepParam });
  // Segment, RudderStack and PostHog SDKs send here unchanged but for the host (compat/).
  await app.register(segmentRoutes, { config, segment });
  await app.register(posthogRoutes, { config, intake });
  return app;
}
