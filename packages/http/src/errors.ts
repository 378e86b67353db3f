import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { type Static, Type } from 'typebox';

export const ErrorDetailSchema = Type.Object({
  path: Type.String({ description: 'Where the problem is, e.g. body.events.3.userId or querystring.limit' }),
  message: Type.String(),
});
export type ErrorDetail = Static<typeof ErrorDetailSchema>;

/** The one error shape every route of every service answers with. */
export const ErrorResponseSchema = Type.Object(
  {
    status: Type.Integer(),
    code: Type.String({ description: 'Stable machine-readable code, e.g. VALIDATION_FAILED' }),
    message: Type.String(),
    details: Type.Array(ErrorDetailSchema),
  },
  { $id: 'ErrorResponse' },
);
export type ErrorResponse = Static<typeof ErrorResponseSchema>;

/** Throw from a handler or hook to answer in the common shape. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details: ErrorDetail[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function errorBody(
  status: number,
  code: string,
  message: string,
  details: ErrorDetail[] = [],
): ErrorResponse {
  return { status, code, message, details };
}

interface AjvError {
  instancePath: string;
  message?: string;
  keyword: string;
  params: Record<string, unknown>;
}

/** Turns one ajv error into a dotted field path and a readable reason. */
export function validationDetail(
  context: string,
  e: AjvError,
  patternMessages: Readonly<Record<string, string>> = {},
): ErrorDetail {
  const segments = e.instancePath
    .split('/')
    .filter(Boolean)
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
  let message = e.message ?? 'is invalid';
  if (e.keyword === 'required') segments.push(String(e.params.missingProperty));
  if (e.keyword === 'additionalProperties') {
    segments.push(String(e.params.additionalProperty));
    message = 'is not an allowed field';
  }
  if (e.keyword === 'required') message = 'is required';
  if (e.keyword === 'pattern') message = patternMessages[String(e.params.pattern)] ?? message;
  return { path: [context, ...segments].join('.'), message };
}

/**
 * A value that matches none of a union of constants (TypeBox `Union([Literal…])`) makes ajv report one
 * `const` error per choice and an `anyOf` error: one "must be one of: …" detail instead.
 */
export function mergeChoices(errors: AjvError[]): AjvError[] {
  const choices = new Map<string, unknown[]>();
  const out: AjvError[] = [];
  for (const e of errors) {
    if (e.keyword === 'const') {
      choices.set(e.instancePath, [...(choices.get(e.instancePath) ?? []), e.params.allowedValue]);
    } else if (e.keyword === 'anyOf' && choices.has(e.instancePath)) {
      const allowed = choices.get(e.instancePath)!;
      choices.delete(e.instancePath);
      out.push({ ...e, keyword: 'enum', message: `must be one of: ${allowed.map(String).join(', ')}` });
    } else out.push(e);
  }
  for (const e of errors) if (e.keyword === 'const' && choices.has(e.instancePath)) out.push(e);
  return out;
}

const FASTIFY_CODES: Record<string, [number, string]> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'UNSUPPORTED_MEDIA_TYPE'],
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'PAYLOAD_TOO_LARGE'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'BAD_CONTENT_LENGTH'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'EMPTY_BODY'],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'INVALID_JSON'],
  FST_ERR_CTP_EMPTY_TYPE: [415, 'UNSUPPORTED_MEDIA_TYPE'],
  FST_ERR_CTP_INVALID_TYPE: [415, 'UNSUPPORTED_MEDIA_TYPE'],
  FST_ERR_BAD_URL: [400, 'BAD_URL'],
  FST_ERR_ASYNC_CONSTRAINT: [400, 'BAD_REQUEST'],
  FST_ERR_NOT_FOUND: [404, 'NOT_FOUND'],
};

/** node-postgres' errors when no connection could be had within connectionTimeoutMillis. */
const POOL_TIMEOUT =
  /^(timeout exceeded when trying to connect|Connection terminated due to connection timeout)$/;

/**
 * Fastify error handler: validation errors, parser errors, HttpErrors and rate limiting all leave in
 * the common shape. Unexpected errors are logged and answer 500 without internals.
 */
export function errorHandler(
  error: FastifyError & Partial<HttpError>,
  request: FastifyRequest,
  reply: FastifyReply,
  patternMessages: Readonly<Record<string, string>> = {},
) {
  if (error instanceof HttpError) {
    reply.headers(error.headers);
    return reply
      .code(error.statusCode)
      .send(errorBody(error.statusCode, error.code, error.message, error.details));
  }
  if (error.validation) {
    const context = error.validationContext ?? 'request';
    const details = mergeChoices(error.validation as AjvError[]).map((e) =>
      validationDetail(context, e, patternMessages),
    );
    return reply.code(400).send(errorBody(400, 'VALIDATION_FAILED', `invalid ${context}`, details));
  }
  const mapped = error.code ? FASTIFY_CODES[error.code] : undefined;
  if (mapped && error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    // Which limit, so a client can split its batch: the route's (after decompression, for ingest).
    const limit = request.routeOptions.bodyLimit;
    const message = `is larger than this endpoint's limit of ${limit} bytes`;
    return reply
      .code(413)
      .send(errorBody(413, mapped[1], `the body ${message}`, [{ path: 'body', message }]));
  }
  if (mapped) return reply.code(mapped[0]).send(errorBody(mapped[0], mapped[1], error.message));
  if (
    error instanceof SyntaxError ||
    (error.statusCode === 400 && /JSON|proto|constructor/i.test(error.message))
  ) {
    return reply.code(400).send(errorBody(400, 'INVALID_JSON', `body is not valid JSON: ${error.message}`));
  }
  if (error.statusCode === 429) {
    return reply.code(429).send(errorBody(429, 'RATE_LIMITED', error.message));
  }
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return reply
      .code(error.statusCode)
      .send(errorBody(error.statusCode, error.code ?? 'BAD_REQUEST', error.message));
  }
  if (POOL_TIMEOUT.test(error.message)) {
    // No database connection within the pool's connection timeout: busy or down, not a bug.
    request.log.warn({ msg: 'db_connect_timeout', url: request.url.split('?')[0] });
    return reply
      .code(503)
      .header('retry-after', '5')
      .send(errorBody(503, 'DATABASE_UNAVAILABLE', 'no database connection is free; retry shortly'));
  }
  request.log.error({ msg: 'request_failed', err: error });
  return reply.code(500).send(errorBody(500, 'INTERNAL', 'internal server error'));
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply) {
  return reply
    .code(404)
    .send(errorBody(404, 'NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0]}`));
}
