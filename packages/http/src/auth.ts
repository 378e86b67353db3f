import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Where a request may carry its key. `basic`: the user name of HTTP Basic authentication (the
 * password is ignored), as Segment's and RudderStack's SDKs send their write key.
 */
export type KeySource = 'bearer' | 'basic' | `header:${string}` | `query:${string}`;

/** The user name of an `Authorization: Basic` header, when it has one. */
export function basicUser(header: unknown): string | undefined {
  if (typeof header !== 'string' || !/^basic\s+/i.test(header)) return undefined;
  const decoded = Buffer.from(header.replace(/^basic\s+/i, '').trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = colon === -1 ? decoded : decoded.slice(0, colon);
  return user.length > 0 ? user : undefined;
}

/** The key a request presents, from the first source that has one. */
export function presentedKey(request: FastifyRequest, sources: readonly KeySource[]): string | undefined {
  for (const source of sources) {
    if (source === 'basic') {
      const user = basicUser(request.headers.authorization);
      if (user !== undefined) return user;
    } else if (source === 'bearer') {
      const header = request.headers.authorization;
      if (typeof header === 'string' && /^bearer\s+/i.test(header))
        return header.replace(/^bearer\s+/i, '').trim();
    } else if (source.startsWith('header:')) {
      const value = request.headers[source.slice(7)];
      if (typeof value === 'string' && value.length > 0) return value;
    } else {
      const value = (request.query as Record<string, unknown> | undefined)?.[source.slice(6)];
      if (typeof value === 'string' && value.length > 0) return value;
    }
  }
  return undefined;
}

/**
 * A preHandler that lets a request through only with one of `keys` (compared in constant time).
 * With no keys configured it lets everything through: the service warns about that at boot.
 */
export function requireKey(keys: readonly string[], sources: readonly KeySource[], kind: string) {
  const check = keyCheck(keys, kind);
  return async (request: FastifyRequest) => {
    if (keys.length === 0) return;
    check(request, presentedKey(request, sources));
  };
}

/**
 * The check requireKey makes, for a key found elsewhere (in a request body): throws 401 without one
 * of `keys` (compared in constant time), else sets `request.apiKey`. Callers skip it when `keys` is
 * empty (no keys configured: open).
 */
export function keyCheck(keys: readonly string[], kind: string) {
  const digests = keys.map(digest);
  return (request: FastifyRequest, key: string | undefined): void => {
    if (key === undefined) throw new HttpError(401, 'UNAUTHORIZED', `a ${kind} is required`);
    const d = digest(key);
    if (!digests.some((k) => timingSafeEqual(k, d)))
      throw new HttpError(401, 'UNAUTHORIZED', `the ${kind} is not valid`);
    request.apiKey = key;
  };
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The key the request authenticated with, when keys are configured (for rate limiting; never logged). */
    apiKey?: string;
  }
}

/** A key's stand-in for buckets and maps: a short hash, so the key never sits in memory dumps or logs. */
export function keyId(key: string): string {
  return digest(key).toString('hex').slice(0, 16);
}

/** Rate limit bucket: key and client IP. */
export function rateLimitKey(request: FastifyRequest): string {
  return `${request.apiKey ? keyId(request.apiKey) : '-'}|${request.ip}`;
}
