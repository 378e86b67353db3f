import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { requireKey } from './auth.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** This service's Prometheus registry: register service-specific metrics here. */
    metrics: Registry;
  }
}

export interface MetricsOptions {
  service: string;
  /** When set, GET /metrics answers only `Authorization: Bearer <key>` (401 otherwise). */
  key?: string;
}

/**
 * GET /metrics in Prometheus text format: default process metrics, requests by route and status,
 * request latency. Every service registers it; services add their own metrics to `app.metrics`.
 */
export const metricsPlugin = fp<MetricsOptions>(
  async (app: FastifyInstance, opts) => {
    const registry = new Registry();
    registry.setDefaultLabels({ service: opts.service });
    collectDefaultMetrics({ register: registry });
    const requests = new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests served, by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    });
    const duration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency',
      labelNames: ['method', 'route'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    app.decorate('metrics', registry);
    app.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url ?? 'unmatched';
      requests.inc({ method: request.method, route, status: String(reply.statusCode) });
      duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    });
    const auth = opts.key ? requireKey([opts.key], ['bearer'], 'metrics key') : undefined;
    app.get(
      '/metrics',
      { schema: { hide: true }, ...(auth ? { onRequest: auth } : {}) },
      async (_request, reply) => {
        reply.type(registry.contentType);
        return registry.metrics();
      },
    );
  },
  { name: 'tracker-metrics' },
);
