import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export interface ApiHitsOptions {
  /** Persists a delta of hits; throwing keeps the delta for the next flush. */
  flush: (hits: number) => Promise<void>;
  /** How often deltas are flushed. Default 2000 ms (the dashboard may be at most 5 s stale). */
  intervalMs?: number;
}

const NOT_COUNTED = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Counts the requests this instance serves ("API hits" on the dashboard) and hands the delta to
 * `flush` every interval and on close, so the total survives restarts wherever `flush` stores it.
 */
export const apiHitsPlugin = fp<ApiHitsOptions>(
  async (app: FastifyInstance, opts) => {
    let pending = 0;
    let flushing: Promise<void> | undefined;
    app.addHook('onResponse', async (request) => {
      if (!NOT_COUNTED.has(request.url.split('?')[0]!)) pending += 1;
    });
    const flush = async () => {
      if (flushing || pending === 0) return;
      const delta = pending;
      pending = 0;
      flushing = opts
        .flush(delta)
        .catch((error: Error) => {
          pending += delta;
          app.log.warn({ msg: 'api_hits_flush_failed', err: error.message, delta });
        })
        .finally(() => {
          flushing = undefined;
        });
      await flushing;
    };
    const timer = setInterval(flush, opts.intervalMs ?? 2000);
    timer.unref();
    app.addHook('onClose', async () => {
      clearInterval(timer);
      await flushing;
      await flush();
    });
  },
  { name: 'tracker-api-hits' },
);
