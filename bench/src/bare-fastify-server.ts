/**
 * The ingest_single limit: a bare Fastify route for the same POST /v1/events — Fastify's own JSON
 * parsing, no validation, no normalisation, no hooks or plugins, no Kafka — answering 202 with ingest's
 * answer (`{id}`). What one Node process can serve on this machine for this payload;
 * run as a child process by the bench (PORT from env).
 */
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';

const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
app.post('/v1/events', async (_request, reply) => {
  reply.code(202);
  return { id: randomUUID() };
});
app.get('/readyz', async () => ({ ready: true }));

const stop = async () => {
  await app.close();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
await app.listen({ host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 0) });
