/**
 * A processor SIGKILLed in the middle of a 50 000-event load loses and duplicates nothing.
 *
 * The whole path is real: events are POSTed to the ingest service (child process), travel Kafka as
 * Avro, and one processor (child process) stores them. It is killed with SIGKILL while it stores
 * (its last batches may be written but not committed, or fetched but not written), then restarted in
 * the same consumer group: the redelivered batches must be skipped by eventId, and the aggregates must
 * equal a recount from the raw rows (the operator's `reconcile` command, exit 0).
 * The scale-out test in apps/processor covers 3 processors and a 20 000-event topic fed directly;
 * this one is the single-processor restart through ingest (ingest takes 50 000 events in seconds here).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, type ServiceProcess } from '../services.js';
import { makeEvents, metric, Pipeline, sendBatches } from './pipeline.js';

const TOTAL = 50_000;
let p: Pipeline;
let ingest: ServiceProcess;

beforeAll(async () => {
  p = await Pipeline.create('kill', { partitions: 6 });
  ingest = await p.start('ingest', { env: { LOG_LEVEL: 'warn' } });
});

afterAll(async () => {
  await p?.close();
});

describe('processor killed during a load', () => {
  it('stores 50 000 events exactly once after a SIGKILL and a restart', { timeout: 360_000 }, async () => {
    const events = makeEvents(TOTAL, 'kill');
    const first = await p.start('processor', { env: { LOG_LEVEL: 'warn' } });
    const sending = sendBatches(ingest.url, events, { batchSize: 500, concurrency: 4 });

    await p.waitForRows(8_000, 180_000);
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe(null); // ended by the signal, not by itself
    const storedAtKill = await p.count();

    const sent = await sending;
    expect(sent.networkErrors).toBe(0);
    expect([...sent.statuses.keys()]).toEqual([202]);
    expect(new Set(sent.accepted).size).toBe(TOTAL);
    expect(await p.endOffset()).toBe(TOTAL);
    // The kill landed mid-load: there was work left for the restarted processor.
    expect(storedAtKill).toBeLessThan(TOTAL);
    // Nothing is stored while no processor runs.
    expect(await p.count()).toBe(storedAtKill);

    const second = await p.start('processor', { env: { LOG_LEVEL: 'warn' } });
    await p.waitCaughtUp(240_000);

    expect(await p.count()).toBe(TOTAL);
    const ids = await p.storedIds();
    expect(events.filter((e) => !ids.has(e.eventId))).toEqual([]);
    const { rows } = await p.db.pool.query<{ n: number; users: number }>(
      'SELECT sum(action_count)::int AS n, count(*)::int AS users FROM users',
    );
    expect(rows[0]).toEqual({ n: TOTAL, users: 250 });

    // What an operator runs after a crash: every aggregate equals a recount of the raw rows.
    const reconcile = await promisify(execFile)(
      process.execPath,
      [join(REPO_ROOT, 'apps/processor/dist/reconcile-cli.js'), '--json'],
      { env: { PATH: process.env['PATH'] ?? '', DATABASE_URL: p.db.url } },
    );
    const result = JSON.parse(reconcile.stdout) as { ok: boolean; totalDifferences: number };
    expect(result).toMatchObject({ ok: true, totalDifferences: 0 });

    const redelivered = await metric(second.url, 'processor_duplicates_skipped_total');
    console.info(
      `kill-restart: ${storedAtKill} stored at SIGKILL; the restarted processor skipped ${redelivered} redelivered events`,
    );
    expect(second.running).toBe(true);
  });
});
