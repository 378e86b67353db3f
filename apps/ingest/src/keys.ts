import { HttpError, type KeySource, requireKey } from '@tracker/http';
import type { FastifyRequest } from 'fastify';
import type { IngestConfig } from './config.js';

/** Where ingest takes a key from: header, bearer token, or `?writeKey=` (sendBeacon cannot set headers). */
export const WRITE_KEY_SOURCES: readonly KeySource[] = ['header:x-write-key', 'bearer', 'query:writeKey'];

/**
 * The event routes (/v1/events, batch, beacon, identify): a write key, or an import key (a back end
 * that imports may send events too). Open when INGEST_WRITE_KEYS is empty.
 */
export function eventsAuth(config: IngestConfig) {
  const keys = config.INGEST_WRITE_KEYS.length
    ? [...config.INGEST_WRITE_KEYS, ...config.INGEST_IMPORT_KEYS]
    : [];
  return requireKey(keys, WRITE_KEY_SOURCES, 'write key');
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
