import { type InteractionFilters, ownConnections, type Stats } from '@tracker/db';
import type { TrackerApp } from '@tracker/http';
import { HttpError } from '@tracker/http';
import type { FastifyReply } from 'fastify';
import { Gauge } from 'prom-client';
import { Type } from 'typebox';
import { ClientSlots } from '../client-slots.js';
import type { QueryConfig } from '../config.js';
import { matches, toFilters } from '../filters.js';
import { type StoredRow, toItem } from '../repositories/interactions.repository.js';
import { type Lag, readLag } from '../repositories/lag.repository.js';
import { FilterQueryProperties, KeyProperty, TopProperty, TzProperty } from '../schemas/filters.schema.js';
import { ErrorRef } from '../schemas/responses.schema.js';
import { checkTimeZone } from '../services/stats.service.js';

export const StreamQuerySchema = Type.Object(
  {
    ...FilterQueryProperties,
    tz: TzProperty,
    top: TopProperty,
    stats: Type.Optional(Type.Boolean({ default: true, description: 'Send `stats` events (default true)' })),
    key: KeyProperty,
  },
  { additionalProperties: false },
);

/** Interaction events one client may receive per poll; more are counted in a `skipped` event. */
const MAX_ROWS_PER_POLL = 200;
/** Stats are refreshed at least this often even when no matching row arrived (users change too). */
const STATS_IDLE_REFRESH_MS = 30_000;

interface Client {
  filters: InteractionFilters;
  reply: FastifyReply;
  send(event: string, data: unknown): boolean;
  close(): void;
}

export async function streamRoute(app: TrackerApp, opts: { config: QueryConfig }): Promise<void> {
  const { config } = opts;
  const clients = new Set<Client>();
  const gauge = new Gauge({
    name: 'query_stream_clients',
    help: 'Open /api/stream connections',
    registers: [app.metrics],
    collect() {
      this.set(clients.size);
    },
  });
  void gauge;

  // One shared lag reader for every client: the numbers do not depend on filters.
  let lag: { at: number; value: Promise<Lag> } | undefined;
  const currentLag = () => {
    if (!lag || Date.now() - lag.at >= config.QUERY_STREAM_LAG_MS - 100) {
      const value = readLag(app.db.prisma);
      lag = { at: Date.now(), value };
      value.catch(() => {
        lag = undefined;
      });
    }
    return lag.value;
  };

  const slots = new ClientSlots({
    what: 'event streams',
    code: 'TOO_MANY_STREAMS',
    perAddress: config.QUERY_STREAMS_PER_ADDRESS,
    perKey: config.QUERY_STREAMS_PER_KEY,
  });
  app.addHook('preClose', async () => {
    for (const client of clients) client.close();
  });

  app.get(
    '/stream',
    {
      schema: {
        summary: 'Live updates as server-sent events',
        description:
          'Events: `interaction` (a newly stored row matching the filters, same shape as /api/interactions items), ' +
          '`stats` (the /api/stats answer for the filters, at most every ~2 s), `lag` (pipeline delay), ' +
          '`skipped` (interactions not sent because more than 200 arrived in one poll). Comments are heartbeats. ' +
          'EventSource cannot send headers: pass the read key as `?key=`.',
        tags: ['stream'],
        security: [{ bearer: [] }],
        querystring: StreamQuerySchema,
        produces: ['text/event-stream'],
        response: {
          200: {
            description: 'An event stream',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          },
          400: ErrorRef,
          401: ErrorRef,
          429: ErrorRef,
          503: ErrorRef,
        },
      },
    },
    async (request, reply) => {
      const { tz = 'UTC', top = 10, stats: wantStats = true, key: _key, ...filterQuery } = request.query;
      const filters = toFilters(filterQuery);
      const zone = await checkTimeZone(ownConnections(app.db), tz);
      if (clients.size >= config.QUERY_STREAM_MAX_CLIENTS) {
        throw new HttpError(503, 'TOO_MANY_STREAMS', 'too many open event streams; try again later', [], {
          'retry-after': '10',
        });
      }
      const giveBack = slots.take(request);

      const raw = reply.raw;
      reply.hijack();
      raw.writeHead(200, {
        ...(reply.getHeaders() as Record<string, string>),
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        // Reverse proxies (nginx) must not buffer the stream.
        'x-accel-buffering': 'no',
      });
      raw.write(`retry: 3000\n\n`);

      let closed = false;
      let congested = false;
      let skipped = 0;
      let matchedSinceStats = false;
      let lastStats = 0;
      let statsRunning = false;
      const timers: NodeJS.Timeout[] = [];
      let unsubscribe = () => {};

      const client: Client = {
        filters,
        reply,
        send(event, data) {
          if (closed) return false;
          const ok = raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
          if (!ok) congested = true;
          return ok;
        },
        close() {
          if (closed) return;
          closed = true;
          giveBack();
          unsubscribe();
          for (const t of timers) clearInterval(t);
          clients.delete(client);
          raw.end();
        },
      };
      // A slow client: stop sending interactions until its socket drains (never buffer without bound).
      raw.on('drain', () => {
        congested = false;
      });
      raw.on('close', () => client.close());
      raw.on('error', () => client.close());
      clients.add(client);

      const sendStats = async () => {
        if (!wantStats || statsRunning || closed) return;
        statsRunning = true;
        matchedSinceStats = false;
        lastStats = Date.now();
        try {
          const value: Stats = await app.stats.shared.get(filters, { tz: zone, topPages: top });
          client.send('stats', value);
        } catch (error) {
          request.log.warn({ msg: 'stream_stats_failed', err: (error as Error).message });
        } finally {
          statsRunning = false;
        }
      };
      const sendLag = async () => {
        try {
          client.send('lag', await currentLag());
        } catch (error) {
          request.log.warn({ msg: 'stream_lag_failed', err: (error as Error).message });
        }
      };

      unsubscribe = app.live.subscribe((rows: StoredRow[]) => {
        if (closed) return;
        let sent = 0;
        for (const row of rows) {
          if (!matches(row, filters)) {
            continue;
          }
          matchedSinceStats = true;
          if (congested || sent >= MAX_ROWS_PER_POLL) {
            skipped += 1;
            continue;
          }
          client.send('interaction', toItem(row));
          sent += 1;
        }
        if (skipped > 0 && !congested) {
          client.send('skipped', { count: skipped });
          skipped = 0;
        }
        const since = Date.now() - lastStats;
        if ((matchedSinceStats && since >= config.QUERY_STREAM_STATS_MS) || since >= STATS_IDLE_REFRESH_MS) {
          void sendStats();
        }
      });

      timers.push(setInterval(() => void sendLag(), config.QUERY_STREAM_LAG_MS));
      timers.push(
        setInterval(() => {
          if (!closed) raw.write(`: heartbeat ${new Date().toISOString()}\n\n`);
        }, config.QUERY_STREAM_HEARTBEAT_MS),
      );
      for (const t of timers) t.unref();
      request.log.info({ msg: 'stream_opened', clients: clients.size });
      raw.on('close', () => request.log.info({ msg: 'stream_closed', clients: clients.size }));

      // The first state at once, so a dashboard does not wait for the first change.
      void sendStats();
      void sendLag();
    },
  );
}
