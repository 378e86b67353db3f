import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Type } from 'typebox';

/** A readiness check: resolves true (or void) when the dependency answers. */
export type ReadinessCheck = () => Promise<boolean | undefined> | boolean;

export interface HealthOptions {
  checks: Record<string, ReadinessCheck>;
  /** Per-check time limit. Default 2000 ms. */
  timeoutMs?: number;
}

const HealthSchema = Type.Object({ status: Type.Literal('ok') });
const ReadySchema = Type.Object({
  ready: Type.Boolean(),
  checks: Type.Record(Type.String(), Type.Boolean()),
});

async function run(check: ReadinessCheck, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const result = await Promise.race([
      Promise.resolve().then(check),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    return result !== false;
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
        const checks = Object.fromEntries(names.map((n, i) => [n, results[i]!]));
        const ready = results.every(Boolean);
        return reply.code(ready ? 200 : 503).send({ ready, checks });
      },
    );
  },
  { name: 'tracker-health' },
);
