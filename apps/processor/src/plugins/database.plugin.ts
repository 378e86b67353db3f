import { createPool, type Database, openDatabase, type pg } from '@tracker/db';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyInstance {
    /** PostgreSQL through Prisma Client (raw rows, aggregates, pipeline status), over one pool. */
    db: Database;
  }
}

export interface DatabasePluginOptions {
  url: string;
  poolSize: number;
  /** An existing pool (tests); it is not closed with the app. */
  pool?: pg.Pool;
}

export const databasePlugin = fp<DatabasePluginOptions>(
  async (app: FastifyInstance, opts) => {
    const pool = opts.pool ?? createPool(opts.url, opts.poolSize, 'tracker-processor');
    // Fail fast while the database is down (the batch is retried with backoff), and never hang on
    // a connection that went silent.
    pool.options.connectionTimeoutMillis = 5_000;
    (pool.options as { query_timeout?: number }).query_timeout = 120_000;
    // An idle client losing its connection emits 'error' on the pool; without a listener that
    // would crash the process instead of the next query failing and being retried.
    pool.on('error', (error) => app.log.warn({ msg: 'db_idle_client_error', err: error.message }));
    const db = openDatabase(pool);
    app.decorate('db', db);
    app.addHook('onClose', async () => {
      await db.prisma.$disconnect();
      if (!opts.pool) await pool.end();
    });
  },
  { name: 'processor-database' },
);
