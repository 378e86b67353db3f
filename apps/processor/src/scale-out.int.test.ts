import { readPipelineStatus, reconcile } from '@tracker/db';
import type { InteractionRecord } from '@tracker/schemas';
import { buildInteraction, waitFor } from '@tracker/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ChildProcessor,
  countRows,
  createHarness,
  dropHarness,
  type Harness,
  offsets,
  produceRecords,
  spawnProcessor,
  waitCaughtUp,
  waitForLog,
} from './processor.harness.js';

// Three processors (node dist/server.js) share a 12-partition topic. One is SIGKILLed mid-stream
// (its uncommitted batches are redelivered to the others), one gets SIGTERM mid-stream (it must
// finish its batch, commit, leave and exit 0). Every event must be stored exactly once and every
// aggregate must equal a recount from raw rows.

const TOTAL = 20_000;
let h: Harness;
const children: ChildProcessor[] = [];

beforeAll(async () => {
  h = await createHarness('scale', 12);
});

afterAll(async () => {
  for (const c of children) c.child.kill('SIGKILL');
  await dropHarness(h);
});

const stored = () => countRows(h, 'interactions');

describe('scale-out', () => {
  it('stores 20 000 events exactly once across 3 instances despite SIGKILL and SIGTERM', {
    timeout: 180_000,
  }, async () => {
    const start = Date.UTC(2026, 4, 1);
    const records: InteractionRecord[] = Array.from({ length: TOTAL }, (_, i) =>
      buildInteraction({
        userId: `user-${i % 500}`,
        role: (['ADMIN', 'USER', 'GUEST'] as const)[i % 3],
        action: ['page_view', 'click', 'form_submit', 'signup'][i % 4]!,
        page: `/p/${i % 40}`,
        occurredAt: start + i * 7_919,
        receivedAt: start + i * 7_919 + 5,
      }),
    );
    for (let i = 0; i < 3; i += 1)
      children.push(spawnProcessor(h, { PROCESSOR_PARTITIONS_CONCURRENTLY: '2' }));
    await Promise.all(children.map((c) => waitForLog(c, 'consumer_started')));

    await produceRecords(h, records.slice(0, 8_000));
    await waitFor(async () => (await stored()) >= 2_000 || undefined, {
      timeoutMs: 60_000,
      what: '2 000 stored',
    });
    const [killed, terminated, survivor] = children as [ChildProcessor, ChildProcessor, ChildProcessor];
    killed.child.kill('SIGKILL');
    expect(await killed.exited).toBe(null); // killed by a signal, no exit code

    await produceRecords(h, records.slice(8_000, 14_000));
    await waitFor(async () => (await stored()) >= 9_000 || undefined, {
      timeoutMs: 90_000,
      what: '9 000 stored',
    });
    terminated.child.kill('SIGTERM');
    expect(await terminated.exited, terminated.output().slice(-3000)).toBe(0);
    expect(terminated.output()).toContain('"msg":"consumer_stopped"');
    // Whatever it committed is stored: no committed offset is ahead of the stored one.
    // NOTE: committed offsets are read before the stored ones: the survivor keeps consuming, and the
    // stored offset only grows (it commits with the rows, before the Kafka commit), so reading in
    // this order cannot see a commit the stored offset has not yet caught up with.
    const committed = await offsets(h);
    const status = await readPipelineStatus(h.db.prisma, h.groupId);
    const storedOffset = new Map(
      status.partitions.filter((p) => p.topic === h.topic).map((p) => [p.partition, p.storedOffset]),
    );
    for (const p of committed) {
      if (p.committed !== null) expect(p.committed).toBeLessThanOrEqual(storedOffset.get(p.partition) ?? 0);
    }

    await produceRecords(h, records.slice(14_000));
    await waitCaughtUp(h, 120_000);

    expect(await stored()).toBe(TOTAL);
    const { rows } = await h.db.pool.query<{ id: string }>('SELECT event_id AS id FROM interactions');
    const ids = new Set(rows.map((r) => r.id));
    expect(records.every((r) => ids.has(r.eventId))).toBe(true);
    const { rows: users } = await h.db.pool.query<{ n: number; users: number }>(
      'SELECT sum(action_count)::int AS n, count(*)::int AS users FROM users',
    );
    expect(users[0]).toEqual({ n: TOTAL, users: 500 });
    const result = await reconcile(h.db.pool);
    expect(result.differences).toEqual([]);
    expect(result.totalDifferences).toBe(0);

    survivor.child.kill('SIGTERM');
    expect(await survivor.exited).toBe(0);
  });
});
