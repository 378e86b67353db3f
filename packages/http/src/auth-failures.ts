import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { HttpError } from './errors.js';
import { isHealthUrl } from './health.js';
import { WindowCounter } from './window-counter.js';

export interface AuthFailureOptions {
  /** 401 answers allowed per client address per window; the next requests get 429 until it ends. */
  max: number;
  windowMs: number;
  /** Addresses tracked at once; past it, the oldest entries are dropped (memory stays bounded). */
  maxTracked?: number;
}

/** Counts 401 answers per client address in fixed windows; bounded in size. */
export class AuthFailureCounter {
  readonly #counter: WindowCounter;

  constructor(private readonly o: Required<AuthFailureOptions>) {
    this.#counter = new WindowCounter(o);
  }

  /** Milliseconds until `ip` may try again, or 0 when it is not blocked. */
  blockedFor(ip: string, now = Date.now()): number {
    return this.#counter.count(ip, now) >= this.o.max ? this.#counter.resetIn(ip, now) : 0;
  }

  failed(ip: string, now = Date.now()): void {
    this.#counter.add(ip, 1, now);
  }

  get size(): number {
    return this.#counter.size;
  }
}

/**
 * Guessing keys costs: every 401 counts against the client's address, and once it has had `max` in
 * a window, any request from it is answered 429 with Retry-After before a key is even looked at.
 * (The request rate limiter buckets by key, so it never sees a caller without a valid one.)
 */
export const authFailurePlugin = fp<AuthFailureOptions>(
  async (app: FastifyInstance, opts) => {
    const counter = new AuthFailureCounter({ maxTracked: 100_000, ...opts });
    app.addHook('onRequest', async (request) => {
      if (isHealthUrl(request.url)) return; // health checks need no key
      const waitMs = counter.blockedFor(request.ip);
      if (waitMs === 0) return;
      const seconds = Math.ceil(waitMs / 1000);
      throw new HttpError(
        429,
        'TOO_MANY_AUTH_FAILURES',
        `too many requests with a missing or wrong key from this address; retry in ${seconds} s`,
        [],
        { 'retry-after': String(seconds) },
      );
    });
    app.addHook('onResponse', async (request, reply) => {
      if (reply.statusCode === 401) counter.failed(request.ip);
    });
  },
  { name: 'tracker-auth-failures' },
);
