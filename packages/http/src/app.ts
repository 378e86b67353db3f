import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
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
import { authFailurePlugin } from './auth-failures.js';
import { ErrorResponseSchema, errorBody, errorHandler, notFoundHandler } from './errors.js';
import { isHealthUrl } from './health.js';
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
  /** Which proxies may set X-Forwarded-For: none (false), a hop count, or their addresses/CIDRs. */
  trustProxy?: false | number | string[];
  /** HTTP server timeouts (ms): whole request, request headers, idle keep-alive connection. */
  timeouts?: { requestMs: number; headersMs: number; keepAliveMs: number };
  /** 401 answers per client address per window before it gets 429 (default 20 per minute). */
  authFailures?: { max: number; windowMs: number };
  /** When set, GET /metrics needs it as a bearer token. */
  metricsKey?: string;
  /** Validation messages for patterns, by pattern (instead of "must match pattern ^(?:…)$"). */
  patternMessages?: Readonly<Record<string, string>>;
}

/**
 * The Fastify instance every service starts from: pino logging with credentials redacted, strict
 * validation (unknown fields rejected, every error listed), the common error shape, CORS, rate
 * limiting per key and IP, Prometheus metrics and OpenAPI at /docs.
 */
export async function createBaseApp(opts: BaseAppOptions): Promise<TrackerApp> {
  const timeouts = opts.timeouts ?? DEFAULT_TIMEOUTS;
  const app = Fastify<RawServerDefault, IncomingMessage, ServerResponse>({
    logger: fastifyLoggerOptions(opts.service, opts.logLevel ?? 'info'),
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    trustProxy: proxyTrust(opts.trustProxy ?? false),
    serverFactory: (handler) => {
      const server = createServer(
        {
          requestTimeout: timeouts.requestMs,
          headersTimeout: Math.min(timeouts.headersMs, timeouts.requestMs),
          keepAliveTimeout: timeouts.keepAliveMs,
          // How often Node checks the two timeouts above (its default, 30 s, is too coarse).
          connectionsCheckingInterval: Math.min(5000, timeouts.headersMs),
        },
        handler,
      );
      return server;
    },
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
  // First of all hooks: an address that keeps failing authentication is turned away before anything.
  await app.register(authFailurePlugin, opts.authFailures ?? { max: 20, windowMs: 60_000 });
  app.setErrorHandler((error, request, reply) =>
    errorHandler(error as Parameters<typeof errorHandler>[0], request, reply, opts.patternMessages),
  );
  app.setNotFoundHandler(notFoundHandler);
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, strictJsonParser(app));
  app.addHook('onRequest', strictQueryString);
  app.addHook('preHandler', finiteNumbers);
  app.addHook('onResponse', async (request, reply) => {
    // A 503 from /readyz is its answer (not ready yet), not a failed request.
    if (reply.statusCode >= 500 && !isHealthUrl(request.url))
      request.log.warn({ msg: 'request_error', status: reply.statusCode, url: request.url.split('?')[0] });
  });

  await app.register(swagger, {
    openapi: {
      // 3.1: its schemas are JSON Schema, so TypeBox's keywords (propertyNames, ...) are valid there.
      openapi: '3.1.0',
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
      allowList: (request) => isHealthUrl(request.url) || request.url.split('?')[0] === '/metrics',
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

  await app.register(metricsPlugin, {
    service: opts.service,
    ...(opts.metricsKey ? { key: opts.metricsKey } : {}),
  });
  return app;
}

/**
 * Fastify's trustProxy. A hop count trusts that many proxies in front of us whatever their address
 * (Fastify 5 ignores a bare number), so the port must be reachable only through them.
 */
function proxyTrust(
  trust: false | number | string[],
): boolean | string[] | ((a: string, i: number) => boolean) {
  if (typeof trust !== 'number') return trust;
  return (_address, hop) => hop < trust;
}

/** The HttpServerEnv settings (@tracker/config) every service reads, as base app options. */
export interface HttpServerSettings {
  HTTP_REQUEST_TIMEOUT_MS: number;
  HTTP_HEADERS_TIMEOUT_MS: number;
  HTTP_KEEP_ALIVE_TIMEOUT_MS: number;
  AUTH_FAILURE_LIMIT: number;
  AUTH_FAILURE_WINDOW_MS: number;
  METRICS_KEY?: string | undefined;
}

export function httpServerOptions(
  c: HttpServerSettings,
): Pick<BaseAppOptions, 'timeouts' | 'authFailures' | 'metricsKey'> {
  return {
    timeouts: {
      requestMs: c.HTTP_REQUEST_TIMEOUT_MS,
      headersMs: c.HTTP_HEADERS_TIMEOUT_MS,
      keepAliveMs: c.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    },
    authFailures: { max: c.AUTH_FAILURE_LIMIT, windowMs: c.AUTH_FAILURE_WINDOW_MS },
    ...(c.METRICS_KEY ? { metricsKey: c.METRICS_KEY } : {}),
  };
}

/** Node's defaults for the whole request and idle keep-alive; headers well under Node's 60 s. */
export const DEFAULT_TIMEOUTS = { requestMs: 300_000, headersMs: 15_000, keepAliveMs: 65_000 };

/** A rate-limit window for people: `1 minute`, `10 seconds`, `1500 ms`. */
export function windowText(ms: number): string {
  if (ms % 60_000 === 0) return ms === 60_000 ? '1 minute' : `${ms / 60_000} minutes`;
  if (ms % 1000 === 0) return ms === 1000 ? '1 second' : `${ms / 1000} seconds`;
  return `${ms} ms`;
}
