import { reconcile } from '@tracker/db';
import type { TrackerApp } from '@tracker/http';
import { buildInteraction, startTcpProxy, type TcpProxy, uniqueName, waitFor } from '@tracker/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from './app.js';
import { loadProcessorConfig } from './config.js';
import {
  countRows,
  createHarness,
  dropHarness,
  type Harness,
  offsets,
  produceRaw,
  produceRecords,
  spawnProcessor,
  waitCaughtUp,
  waitForLog,
} from './processor.harness.js';

// The processor reaches PostgreSQL through a TCP proxy the test cuts and restores: while cut, its
// port refuses connections and open connections are reset, as when the database server is down.

let h: Harness;
let proxy: TcpProxy;
let app: TrackerApp | undefined;

beforeAll(async () => {
  h = await createHarness('outage');
  const target = new URL(h.db.url);
  proxy = await startTcpProxy(`${target.hostname}:${target.port || 5432}`);
});

afterAll(async () => {
  await app?.close();
  await proxy?.close();
  await dropHarness(h);
});

async function metric(name: string): Promise<number> {
  const res = await app!.inject({ method: 'GET', url: '/metrics' });
  return res.body
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((s, l) => s + Number(l.split(' ').at(-1)), 0);
}

const records = (n: number, user: string) =>
  Array.from({ length: n }, (_, i) =>
    buildInteraction({ userId: `${user}-${i % 5}`, occurredAt: Date.UTC(2026, 3, 1) + i }),
  );

describe('database outage', () => {
  it('retries with backoff, commits and dead-letters nothing meanwhile, then catches up', async () => {
    app = await buildApp(
      loadProcessorConfig({ ...h.env, DATABASE_URL: proxy.url(h.db.url), PROCESSOR_MAX_RETRY_MS: '120000' }),
    );
    await app.ready();
    await produceRecords(h, records(50, 'before'));
    await waitCaughtUp(h);
    expect(await countRows(h, 'interactions')).toBe(50);

    await proxy.cut();
    const committed = await offsets(h);
    await produceRecords(h, records(100, 'during'));
    await produceRaw(h, [{ key: 'during-0', value: Buffer.from('poison while the database is down') }]);
    await waitFor(async () => (await metric('processor_retries_total')) >= 4 || undefined, {
      timeoutMs: 30_000,
      what: 'several database retries',
    });
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
    // Nothing committed, nothing stored, nothing dead-lettered while the database is down.
    expect((await offsets(h)).map((p) => p.committed)).toEqual(committed.map((p) => p.committed));
    expect(await countRows(h, 'interactions')).toBe(50);
    expect((await h.admin.fetchTopicOffsets(h.dlqTopic))[0]!.high).toBe('0');
    expect(await metric('processor_dead_lettered_total')).toBe(0);

    await proxy.restore();
    await waitCaughtUp(h);
    expect(await countRows(h, 'interactions')).toBe(150);
    expect((await h.admin.fetchTopicOffsets(h.dlqTopic))[0]!.high).toBe('1');
    expect((await reconcile(h.db.pool)).totalDifferences).toBe(0);
    await waitFor(async () => (await app!.inject({ method: 'GET', url: '/readyz' })).statusCode === 200, {
      what: 'ready again',
    });
    await app.close();
    app = undefined;
  });

  it('exits non-zero, committing nothing, when the outage outlasts PROCESSOR_MAX_RETRY_MS', async () => {
    const groupId = uniqueName('it_outage_exit');
    const child = spawnProcessor(h, {
      DATABASE_URL: proxy.url(h.db.url),
      PROCESSOR_GROUP_ID: groupId,
      PROCESSOR_MAX_RETRY_MS: '3000',
    });
    try {
      await waitForLog(child, 'consumer_started');
      // The new group first reads what is on the topic; wait until it is through.
      await waitCaughtUp(h, 60_000, h.topic, groupId);
      await proxy.cut();
      const committed = await offsets(h, h.topic, groupId);
      await produceRecords(h, records(10, 'fatal'));
      const code = await Promise.race([
        child.exited,
        new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 40_000)),
      ]);
      expect(code, child.output().slice(-3000)).toBe(1);
      expect(child.output()).toContain('"msg":"outage_too_long"');
      expect((await offsets(h, h.topic, groupId)).map((p) => p.committed)).toEqual(
        committed.map((p) => p.committed),
      );
    } finally {
      child.child.kill('SIGKILL');
      await proxy.restore();
    }
  });
});
