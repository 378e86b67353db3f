import { HttpError } from '@tracker/http';
import type { InteractionRecord } from '@tracker/schemas';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createIngestMetrics } from '../metrics.js';
import { type ImportOptions, runImport } from './import-runner.js';
import type { ImportItem } from './readers.js';

/** A sink that records what it is given; `failAfter` chunks succeed, then it answers 503. */
function fakeSink(failAfter = Number.POSITIVE_INFINITY) {
  const chunks: InteractionRecord[][] = [];
  const unbounded: (boolean | undefined)[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const sink: ImportOptions['sink'] = {
    metrics: createIngestMetrics(new Registry(), () => true),
    async publish(records, _route, publishOptions) {
      unbounded.push(publishOptions?.unbounded);
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 2));
      inFlight -= 1;
      if (chunks.length >= failAfter)
        throw new HttpError(503, 'BROKER_UNAVAILABLE', 'down', [], { 'retry-after': '5' });
      chunks.push(records);
    },
  };
  return { sink, chunks, unbounded, maxInFlight: () => maxInFlight };
}

async function* items(n: number, bad: (i: number) => boolean = () => false): AsyncGenerator<ImportItem> {
  for (let i = 1; i <= n; i++) {
    yield {
      line: i,
      value: bad(i) ? { userId: 'u' } : { userId: `u${i % 5}`, action: 'click', page: `/p/${i}` },
    };
  }
}

const options = (sink: ImportOptions['sink']): ImportOptions => ({
  sink,
  userAgent: 'Mozilla/5.0',
  chunkEvents: 100,
  maxRejections: 10,
  route: '/v1/import',
});

describe('runImport', () => {
  it('produces in chunks with at most two in flight and counts everything', async () => {
    const { sink, chunks, maxInFlight } = fakeSink();
    const summary = await runImport(items(1050), options(sink));
    expect(summary).toEqual({
      items: 1050,
      accepted: 1050,
      rejectedCount: 0,
      rejected: [],
      rejectedTruncated: false,
    });
    expect(chunks.map((c) => c.length)).toEqual([100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 50]);
    expect(maxInFlight()).toBeLessThanOrEqual(2);
    expect(new Set(chunks.flat().map((r) => r.eventId)).size).toBe(1050);
  });

  it('is never refused by the producer queue limit (its two chunks in flight bound it)', async () => {
    const { sink, unbounded } = fakeSink();
    await runImport(items(250), options(sink));
    expect(unbounded).toEqual([true, true, true]);
  });

  it('lists the first rejections with their line, counts all of them', async () => {
    const { sink } = fakeSink();
    const summary = await runImport(
      items(300, (i) => i % 10 === 0),
      options(sink),
    );
    expect(summary.accepted).toBe(270);
    expect(summary.rejectedCount).toBe(30);
    expect(summary.rejected).toHaveLength(10);
    expect(summary.rejectedTruncated).toBe(true);
    expect(summary.rejected[0]).toEqual({
      line: 10,
      errors: [
        { path: 'action', message: 'is required' },
        { path: 'page', message: 'is required' },
      ],
    });
  });

  it('stops at a fatal item after what came before it', async () => {
    async function* withFatal(): AsyncGenerator<ImportItem> {
      yield* items(3);
      yield { line: 4, reason: 'unparseable', fatal: true, errors: [{ path: '', message: 'broken' }] };
      yield* items(3);
    }
    const { sink } = fakeSink();
    const summary = await runImport(withFatal(), options(sink));
    expect(summary).toMatchObject({ items: 4, accepted: 3, rejectedCount: 1 });
  });

  it('answers 503 saying how much was accepted when the broker fails mid-file', async () => {
    const { sink, chunks } = fakeSink(3);
    const attempt = runImport(items(1000), options(sink));
    await expect(attempt).rejects.toMatchObject({
      statusCode: 503,
      code: 'BROKER_UNAVAILABLE',
      headers: { 'retry-after': '5' },
    });
    await attempt.catch((error: HttpError) =>
      expect(error.message).toContain('300 events up to line 300 were accepted; resend from line 301'),
    );
    expect(chunks.flat()).toHaveLength(300);
  });

  it('passes a size-limit error from the reader on as 413 with the progress', async () => {
    async function* tooBig(): AsyncGenerator<ImportItem> {
      yield* items(250);
      throw new HttpError(413, 'PAYLOAD_TOO_LARGE', 'the file is larger than 1024 bytes');
    }
    const { sink } = fakeSink();
    await expect(runImport(tooBig(), options(sink))).rejects.toMatchObject({
      statusCode: 413,
      message: expect.stringContaining('200 events up to line 200 were accepted; resend from line 201'),
    });
  });
});
