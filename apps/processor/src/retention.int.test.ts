import {
  computeStats,
  partitionName,
  rawRowsFrom,
  retentionHorizon,
  storeInteractions,
  toInteractionRow,
  weekStart,
} from '@tracker/db';
import type { TrackerApp } from '@tracker/http';
import { DLQ_HEADERS } from '@tracker/schemas';
import { buildInteraction, waitFor } from '@tracker/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from './app.js';
import { loadProcessorConfig } from './config.js';
import {
  createHarness,
  dropHarness,
  type Harness,
  produceRecords,
  readTopic,
  waitCaughtUp,
} from './processor.harness.js';

const DAY = 86_400_000;
const DAYS = 30;
let h: Harness;
let app: TrackerApp | undefined;

beforeAll(async () => {
  h = await createHarness('retention', 1);
}, 120_000);
afterAll(async () => {
  await app?.close();
  await dropHarness(h);
});

const weeks = async () =>
  (
    await h.db.pool.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'interactions'::regclass`,
    )
  ).rows.map((r) => r.name);

describe('processor with TRACKER_RETENTION_DAYS', () => {
  it('drops old weeks at start, keeps statistics, stores late rows of kept weeks and dead-letters expired ones', async () => {
    const now = Date.now();
    const horizon = retentionHorizon(DAYS, now);
    // History stored before retention was turned on: two old weeks.
    const old = [now - 70 * DAY, now - 50 * DAY].map((t, i) =>
      toInteractionRow(buildInteraction({ userId: `old-${i}`, occurredAt: t, receivedAt: t }), 0, String(i)),
    );
    await h.db.prisma.$transaction((tx) => storeInteractions(tx, old));
    const before = await computeStats(h.db.pool, {}, { tz: 'UTC' });
    expect(before.totalActions).toBe(2);

    app = await buildApp(loadProcessorConfig({ ...h.env, TRACKER_RETENTION_DAYS: String(DAYS) }));
    await app.ready();
    await waitFor(async () => (await rawRowsFrom(h.db.prisma))?.getTime() === horizon, {
      what: 'raw_from at the horizon',
    });
    await waitFor(async () => !(await weeks()).includes(partitionName(weekStart(old[1]!.occurredAt))), {
      what: 'old weeks dropped',
    });
    await waitFor(() => app!.processor.handler.rawFromMs === horizon, {
      what: 'the processor knows raw_from',
    });
    // This week and the next two exist ahead of any row.
    const names = await weeks();
    for (const k of [0, 1, 2]) expect(names).toContain(partitionName(weekStart(now + k * 7 * DAY)));

    const lateKept = buildInteraction({ userId: 'late', occurredAt: horizon + 1_000, receivedAt: now });
    const expired = buildInteraction({ userId: 'late', occurredAt: horizon - 1, receivedAt: now });
    const fresh = buildInteraction({ userId: 'late', occurredAt: now - 1_000, receivedAt: now });
    await produceRecords(h, [lateKept, expired, fresh]);
    await waitCaughtUp(h);

    const { rows } = await h.db.pool.query<{ event_id: string }>(
      `SELECT event_id FROM interactions WHERE user_id = 'late' ORDER BY occurred_at`,
    );
    expect(rows.map((r) => r.event_id)).toEqual([lateKept.eventId, fresh.eventId]);
    const dlq = await readTopic(h, h.dlqTopic, 1);
    expect(dlq).toHaveLength(1);
    expect(dlq[0]!.headers[DLQ_HEADERS.reason]?.toString()).toMatch(
      /^expired: occurredAt .* before raw rows are kept/,
    );
    expect(await h.serde.decode(dlq[0]!.value!)).toMatchObject({ eventId: expired.eventId });

    // An instance that has not read raw_from since another one moved it: the database refuses the
    // row (no partition), and it is still told apart as expired.
    app!.processor.handler.rawFromMs = null;
    const stale = buildInteraction({ userId: 'late', occurredAt: horizon - 2 * DAY, receivedAt: now });
    await produceRecords(h, [stale]);
    await waitCaughtUp(h);
    const dlq2 = await readTopic(h, h.dlqTopic, 2);
    expect(dlq2.map((m) => m.headers[DLQ_HEADERS.reason]?.toString().split(':')[0])).toEqual([
      'expired',
      'expired',
    ]);
    expect(app!.processor.handler.rawFromMs).toBe(horizon);

    // The dropped history still counts: aggregates are never pruned.
    const after = await computeStats(h.db.pool, {}, { tz: 'UTC' });
    expect(after.totalActions).toBe(before.totalActions + 2);
    expect(after.daily[0]).toEqual(before.daily[0]);
  });
});
