import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Type } from 'typebox';

/** A check that is not ready and can say why (shown under `reasons` in /readyz). */
export interface NotReady {
  reason: string;
}

/** The health endpoints: never rate-limited, never blocked, their 503 is an answer, not an error. */
const HEALTH_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

/** Whether a request URL (query string or not) is /healthz or /readyz. */
export const isHealthUrl = (url: string): boolean => HEALTH_PATHS.has(url.split('?')[0]!);

/** A readiness check: resolves true (or void) when the dependency answers; false or a NotReady when not. */
export type ReadinessCheck = () => Promise<boolean | undefined | NotReady> | boolean | NotReady;

export interface HealthOptions {
  checks: Record<string, ReadinessCheck>;
  /** Per-check time limit. Default 2000 ms. */
  timeoutMs?: number;
}

const HealthSchema = Type.Object({ status: Type.Literal('ok') });
const ReadySchema = Type.Object({
  ready: Type.Boolean(),
  checks: Type.Record(Type.String(), Type.Boolean()),
  /** Why a failing check is not ready, for the checks that can say. */
  reasons: Type.Optional(Type.Record(Type.String(), Type.String())),
});

const isNotReady = (result: unknown): result is NotReady => typeof result === 'object' && result !== null;

async function run(check: ReadinessCheck, timeoutMs: number): Promise<boolean | NotReady> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const result = await Promise.race([
      Promise.resolve().then(check),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    return isNotReady(result) ? result : result !== false;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** GET /healthz (the process is alive) and GET /readyz (every dependency answers; 503 otherwise). */
export const healthPlugin = fp<HealthOptions>(
  async (app: FastifyInstance, opts) => {
    app.get('/healthz', { schema: { hide: true, response: { 200: HealthSchema } } }, async () => ({
      status: 'ok' as const,
    }));
    app.get(
      '/readyz',
      { schema: { hide: true, response: { 200: ReadySchema, 503: ReadySchema } } },
      async (_request, reply) => {
        const names = Object.keys(opts.checks);
        const results = await Promise.all(names.map((n) => run(opts.checks[n]!, opts.timeoutMs ?? 2000)));
        const checks = Object.fromEntries(names.map((n, i) => [n, results[i] === true]));
        const reasons = Object.fromEntries(
          names.flatMap((n, i) => {
            const result = results[i];
            return isNotReady(result) ? [[n, result.reason]] : [];
          }),
        );
        const ready = results.every((r) => r === true);
        return reply
          .code(ready ? 200 : 503)
          .send({ ready, checks, ...(Object.keys(reasons).length > 0 ? { reasons } : {}) });
      },
    );
  },
  { name: 'tracker-health' },
);
