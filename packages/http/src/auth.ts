import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Where a request may carry its key. */
export type KeySource = 'bearer' | `header:${string}` | `query:${string}`;

/** The key a request presents, from the first source that has one. */
export function presentedKey(request: FastifyRequest, sources: readonly KeySource[]): string | undefined {
  for (const source of sources) {
    if (source === 'bearer') {
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
  const digests = keys.map(digest);
  return async (request: FastifyRequest) => {
    if (digests.length === 0) return;
    const key = presentedKey(request, sources);
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
