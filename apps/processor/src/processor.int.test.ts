import { randomUUID } from 'node:crypto';
import { readPipelineStatus, reconcile, totalApiHits } from '@tracker/db';
import type { TrackerApp } from '@tracker/http';
import { avroType } from '@tracker/kafka';
import { DLQ_HEADERS, type InteractionRecord, interactionAvroSchema } from '@tracker/schemas';
import { buildInteraction, waitFor } from '@tracker/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from './app.js';
import {
  aggregateSnapshot,
  countRows,
  createHarness,
  dropHarness,
  type Harness,
  offsets,
  produceRaw,
  produceRecords,
  readTopic,
  waitCaughtUp,
} from './processor.harness.js';

let h: Harness;
let app: TrackerApp;

const T = Date.UTC(2026, 2, 1, 12);
const records: InteractionRecord[] = Array.from({ length: 300 }, (_, i) =>
  buildInteraction({
    userId: `u-${i % 20}`,
    role: (['ADMIN', 'USER', 'GUEST'] as const)[i % 3],
    action: ['page_view', 'click', 'form_submit'][i % 3]!,
    page: `/docs/${i % 7}`,
    occurredAt: T + i * 61_000,
    receivedAt: T + i * 61_000 + 20,
  }),
);

/** Sum of a metric's samples (optionally only those whose line contains `having`). */
async function metric(name: string, having = ''): Promise<number> {
  const res = await app.inject({ method: 'GET', url: '/metrics' });
  return res.body
    .split('\n')
    .filter((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && l.includes(having))
    .reduce((s, l) => s + Number(l.split(' ').at(-1)), 0);
}

async function startApp() {
  app = await buildApp(h.config);
  await app.ready();
}

beforeAll(async () => {
  h = await createHarness('processor');
  await startApp();
});

afterAll(async () => {
  await app?.close();
  await dropHarness(h);
});

describe('processor: exactly-once storage over at-least-once delivery', () => {
  it('stores every event once and keeps aggregates exact', async () => {
    await produceRecords(h, records);
    await waitCaughtUp(h);
    expect(await countRows(h, 'interactions')).toBe(300);
    const { rows } = await h.db.pool.query<{ n: number; users: number }>(
      'SELECT sum(action_count)::int AS n, count(*)::int AS users FROM users',
    );
    expect(rows[0]).toEqual({ n: 300, users: 20 });
    expect((await reconcile(h.db.pool)).totalDifferences).toBe(0);
  });

  it('changes nothing when the same eventIds are produced again', async () => {
    const before = await aggregateSnapshot(h);
    const duplicatesBefore = await metric('processor_duplicates_skipped_total');
    await produceRecords(h, records);
    await waitCaughtUp(h);
    expect(await countRows(h, 'interactions')).toBe(300);
    expect(await aggregateSnapshot(h)).toBe(before);
    expect((await metric('processor_duplicates_skipped_total')) - duplicatesBefore).toBe(300);
  });

  it('changes nothing when the whole topic is redelivered after an offset reset', async () => {
    const before = await aggregateSnapshot(h);
    await app.close();
    const partitions = (await offsets(h)).map((p) => ({ partition: p.partition, offset: '0' }));
    await h.admin.setOffsets({ groupId: h.groupId, topic: h.topic, partitions });
    expect((await offsets(h)).every((p) => p.committed === 0)).toBe(true);
    await startApp();
    await waitCaughtUp(h);
    expect(await metric('processor_duplicates_skipped_total')).toBe(600);
    expect(await aggregateSnapshot(h)).toBe(before);
    expect((await reconcile(h.db.pool)).totalDifferences).toBe(0);
  });
});

describe('processor: identify calls', () => {
  it('upserts users with the latest role and merged traits, without counting interactions', async () => {
    const identify = (
      userId: string,
      role: InteractionRecord['role'],
      at: number,
      traits: Record<string, string>,
    ) =>
      buildInteraction({
        type: 'IDENTIFY',
        userId,
        role,
        action: 'identify',
        page: '/',
        occurredAt: at,
        properties: traits,
      });
    await produceRecords(h, [
      identify('u-1', 'ADMIN', T + 10 * 86_400_000, { plan: 'pro', company: 'acme' }),
      identify('u-1', 'GUEST', T + 9 * 86_400_000, { plan: 'free', seats: 'old' }), // older: loses on role and plan
      identify('new-user', 'USER', T - 86_400_000, { plan: 'trial' }),
    ]);
    await waitCaughtUp(h);
    const { rows } = await h.db.pool.query(
      `SELECT user_id, role, traits, action_count, identified_at, first_seen FROM users WHERE user_id IN ('u-1', 'new-user') ORDER BY user_id`,
    );
    expect(rows).toEqual([
      {
        user_id: 'new-user',
        role: 'USER',
        traits: { plan: 'trial' },
        action_count: 0,
        identified_at: new Date(T - 86_400_000),
        first_seen: new Date(T - 86_400_000),
      },
      {
        user_id: 'u-1',
        role: 'ADMIN',
        traits: { plan: 'pro', company: 'acme', seats: 'old' },
        action_count: 15,
        identified_at: new Date(T + 10 * 86_400_000),
        first_seen: new Date(records[1]!.occurredAt),
      },
    ]);
    expect(await countRows(h, 'interactions')).toBe(300);
    expect(await countRows(h, 'identifies')).toBe(3);
    expect((await reconcile(h.db.pool)).totalDifferences).toBe(0);
  });
});

describe('processor: poison messages', () => {
  it('dead-letters not-Avro, unknown-schema and invalid records with their original bytes, and keeps going', async () => {
    const good1 = buildInteraction({ userId: 'poison-user', occurredAt: T, receivedAt: T });
    const good2 = buildInteraction({ userId: 'poison-user', occurredAt: T + 1, receivedAt: T + 1 });
    const notAvro = Buffer.from('{"userId":"poison-user","action":"click"}');
    const unknownSchema = Buffer.concat([Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0]), Buffer.from('payload')]);
    const invalid = await h.serde.encode(buildInteraction({ userId: 'poison-user', action: 'Not Valid!' }));
    const dlqBefore = (await h.admin.fetchTopicOffsets(h.dlqTopic))[0]!.high;
    expect(dlqBefore).toBe('0');
    // One key: one partition, in this order.
    await produceRaw(h, [
      { key: 'poison-user', value: await h.serde.encode(good1) },
      { key: 'poison-user', value: notAvro, headers: { origin: 'test', trace: Buffer.from([1, 2, 3]) } },
      { key: 'poison-user', value: unknownSchema },
      { key: 'poison-user', value: invalid },
      { key: 'poison-user', value: await h.serde.encode(good2) },
    ]);
    await waitCaughtUp(h);
    const { rows } = await h.db.pool.query(
      `SELECT event_id FROM interactions WHERE user_id = 'poison-user' ORDER BY occurred_at`,
    );
    expect(rows.map((r) => r.event_id)).toEqual([good1.eventId, good2.eventId]);

    const dlq = await readTopic(h, h.dlqTopic, 3);
    expect(dlq).toHaveLength(3);
    const header = (m: (typeof dlq)[number], name: string) => m.headers[name]?.toString();
    expect(dlq.map((m) => header(m, DLQ_HEADERS.reason)?.split(':')[0])).toEqual([
      'not_avro',
      'unknown_schema',
      'invalid_record',
    ]);
    expect(dlq.map((m) => m.value)).toEqual([notAvro, unknownSchema, invalid]);
    expect(dlq.map((m) => m.key?.toString())).toEqual(['poison-user', 'poison-user', 'poison-user']);
    expect(header(dlq[0]!, 'origin')).toBe('test');
    expect(dlq[0]!.headers['trace']).toEqual(Buffer.from([1, 2, 3]));
    expect(header(dlq[2]!, DLQ_HEADERS.reason)).toContain('/action');
    expect(dlq.map((m) => header(m, DLQ_HEADERS.step))).toEqual(['decode', 'decode', 'validate']);
    const sourceOffsets = dlq.map((m) => Number(header(m, DLQ_HEADERS.offset)));
    expect(sourceOffsets[1]! - sourceOffsets[0]!).toBe(1);
    expect(sourceOffsets[2]! - sourceOffsets[1]!).toBe(1);
    const partition = Number(header(dlq[0]!, DLQ_HEADERS.partition));
    const raw = await h.admin.fetchTopicOffsets(h.topic);
    expect(sourceOffsets[2]).toBeLessThan(Number(raw.find((p) => p.partition === partition)!.high));
    expect(dlq.every((m) => header(m, DLQ_HEADERS.topic) === h.topic)).toBe(true);
    expect(dlq.every((m) => !Number.isNaN(Date.parse(header(m, DLQ_HEADERS.time) ?? '')))).toBe(true);
    expect(await metric('processor_dead_lettered_total')).toBe(3);
  });
});

describe('processor: schemas other tooling registers', () => {
  /** Registers a schema through the registry's HTTP API (as other tooling would), returns its id. */
  const register = async (subject: string, schemaType: string, schema: object) => {
    const res = await fetch(`${h.env.SCHEMA_REGISTRY_URL}/subjects/${subject}/versions`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ schemaType, schema: JSON.stringify(schema) }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    return ((await res.json()) as { id: number }).id;
  };
  const wire = (id: number, body: Buffer) => {
    const head = Buffer.alloc(5);
    head.writeInt32BE(id, 1);
    return Buffer.concat([head, body]);
  };

  it('reads a newer compatible schema into ours and dead-letters one it cannot read, without stalling', async () => {
    // A newer Avro schema (one more field, one more role): the record is read into ours.
    const newer = structuredClone(interactionAvroSchema) as unknown as {
      fields: { name: string; type: unknown; default?: unknown }[];
    };
    newer.fields.push({ name: 'country', type: ['null', 'string'], default: null });
    (newer.fields.find((f) => f.name === 'role')!.type as { symbols: string[] }).symbols.push('OWNER');
    const newerId = await register(`${h.topic}-newer-value`, 'AVRO', newer);
    const newerType = avroType(newer);
    const owner = buildInteraction({ userId: 'schema-user', occurredAt: T, receivedAt: T });
    // A JSON schema with a keyword the client's validator refuses: no retry will read it.
    const jsonId = await register(`${h.topic}-json-value`, 'JSON', {
      type: 'object',
      properties: { a: { type: 'string' } },
      'x-unknown-kw': 1,
    });
    const after = buildInteraction({ userId: 'schema-user', occurredAt: T + 1, receivedAt: T + 1 });
    await produceRaw(h, [
      {
        key: 'schema-user',
        value: wire(newerId, newerType.toBuffer({ ...owner, role: 'OWNER', country: 'NL' })),
      },
      { key: 'schema-user', value: wire(jsonId, Buffer.from('{"a":"x"}')) },
      { key: 'schema-user', value: await h.serde.encode(after) },
    ]);
    await waitCaughtUp(h);
    const { rows } = await h.db.pool.query(
      `SELECT event_id, role FROM interactions WHERE user_id = 'schema-user' ORDER BY occurred_at`,
    );
    expect(rows).toEqual([
      { event_id: owner.eventId, role: 'GUEST' },
      { event_id: after.eventId, role: after.role },
    ]);
    const dlq = await readTopic(h, h.dlqTopic, 4);
    const reason = dlq.at(-1)!.headers[DLQ_HEADERS.reason]?.toString() ?? '';
    expect(reason).toMatch(new RegExp(`^unknown_schema: schema id ${jsonId} cannot be read: `));
  });
});

describe('processor: api hits', () => {
  it('adds each delta once and dead-letters malformed ones', async () => {
    const delta = (hits: number, batchId = randomUUID()) =>
      Buffer.from(JSON.stringify({ batchId, service: 'ingest', hits, at: Date.now() }));
    const repeated = randomUUID();
    await produceRaw(
      h,
      [
        { key: 'ingest', value: delta(5) },
        { key: 'ingest', value: delta(7, repeated) },
        { key: 'ingest', value: delta(7, repeated) },
        { key: 'ingest', value: Buffer.from('not json') },
        { key: 'ingest', value: delta(-1) },
      ],
      h.apiHitsTopic,
    );
    await waitCaughtUp(h, 30_000, h.apiHitsTopic);
    expect(await totalApiHits(h.db.pool)).toBe(12);
    await produceRaw(h, [{ key: 'ingest', value: delta(7, repeated) }], h.apiHitsTopic);
    await waitCaughtUp(h, 30_000, h.apiHitsTopic);
    expect(await totalApiHits(h.db.pool)).toBe(12);
    const dlq = await readTopic(h, h.dlqTopic, 6);
    expect(dlq.slice(4).map((m) => m.headers[DLQ_HEADERS.reason]?.toString().split(':')[0])).toEqual([
      'invalid_json',
      'invalid_record',
    ]);
  });
});

describe('processor: the sessions table', () => {
  it('keeps a visit as one session across batches, extending it in place', async () => {
    const T2 = Date.UTC(2026, 1, 20, 9); // before `records`: the newest stored event stays theirs
    const visit = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) =>
        buildInteraction({
          userId: 'visitor',
          action: i === 0 && from === 0 ? 'page_view' : 'click',
          page: `/p/${from + i}`,
          occurredAt: T2 + (from + i) * 60_000,
          receivedAt: T2 + (from + i) * 60_000 + 5,
        }),
      );
    const appendedBefore = await metric('processor_sessions_refreshed_total', 'how="appended"');
    await produceRecords(h, visit(0, 3));
    await waitCaughtUp(h);
    await produceRecords(h, visit(3, 2));
    await waitCaughtUp(h);
    const { rows } = await h.db.pool.query(
      `SELECT started_at, ended_at, events, entry_page, exit_page FROM sessions WHERE user_id = 'visitor'`,
    );
    expect(rows).toEqual([
      {
        started_at: new Date(T2),
        ended_at: new Date(T2 + 4 * 60_000),
        events: 5,
        entry_page: '/p/0',
        exit_page: '/p/4',
      },
    ]);
    expect(await metric('processor_sessions_refreshed_total', 'how="appended"')).toBeGreaterThan(
      appendedBefore,
    );
    expect((await reconcile(h.db.pool)).totalDifferences).toBe(0);
  });
});

describe('processor: health, metrics and pipeline status', () => {
  it('answers /healthz, /readyz and /metrics', async () => {
    expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ ready: true, checks: { database: true, consumer: true } });
    const body = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    for (const name of [
      'processor_messages_consumed_total',
      'processor_events_inserted_total',
      'processor_duplicates_skipped_total',
      'processor_dead_lettered_total',
      'processor_batch_size_bucket',
      'processor_batch_duration_seconds_bucket',
      'processor_consumer_lag',
      'processor_newest_event_timestamp_seconds',
      'processor_sessions_refreshed_total',
    ]) {
      expect(body).toContain(name);
    }
    await waitFor(
      async () => (await metric('processor_consumer_lag', `topic="${h.topic}"`)) === 0 || undefined,
      {
        what: 'lag gauge at 0',
      },
    );
    const newest = Math.max(...records.map((r) => r.occurredAt)) / 1000;
    expect(await metric('processor_newest_event_timestamp_seconds')).toBe(newest);
  });

  it('writes per-partition progress and lag to pipeline_status for the query service', async () => {
    const end = await offsets(h);
    const status = await waitFor(
      async () => {
        const s = await readPipelineStatus(h.db.prisma, h.groupId);
        const mine = s.partitions.filter((p) => p.topic === h.topic);
        return mine.length === end.length && mine.every((p, i) => p.committedOffset === end[i]!.end)
          ? s
          : undefined;
      },
      { what: 'pipeline_status caught up' },
    );
    const mine = status.partitions.filter((p) => p.topic === h.topic);
    expect(mine.map((p) => p.lag)).toEqual(end.map(() => 0));
    expect(mine.map((p) => p.highWatermark)).toEqual(end.map((p) => p.end));
    expect(mine.filter((p) => p.storedOffset !== null).map((p) => p.storedOffset)).toEqual(
      end.filter((p) => p.end > 0).map((p) => p.end),
    );
    expect(status.totalLag).toBe(0);
    expect(status.lastBatchAt).toBeInstanceOf(Date);
    expect(status.newestEventAt).toEqual(new Date(Math.max(...records.map((r) => r.occurredAt))));
  });
});
