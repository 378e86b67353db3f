// Helpers for this service's integration tests (not used by the service itself).
import { type pg, storeInteractions, toInteractionRow } from '@tracker/db';
import type { TrackerApp } from '@tracker/http';
import type { InteractionRecord } from '@tracker/schemas';
import { createTestDatabase, prismaFor, stackConfig, type TestDatabase } from '@tracker/test-utils';
import { buildApp } from './app.js';
import { loadQueryConfig, type QueryConfig } from './config.js';

/** A config for tests: quiet, no rate limit, no keys, the given database; override anything. */
export function testConfig(databaseUrl: string, env: Record<string, string> = {}): QueryConfig {
  const stack = stackConfig();
  return loadQueryConfig({
    LOG_LEVEL: 'silent',
    DATABASE_URL: databaseUrl,
    // The test stack's broker and registry (native, or containers: TRACKER_TEST_STACK).
    KAFKA_BROKERS: stack.KAFKA_BROKERS.join(','),
    SCHEMA_REGISTRY_URL: stack.SCHEMA_REGISTRY_URL,
    QUERY_RATE_LIMIT_MAX: '0',
    QUERY_PUBLIC_DIR: '/nonexistent/public',
    QUERY_DEMO_DIR: '/nonexistent/demo',
    ...env,
  });
}

/** What the API shows for a stored record (/api/interactions items, NDJSON lines, `interaction` events). */
export function apiItem(r: InteractionRecord) {
  return {
    eventId: r.eventId,
    userId: r.userId,
    role: r.role,
    action: r.action,
    page: r.page,
    occurredAt: new Date(r.occurredAt).toISOString(),
    receivedAt: new Date(r.receivedAt).toISOString(),
    properties: r.properties,
    sessionId: r.sessionId,
  };
}

let offset = 0;

/**
 * Stores interactions the way the processor does (packages/db storeInteractions: raw rows and every
 * aggregate in one transaction per batch), so aggregate-backed answers match the raw rows.
 */
export async function storeRecords(pool: pg.Pool, records: InteractionRecord[]): Promise<void> {
  for (let i = 0; i < records.length; i += 2000) {
    const rows = records.slice(i, i + 2000).map((r) => toInteractionRow(r, 0, String(offset++)));
    await prismaFor(pool).$transaction((tx) => storeInteractions(tx, rows));
  }
}

/** A test database holding `records` (stored as the processor does) and the query service over it. */
export async function serveRecords(
  prefix: string,
  records: InteractionRecord[],
  env: Record<string, string> = {},
): Promise<{ db: TestDatabase; app: TrackerApp; close: () => Promise<void> }> {
  const db = await createTestDatabase(prefix);
  await storeRecords(db.pool, records);
  const app = await buildApp(testConfig(db.url, env));
  await app.ready();
  return {
    db,
    app,
    async close() {
      await app.close();
      await db.drop();
    },
  };
}

/** Reads a server-sent event stream from a fetch Response, event by event. */
export async function* readEvents(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<{ event: string; data: string }> {
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length > 0) yield { event, data: data.join('\n') };
      end = buffer.indexOf('\n\n');
    }
  }
}

/**
 * `rows` raw interactions under pages `/bulk/0` … `/bulk/49`, one second apart from 2025-01-01, each
 * with a `pad` of `padBytes` characters: large tables for export tests (no aggregates).
 */
export async function insertBulkInteractions(pool: pg.Pool, rows: number, padBytes = 100): Promise<void> {
  // The weeks' raw-row partitions first (one instant per day of the span is enough).
  await pool.query(
    `SELECT ensure_interaction_partitions(ARRAY(SELECT generate_series(
       timestamptz '2025-01-01', timestamptz '2025-01-01' + $1::int * interval '1 second', interval '1 day')))`,
    [rows],
  );
  await pool.query(
    `INSERT INTO interactions (event_id, user_id, role, action, page, occurred_at, received_at, properties,
                               kafka_partition, kafka_offset)
     SELECT gen_random_uuid(), 'bulk-' || (g % 997), 'USER', 'page_view', '/bulk/' || (g % 50),
            timestamptz '2025-01-01' + g * interval '1 second', timestamptz '2025-01-01' + g * interval '1 second',
            jsonb_build_object('g', g, 'pad', repeat('x', $2::int)), 1, g
       FROM generate_series(1, $1::int) AS g`,
    [rows, padBytes],
  );
}
