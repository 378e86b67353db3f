import { DLQ_HEADERS, type InteractionRecord, ROLE_UNSET_HEADER } from '@tracker/schemas';
import { buildInteraction } from '@tracker/test-utils';
import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { halves, nextOffset, planApiHits, planInteractions } from './batch-plan.js';
import { decodeApiHits, recordProblem } from './decode.js';
import { buildDlqMessage, dlqReason } from './dlq.js';
import { computeLag } from './lag-monitor.js';
import { poison } from './poison.js';
import {
  backoffDelay,
  classifyDbError,
  OutageClock,
  OutageTooLongError,
  RetryAbortedError,
  withRetry,
} from './retry.js';

const message = (offset: string, extra: Partial<KafkaMessage> = {}): KafkaMessage =>
  ({
    key: Buffer.from('k'),
    value: Buffer.from('v'),
    timestamp: '0',
    attributes: 0,
    offset,
    headers: {},
    ...extra,
  }) as KafkaMessage;

const record = (r: InteractionRecord, offset: string) => ({
  kind: 'record' as const,
  record: r,
  message: message(offset),
});

describe('batch planning', () => {
  it('gives a record sent without a role the role its user was last given earlier in the batch', () => {
    const unset = (r: InteractionRecord, offset: string) => ({
      ...record(r, offset),
      message: message(offset, { headers: { [ROLE_UNSET_HEADER]: Buffer.from('1') } }),
    });
    const plan = planInteractions(
      [
        unset(buildInteraction({ userId: 'a', role: 'GUEST' }), '1'), // nothing known yet: the store decides
        record(buildInteraction({ userId: 'a', role: 'ADMIN', type: 'IDENTIFY', properties: {} }), '2'),
        unset(buildInteraction({ userId: 'a', role: 'GUEST' }), '3'),
        unset(buildInteraction({ userId: 'b', role: 'GUEST', type: 'IDENTIFY', properties: {} }), '4'),
      ],
      0,
    );
    expect(
      plan.items.map((i) => {
        const row = i.row as { role: string; roleUnset?: boolean };
        return [i.message.offset, row.role, row.roleUnset];
      }),
    ).toEqual([
      ['1', 'GUEST', true],
      ['2', 'ADMIN', false],
      ['3', 'ADMIN', false],
      ['4', 'GUEST', true],
    ]);
  });

  it('splits TRACK, IDENTIFY and poison, keeping the first of repeated eventIds', () => {
    const a = buildInteraction({ userId: 'a' });
    const b = buildInteraction({ userId: 'b', type: 'IDENTIFY', properties: { plan: 'pro' } });
    const bad = poison(message('12'), 'not_avro', 'decode', 'x');
    const plan = planInteractions(
      [record(a, '10'), record(b, '11'), bad, record({ ...a, page: '/other' }, '13')],
      4,
    );
    expect(plan.items.map((i) => [i.kind, i.message.offset])).toEqual([
      ['track', '10'],
      ['identify', '11'],
    ]);
    expect(plan.poison).toEqual([bad]);
    expect(plan.duplicatesInBatch).toBe(1);
    const track = plan.items[0]!;
    expect(track.kind === 'track' && track.row).toMatchObject({
      eventId: a.eventId,
      partition: 4,
      offset: '10',
      page: a.page,
    });
    const identify = plan.items[1]!;
    expect(identify.kind === 'identify' && identify.row).toMatchObject({
      userId: 'b',
      traits: { plan: 'pro' },
    });
  });

  it('keeps a TRACK and an IDENTIFY with the same eventId, as the database does across batches', () => {
    const t = buildInteraction({ userId: 'same' });
    const i = { ...t, type: 'IDENTIFY' as const, action: 'identify', page: '' };
    const plan = planInteractions([record(t, '1'), record(i, '2'), record(i, '3')], 0);
    expect(plan.items.map((x) => [x.kind, x.message.offset])).toEqual([
      ['track', '1'],
      ['identify', '2'],
    ]);
    expect(plan.duplicatesInBatch).toBe(1);
  });

  it('deduplicates api-hits deltas by batchId', () => {
    const delta = (batchId: string, hits: number) =>
      decodeApiHits(
        message('0', { value: Buffer.from(JSON.stringify({ batchId, service: 'query', hits, at: 1 })) }),
      );
    const id = '7f1c1b2e-8a3b-4c1d-9e2f-1a2b3c4d5e6f';
    const plan = planApiHits([delta(id, 3), delta(id, 3), delta('5f1c1b2e-8a3b-4c1d-9e2f-1a2b3c4d5e6f', 2)]);
    expect(plan.items.map((i) => i.row)).toEqual([
      { batchId: id, service: 'query', hits: 3 },
      { batchId: '5f1c1b2e-8a3b-4c1d-9e2f-1a2b3c4d5e6f', service: 'query', hits: 2 },
    ]);
    expect(plan.duplicatesInBatch).toBe(1);
  });

  it('commits the offset after the last one, beyond 2^53', () => {
    expect(nextOffset('41')).toBe('42');
    expect(nextOffset('9007199254740993')).toBe('9007199254740994');
  });

  it('halves for isolating rejected rows', () => {
    expect(halves([1, 2, 3])).toEqual([[1, 2], [3]]);
    expect(halves([1])).toEqual([[1], []]);
  });
});

describe('validation beyond the record schema', () => {
  it('accepts a valid record and refuses what PostgreSQL would refuse for the whole batch', () => {
    expect(recordProblem(buildInteraction())).toBeNull();
    expect(recordProblem(buildInteraction({ action: 'Not Valid' }))).toContain('/action');
    expect(recordProblem(buildInteraction({ page: '/a\u0000b' }))).toContain('NUL');
    expect(recordProblem(buildInteraction({ properties: { k: 'v\u0000' } }))).toContain('NUL');
    expect(recordProblem(buildInteraction({ occurredAt: 9e15 }))).toContain('/occurredAt');
    expect(recordProblem(buildInteraction({ receivedAt: -1 }))).toContain('/receivedAt');
  });

  it('refuses api-hits messages that are not JSON or not deltas', () => {
    expect(decodeApiHits(message('0', { value: Buffer.from('nope') }))).toMatchObject({
      kind: 'poison',
      code: 'invalid_json',
    });
    expect(decodeApiHits(message('0', { value: Buffer.from('{"hits":1}') }))).toMatchObject({
      kind: 'poison',
      code: 'invalid_record',
      step: 'validate',
    });
  });
});

describe('dead-letter messages', () => {
  it('keep the original key, value and headers and add the DLQ headers', () => {
    const original = message('77', {
      key: Buffer.from([0xff, 0x00]),
      value: Buffer.from([1, 2, 3]),
      headers: { trace: Buffer.from('abc'), [DLQ_HEADERS.reason]: 'older reason' },
    });
    const out = buildDlqMessage(
      poison(original, 'unknown_schema', 'decode', 'schema id 9 is not in the registry'),
      { topic: 'interactions', partition: 3 },
      new Date('2026-01-02T03:04:05.000Z'),
    );
    expect(out.key).toBe(original.key);
    expect(out.value).toBe(original.value);
    expect(out.headers).toEqual({
      trace: Buffer.from('abc'),
      [DLQ_HEADERS.reason]: 'unknown_schema: schema id 9 is not in the registry',
      [DLQ_HEADERS.step]: 'decode',
      [DLQ_HEADERS.topic]: 'interactions',
      [DLQ_HEADERS.partition]: '3',
      [DLQ_HEADERS.offset]: '77',
      [DLQ_HEADERS.time]: '2026-01-02T03:04:05.000Z',
    });
  });

  it('keeps the reason on one bounded line', () => {
    const reason = dlqReason({ code: 'db_rejected', detail: `line1\nline2 ${'x'.repeat(5000)}` });
    expect(reason.startsWith('db_rejected: line1 line2 ')).toBe(true);
    expect(reason.length).toBe(1000);
  });
});

describe('outage handling', () => {
  const backoff = { initialMs: 100, maxDelayMs: 2000, maxTotalMs: 10_000 };

  it('backs off exponentially with jitter, capped', () => {
    expect([0, 1, 2, 3, 4, 5, 10].map((a) => backoffDelay(a, backoff, () => 1))).toEqual([
      100, 200, 400, 800, 1600, 2000, 2000,
    ]);
    expect(backoffDelay(3, backoff, () => 0)).toBe(400);
  });

  it('treats data errors as rejections and everything else as outages', () => {
    expect(classifyDbError({ code: '22021' })).toBe('reject'); // invalid byte sequence
    expect(classifyDbError({ code: '54000' })).toBe('reject'); // index row too large
    expect(classifyDbError({ code: '23502' })).toBe('reject');
    expect(classifyDbError({ code: '57P01' })).toBe('retry'); // admin shutdown
    expect(classifyDbError({ code: '40P01' })).toBe('retry'); // deadlock
    // Prisma Client wraps the SQLSTATE of a refused raw statement in a P2010 error.
    const viaPrisma = (code: string) => ({
      code: 'P2010',
      meta: { driverAdapterError: { cause: { originalCode: code } } },
    });
    expect(classifyDbError(viaPrisma('22P02'))).toBe('reject');
    expect(classifyDbError(viaPrisma('40P01'))).toBe('retry');
    expect(classifyDbError({ code: '08006' })).toBe('retry');
    expect(classifyDbError({ code: 'ECONNREFUSED' })).toBe('retry');
    expect(classifyDbError(new Error('Connection terminated unexpectedly'))).toBe('retry');
  });

  it('retries until success, heartbeating while it waits, and resets the outage clock', async () => {
    let now = 0;
    const clock = new OutageClock(() => now);
    const waits: number[] = [];
    let heartbeats = 0;
    let calls = 0;
    const result = await withRetry(
      async () => {
        calls += 1;
        if (calls < 4) throw Object.assign(new Error('down'), { code: 'ECONNREFUSED' });
        return 'ok';
      },
      {
        what: 'database',
        backoff,
        clock,
        heartbeat: async () => {
          heartbeats += 1;
        },
        sleep: async (ms) => {
          waits.push(ms);
          now += ms;
        },
      },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(4);
    expect(heartbeats).toBe(waits.length);
    expect(waits.every((w) => w <= 1000)).toBe(true);
    expect(clock.since).toBeNull();
  });

  it('gives up past the outage limit, and at once on a rejection', async () => {
    let now = 0;
    const clock = new OutageClock(() => now);
    const sleep = async (ms: number) => {
      now += ms;
    };
    const failing = async () => {
      throw new Error('down');
    };
    const error = await withRetry(failing, { what: 'database', backoff, clock, sleep }).catch((e) => e);
    expect(error).toBeInstanceOf(OutageTooLongError);
    expect(error.elapsedMs).toBeGreaterThanOrEqual(10_000);
    const rejected = Object.assign(new Error('bad data'), { code: '22021' });
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls += 1;
          throw rejected;
        },
        { what: 'database', backoff, clock: new OutageClock(), sleep, classify: classifyDbError },
      ),
    ).rejects.toBe(rejected);
    expect(calls).toBe(1);
  });

  it('stops waiting when shutdown aborts', async () => {
    const abort = new AbortController();
    const pending = withRetry(
      async () => {
        throw new Error('down');
      },
      {
        what: 'database',
        backoff: { ...backoff, initialMs: 60_000, maxDelayMs: 60_000 },
        clock: new OutageClock(),
        signal: abort.signal,
      },
    );
    setTimeout(() => abort.abort(), 20);
    await expect(pending).rejects.toBeInstanceOf(RetryAbortedError);
  });
});

describe('lag', () => {
  it('is end minus committed, or end minus the earliest offset without a commit', () => {
    expect(
      computeLag(
        [
          { partition: 1, high: '10', low: '0' },
          { partition: 0, high: '50', low: '5' },
          { partition: 2, high: '7', low: '7' },
        ],
        [
          { partition: 1, offset: '4' },
          { partition: 0, offset: '-1' },
          { partition: 2, offset: '7' },
        ],
      ),
    ).toEqual([
      { partition: 0, committedOffset: null, highWatermark: 50, lag: 45 },
      { partition: 1, committedOffset: 4, highWatermark: 10, lag: 6 },
      { partition: 2, committedOffset: 7, highWatermark: 7, lag: 0 },
    ]);
  });
});
