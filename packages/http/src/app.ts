import type { IncomingMessage, ServerResponse } from 'node:http';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { fastifyLoggerOptions } from '@tracker/logger';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  LogController,
  type RawServerDefault,
} from 'fastify';
import { rateLimitKey } from './auth.js';
import { ErrorResponseSchema, errorBody, errorHandler, notFoundHandler } from './errors.js';
import { metricsPlugin } from './metrics.js';
import { finiteNumbers, strictJsonParser, strictQueryString } from './strict-input.js';

export type TrackerApp = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface BaseAppOptions {
  service: string;
  logLevel?: string;
  /** Largest accepted body in bytes (Fastify's bodyLimit). */
  bodyLimit?: number;
  /** Allowed CORS origins; `*` allows any. Empty disables CORS headers. */
  corsOrigins?: string[];
  /** Requests per window per key and IP; 0 disables rate limiting. */
  rateLimitMax?: number;
  rateLimitWindowMs?: number;
  docs: {
    title: string;
    description: string;
    version?: string;
    /** OpenAPI security schemes besides `bearer` (e.g. an API key header), named as routes use them. */
    securitySchemes?: Record<string, Record<string, unknown>>;
  };
  /** Extra headers CORS must allow (e.g. x-write-key). */
  corsHeaders?: string[];
  /** Trust X-Forwarded-For from a reverse proxy. */
  trustProxy?: boolean;
  /** Validation messages for patterns, by pattern (instead of "must match pattern ^(?:…)$"). */
  patternMessages?: Readonly<Record<string, string>>;
}

/**
 * The Fastify instance every service starts from: pino logging with credentials redacted, strict
 * validation (unknown fields rejected, every error listed), the common error shape, CORS, rate
 * limiting per key and IP, Prometheus metrics and OpenAPI at /docs.
 */
export async function createBaseApp(opts: BaseAppOptions): Promise<TrackerApp> {
  const app = Fastify({
    logger: fastifyLoggerOptions(opts.service, opts.logLevel ?? 'info'),
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    trustProxy: opts.trustProxy ?? false,
    // Per-request lines off: metrics count requests, and the error handler logs what matters.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    // A URL Fastify cannot decode (`/api/%ff`) leaves in the common shape too.
    frameworkErrors: (error, request, reply) => errorHandler(error, request, reply),
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: true },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.addSchema(ErrorResponseSchema);
  app.setErrorHandler((error, request, reply) =>
    errorHandler(error as Parameters<typeof errorHandler>[0], request, reply, opts.patternMessages),
  );
  app.setNotFoundHandler(notFoundHandler);
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, strictJsonParser(app));
  app.addHook('onRequest', strictQueryString);
  app.addHook('preHandler', finiteNumbers);
  app.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode >= 500)
      request.log.warn({ msg: 'request_error', status: reply.statusCode, url: request.url.split('?')[0] });
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: opts.docs.title,
        description: opts.docs.description,
        version: opts.docs.version ?? '0.1.0',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          ...opts.docs.securitySchemes,
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  if (opts.corsOrigins && opts.corsOrigins.length > 0) {
    const any = opts.corsOrigins.includes('*');
    await app.register(cors, {
      origin: any ? true : opts.corsOrigins,
      methods: ['GET', 'POST', 'OPTIONS'],
      allowedHeaders: ['content-type', 'authorization', 'x-api-key', ...(opts.corsHeaders ?? [])],
      maxAge: 600,
    });
  }

  if ((opts.rateLimitMax ?? 0) > 0) {
    await app.register(rateLimit, {
      global: true,
      max: opts.rateLimitMax!,
      timeWindow: opts.rateLimitWindowMs ?? 60_000,
      hook: 'preHandler',
      keyGenerator: rateLimitKey,
      allowList: (request) => ['/healthz', '/readyz', '/metrics'].includes(request.url.split('?')[0]!),
      errorResponseBuilder: (_request, context) => ({
        ...errorBody(
          429,
          'RATE_LIMITED',
          // NOTE: context.after is the time until the window resets, not the window itself.
          `rate limit of ${context.max} requests per ${windowText(opts.rateLimitWindowMs ?? 60_000)} exceeded; retry in ${context.after}`,
        ),
        statusCode: 429,
      }),
    });
  }

  await app.register(metricsPlugin, { service: opts.service });
  return app;
}

/** A rate-limit window for people: `1 minute`, `10 seconds`, `1500 ms`. */
export function windowText(ms: number): string {
  if (ms % 60_000 === 0) return ms === 60_000 ? '1 minute' : `${ms / 60_000} minutes`;
  if (ms % 1000 === 0) return ms === 1000 ? '1 second' : `${ms / 1000} seconds`;
  return `${ms} ms`;
}
