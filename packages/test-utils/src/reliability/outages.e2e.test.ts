/**
 * Dependency outages under a steady client load, on the whole stack (ingest and processor as child
 * processes): Kafka unreachable for 10 s, then PostgreSQL unreachable for 10 s.
 *
 * NOTE: the shared Kafka broker is never stopped (other people use it). Both children run with a
 * preload (test-utils net-redirect.ts, the child-process form of kafkajs' socketFactory) that sends
 * every connection to the broker's address, bootstrap and advertised alike, through a TCP proxy; the
 * test cuts that proxy (listener closed, open connections reset), which is what the clients see when
 * the broker goes down, and restores it on the same port. PostgreSQL is cut the same way, with a proxy
 * named in the processor's DATABASE_URL. The test's own admin client and pool go to the real servers,
 * so they can watch offsets and rows during the outage.
 * apps/ingest/src/outage.int.test.ts and apps/processor/src/outage.int.test.ts prove each service's
 * reaction in isolation (503 + Retry-After, readiness, backoff, exit after PROCESSOR_MAX_RETRY_MS);
 * this file proves the pipeline's promise end to end: every 202 is stored once, nothing else is lost.
 */
import { reconcile } from '@tracker/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceProcess } from '../services.js';
import { waitFor } from '../wait.js';
import { metric, Pipeline, readyStatus, SteadyLoad, sleep } from './pipeline.js';

const OUTAGE_MS = 10_000;
let p: Pipeline;
let ingest: ServiceProcess;
let processor: ServiceProcess;

beforeAll(async () => {
  p = await Pipeline.create('outage', { partitions: 3, kafkaProxy: true, databaseProxy: true });
  [ingest, processor] = await Promise.all([
    p.start('ingest', { env: { INGEST_PRODUCER_TIMEOUT_MS: '3000' } }),
    // Longer than the outage: the processor must ride it out, not exit.
    p.start('processor', { env: { PROCESSOR_MAX_RETRY_MS: '120000' } }),
  ]);
});

afterAll(async () => {
  await p?.close();
});

/** Runs a test body; a failure carries the tail of both services' output. */
async function withOutput(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    const tail = (s: ServiceProcess) =>
      `--- ${s.service} (running: ${s.running}) ---\n${s.output().slice(-4000)}`;
    (error as Error).message += `\n${tail(processor)}\n${tail(ingest)}`;
    throw error;
  }
}

/** Every accepted event is stored, the aggregates are exact, both services run as before. */
async function expectEverythingStored(load: SteadyLoad) {
  await p.waitCaughtUp(120_000);
  const ids = await p.storedIds();
  const missing = load.accepted.filter((id) => !ids.has(id));
  if (missing.length > 0) {
    // Say who lost them: ingest (never on the topic) or the processor (on the topic, not stored).
    const onTopic = await p.findOnTopic(missing);
    expect(
      missing,
      `${missing.length} of ${load.accepted.length} accepted events missing; ${onTopic.size} of them are on the topic ` +
        `(offsets ${JSON.stringify(Object.fromEntries(onTopic))}), committed ${JSON.stringify(await p.offsets())}`,
    ).toEqual([]);
  }
  expect((await reconcile(p.db.pool)).totalDifferences).toBe(0);
  expect(ingest.running && processor.running).toBe(true);
}

describe('whole stack under load', () => {
  it(
    'Kafka unreachable for 10 s: every 202 is stored, the rest got 503, both recover without a restart',
    {
      timeout: 240_000,
    },
    () =>
      withOutput(async () => {
        const pids = [ingest.child.pid, processor.child.pid];
        const load = new SteadyLoad(ingest.url, { prefix: 'kafka' }).start();
        try {
          await load.acceptMore(300);
          const logFrom = processor.output().length;
          await p.kafkaProxy!.cut();
          const cutAt = Date.now();
          await waitFor(async () => (await readyStatus(ingest.url)) === 503, {
            timeoutMs: OUTAGE_MS,
            what: 'ingest /readyz to turn 503',
          });
          await waitFor(() => (load.statuses.get(503) ?? 0) > 0, {
            timeoutMs: OUTAGE_MS,
            what: 'a 503 answer',
          });
          await sleep(cutAt + OUTAGE_MS - Date.now());
          await p.kafkaProxy!.restore();

          await waitFor(async () => (await readyStatus(ingest.url)) === 200, {
            timeoutMs: 60_000,
            what: 'ingest /readyz to turn 200 again',
          });
          await load.acceptMore(300);
          // The processor lost the broker too (its connections go through the same proxy), and is
          // back in its group without a restart.
          const since = () => processor.output().slice(logFrom);
          expect(since()).toContain('ECONNREFUSED');
          await waitFor(() => since().includes('"msg":"group_joined"'), {
            timeoutMs: 60_000,
            what: 'the processor to rejoin its group',
          });
        } finally {
          await load.stop();
        }
        // Only 202 and 503, and the ingest service stayed reachable.
        expect(load.unexpected).toEqual([]);
        expect(load.networkErrors).toBe(0);
        expect([...load.statuses.keys()].sort()).toEqual([202, 503]);

        await expectEverythingStored(load);
        expect([ingest.child.pid, processor.child.pid]).toEqual(pids);
        expect(await readyStatus(processor.url)).toBe(200);
        // A 503 means "not acknowledged": the client must resend (same eventId, stored once). A produce
        // that reached the broker just as the connection broke can still be stored: report how many.
        const ids = await p.storedIds();
        const storedAnyway = load.unavailable.filter((id) => ids.has(id)).length;
        console.info(
          `kafka outage: ${load.accepted.length} events accepted, ${load.unavailable.length} answered 503 ` +
            `(${storedAnyway} of those stored anyway), requests ${JSON.stringify(Object.fromEntries(load.statuses))}`,
        );
      }),
  );

  it(
    'PostgreSQL unreachable for 10 s: the processor retries, commits nothing meanwhile, loses nothing and catches up',
    {
      timeout: 240_000,
    },
    () =>
      withOutput(async () => {
        const pid = processor.child.pid;
        const load = new SteadyLoad(ingest.url, { prefix: 'pg' }).start();
        try {
          await load.acceptMore(300);
          const retriesBefore = await metric(processor.url, 'processor_retries_total');
          await p.databaseProxy!.cut();
          const cutAt = Date.now();
          // The processor notices at its next write (a batch arrives every few ms under this load).
          await waitFor(
            async () => (await metric(processor.url, 'processor_retries_total')) > retriesBefore,
            {
              timeoutMs: OUTAGE_MS,
              what: 'the processor to retry a database write',
            },
          );
          // A COMMIT the database received just before the cut may still be finishing (and its offsets
          // being committed): the reference is taken once the row count has held still for a second.
          let rows = await p.count();
          for (let again = -1; again !== rows; ) {
            if (again >= 0) rows = again;
            await sleep(1000);
            again = await p.count();
          }
          const committed = await p.offsets();
          const lagAtStart = await metric(
            processor.url,
            'processor_consumer_lag',
            `topic="${p.topics.interactions}"`,
          );
          let lag = lagAtStart;
          while (Date.now() < cutAt + OUTAGE_MS) {
            await sleep(1000);
            // Nothing committed, nothing stored while the database is away; ingest keeps accepting.
            expect((await p.offsets()).map((o) => o.committed)).toEqual(committed.map((o) => o.committed));
            expect(await p.count()).toBe(rows);
            lag = await metric(processor.url, 'processor_consumer_lag', `topic="${p.topics.interactions}"`);
          }
          expect(await readyStatus(processor.url)).toBe(503);
          // The backlog shows: the processor's lag gauge grew while ingest kept producing.
          expect(lag).toBeGreaterThan(lagAtStart);
          expect(await metric(processor.url, 'processor_retries_total')).toBeGreaterThan(retriesBefore + 3);
          await p.databaseProxy!.restore();
          await load.acceptMore(300);
        } finally {
          await load.stop();
        }
        // Ingest does not depend on the database: every request was accepted.
        expect(load.unexpected).toEqual([]);
        expect([...load.statuses.keys()]).toEqual([202]);

        await expectEverythingStored(load);
        expect(processor.child.pid).toBe(pid);
        await waitFor(async () => (await readyStatus(processor.url)) === 200, {
          timeoutMs: 30_000,
          what: 'processor /readyz to turn 200 again',
        });
        expect(await metric(processor.url, 'processor_dead_lettered_total')).toBe(0);
        console.info(`database outage: ${load.accepted.length} events accepted, all stored`);
      }),
  );
});
