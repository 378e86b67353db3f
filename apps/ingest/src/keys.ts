import { HttpError, type KeySource, keyCheck, presentedKey, requireKey } from '@tracker/http';
import type { FastifyRequest } from 'fastify';
import type { IngestConfig } from './config.js';

/**
 * Where ingest takes a key from: header, bearer token, Basic user name (Segment's and RudderStack's
 * SDKs send `writeKey:`), or `?writeKey=` (sendBeacon cannot set headers).
 */
export const WRITE_KEY_SOURCES: readonly KeySource[] = [
  'header:x-write-key',
  'bearer',
  'basic',
  'query:writeKey',
];

/** The keys the event routes take: write keys and import keys; none when INGEST_WRITE_KEYS is empty (open). */
function eventKeys(config: IngestConfig): string[] {
  return config.INGEST_WRITE_KEYS.length ? [...config.INGEST_WRITE_KEYS, ...config.INGEST_IMPORT_KEYS] : [];
}

/** Route config of routes whose body may carry the key (Segment's `writeKey`, PostHog's `api_key`). */
export interface BodyKeyRouteConfig {
  bodyKey?: boolean;
}

const allowsBodyKey = (request: FastifyRequest) =>
  (request.routeOptions.config as BodyKeyRouteConfig | undefined)?.bodyKey === true;

/**
 * The event routes (/v1/events, batch, beacon, identify and the Segment/PostHog ones): a write key,
 * or an import key (a back end that imports may send events too). Open when INGEST_WRITE_KEYS is
 * empty. A route marked `bodyKey` whose request presents no key in its headers or URL is checked
 * once its body is parsed (bodyKeyAuth): PostHog's SDKs send the key only there.
 */
export function eventsAuth(config: IngestConfig) {
  const keys = eventKeys(config);
  const check = keyCheck(keys, 'write key');
  return async (request: FastifyRequest) => {
    if (keys.length === 0) return;
    const key = presentedKey(request, WRITE_KEY_SOURCES);
    if (key === undefined && allowsBodyKey(request)) return;
    check(request, key);
  };
}

/**
 * preValidation of `bodyKey` routes: a request that presented no key before its body was read must
 * carry one in the body (`keyOf` finds it); 401 otherwise, as on the other event routes.
 */
export function bodyKeyAuth(config: IngestConfig, keyOf: (body: unknown) => string | undefined) {
  const keys = eventKeys(config);
  const check = keyCheck(keys, 'write key');
  return async (request: FastifyRequest) => {
    if (keys.length === 0 || request.apiKey !== undefined) return;
    check(request, keyOf(request.body));
  };
}

/**
 * onRequest of the browser SDKs' settings and config routes, whose key is a path segment
 * (`/v1/projects/<writeKey>/settings`, `/array/<token>/config`): the keys of the event routes, a
 * 401 for any other (counted as an auth failure, like a wrong key anywhere). Open when
 * INGEST_WRITE_KEYS is empty.
 */
export function pathKeyAuth(config: IngestConfig, param: string) {
  const keys = eventKeys(config);
  const check = keyCheck(keys, 'write key');
  return async (request: FastifyRequest) => {
    if (keys.length === 0) return;
    check(request, (request.params as Record<string, string | undefined>)[param]);
  };
}

/**
 * /v1/import takes any user and any time in bulk, so a write key (public in every page that runs the
 * snippet) may not use it: only INGEST_IMPORT_KEYS. With write keys but no import key configured,
 * imports are refused; with no keys at all, ingest is open (a warning is logged at boot).
 */
export function importAuth(config: IngestConfig) {
  if (config.INGEST_IMPORT_KEYS.length > 0)
    return requireKey(config.INGEST_IMPORT_KEYS, WRITE_KEY_SOURCES, 'import key (INGEST_IMPORT_KEYS)');
  if (config.INGEST_WRITE_KEYS.length === 0) return async (_request: FastifyRequest) => {};
  return async (_request: FastifyRequest) => {
    throw new HttpError(
      401,
      'UNAUTHORIZED',
      'an import key is required, and this ingest has none configured (INGEST_IMPORT_KEYS); a write key cannot import',
    );
  };
}
