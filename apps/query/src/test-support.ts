// Helpers for this service's integration tests (not used by the service itself).
import type { pg } from '@tracker/db';
import type { InteractionRecord } from '@tracker/schemas';
import { loadQueryConfig, type QueryConfig } from './config.js';

/** A config for tests: quiet, no rate limit, no keys, the given database; override anything. */
export function testConfig(databaseUrl: string, env: Record<string, string> = {}): QueryConfig {
  return loadQueryConfig({
    LOG_LEVEL: 'silent',
    DATABASE_URL: databaseUrl,
    QUERY_RATE_LIMIT_MAX: '0',
    QUERY_PUBLIC_DIR: '/nonexistent/public',
    QUERY_DEMO_DIR: '/nonexistent/demo',
    ...env,
  });
}

let offset = 0;

/**
 * Inserts raw interaction rows directly (set-based), bypassing the processor: for tests of the
 * raw-row reads (list, export, stream). Aggregate-backed answers need the processor's storage.
 */
export async function insertRawInteractions(pool: pg.Pool, records: InteractionRecord[]): Promise<void> {
  for (let i = 0; i < records.length; i += 5000) {
    const chunk = records.slice(i, i + 5000);
    await pool.query(
      `INSERT INTO interactions (event_id, user_id, role, action, page, occurred_at, received_at, session_id,
                                 properties, user_agent, is_bot, kafka_partition, kafka_offset)
       SELECT e, u, r::"Role", a, p, o, rc, s, pr::jsonb, ua, b, 0, k
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[],
                   $8::text[], $9::text[], $10::text[], $11::bool[], $12::bigint[])
            AS t(e, u, r, a, p, o, rc, s, pr, ua, b, k)`,
      [
        chunk.map((r) => r.eventId),
        chunk.map((r) => r.userId),
        chunk.map((r) => r.role),
        chunk.map((r) => r.action),
        chunk.map((r) => r.page),
        chunk.map((r) => new Date(r.occurredAt).toISOString()),
        chunk.map((r) => new Date(r.receivedAt).toISOString()),
        chunk.map((r) => r.sessionId),
        chunk.map((r) => JSON.stringify(r.properties)),
        chunk.map((r) => r.userAgent),
        chunk.map((r) => r.isBot),
        chunk.map(() => offset++),
      ],
    );
  }
}

/** Reads a server-sent event stream from a fetch Response, event by event. */
export async function* readEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<{ event: string; data: string }> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
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
