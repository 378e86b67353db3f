import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { gzipSync } from 'node:zlib';
import type { TrackerApp } from '@tracker/http';
import { waitFor } from '@tracker/test-utils';
import type { Admin, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from './app.js';
import { TopicReader, testConfig, testKafka, testTopics } from './ingest.harness.js';

// Hostile imports (security review items 2 and 3): a small upload that decompresses to millions of
// refused rows, or to hundreds of MB of whitespace before the data. What ingest holds while such a
// body streams is checked here after a full collection (what is still referenced, not the garbage);
// the peak RSS of a running service is measured by bench/scripts/measure-import-memory.mjs.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** MB this process still references (JS heap and buffers) after a full collection. */
function heldMb(): number {
  gc();
  const m = process.memoryUsage();
  return (m.heapUsed + m.arrayBuffers) / 2 ** 20;
}

/** Generous: what a streaming import holds is a few steps of 16 KB and their items. */
const HELD_BOUND_MB = 64;

let kafka: Kafka;
let admin: Admin;
let topics: Awaited<ReturnType<typeof testTopics>>;
let app: TrackerApp;
let reader: TopicReader;

beforeAll(async () => {
  kafka = testKafka();
  topics = await testTopics(kafka, 'import_limits');
  admin = kafka.admin();
  await admin.connect();
  app = await buildApp(
    testConfig({
      INGEST_TOPIC: topics.interactions,
      INGEST_API_HITS_TOPIC: topics.apiHits,
      INGEST_IMPORT_MAX_BYTES: String(512 * 1024 * 1024),
      // Millions of items in a few requests: the per-key import budget is tested in limits.int.test.ts.
      INGEST_IMPORT_EVENT_RATE_MAX: '0',
    }),
  );
  await app.ready();
  reader = await new TopicReader(kafka, topics.interactions).start();
});

afterAll(async () => {
  await app?.close();
  await reader?.stop();
  await admin?.disconnect();
  await topics?.drop();
});

const produced = async () =>
  (await admin.fetchTopicOffsets(topics.interactions)).reduce((sum, p) => sum + Number(p.high), 0);

/** Items /v1/import refused so far, every reason (its Prometheus counter). */
async function refusedSoFar(): Promise<number> {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  let sum = 0;
  for (const m of text.matchAll(/^ingest_events_rejected_total\{([^}]*)\} (\d+)$/gm)) {
    if (m[1]!.includes('route="/v1/import"')) sum += Number(m[2]);
  }
  return sum;
}

/**
 * What the server did while the upload was paused half way: the refusals it had counted (waited for,
 * up to 20 s) and what it held. A reader that keeps refusals aside until a valid row counts none.
 */
async function atPause(refusedBefore: number, heldBefore: number) {
  const counted = await waitFor(async () => ((await refusedSoFar()) > refusedBefore ? true : undefined), {
    timeoutMs: 20_000,
    intervalMs: 100,
    what: 'refusals counted while the body streams',
  }).then(
    async () => (await refusedSoFar()) - refusedBefore,
    () => 0,
  );
  return { counted, heldMb: heldMb() - heldBefore };
}

describe('refused items: counted as they stream, bounded memory, a capped 400', () => {
  it('a gzip body of a CSV header and 655 360 refused rows', async () => {
    const perMember = 64 * 1024;
    const members = 10;
    const member = gzipSync(Buffer.from('x\n'.repeat(perMember)), { level: 9 });
    const refusedBefore = await refusedSoFar();
    const producedBefore = await produced();
    const heldBefore = heldMb();
    let pause: Awaited<ReturnType<typeof atPause>> | undefined;
    async function* body() {
      yield gzipSync('userId,action,page\n');
      for (let i = 0; i < members; i += 1) {
        if (i === members / 2) pause = await atPause(refusedBefore, heldBefore);
        yield member;
      }
    }
    const res = await app.inject({
      method: 'POST',
      url: '/v1/import',
      headers: { 'content-type': 'text/csv', 'content-encoding': 'gzip' },
      payload: Readable.from(body()),
    });
    const rows = perMember * members;
    expect(res.statusCode).toBe(400);
    const answer = res.json();
    expect(answer).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: `none of the ${rows} items is valid (the first 100 are listed)`,
    });
    expect(answer.details).toHaveLength(100);
    expect(answer.details[99]).toEqual({
      path: 'line.101',
      message: 'is not a valid CSV row: Invalid Record Length: columns length is 3, got 1 on line 101',
    });
    expect(await refusedSoFar()).toBe(refusedBefore + rows);
    expect(await produced()).toBe(producedBefore);
    // Half way, the rows already read had been counted, and not kept.
    expect(pause!.counted).toBeGreaterThan(0);
    expect(pause!.heldMb).toBeLessThan(HELD_BOUND_MB);
  });

  const boundary = `----limits${randomUUID()}`;
  const multipart = (filename: string, content: Buffer) =>
    Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n` +
          'Content-Type: application/octet-stream\r\n\r\n',
      ),
      content,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);

  it.each([
    ['csv', 'userId,action,page\n', 'x\n'],
    ['ndjson', '', 'x\n'],
    ['json', '[', '1,'],
  ])('%s, raw gzip and multipart: every refused item counted, 100 listed', async (format, head, item) => {
    const items = 100_000;
    const file = Buffer.from(`${head}${item.repeat(items - 1)}${format === 'json' ? '1]' : item}`);
    for (const [encoding, payload, headers] of [
      ['gzip', gzipSync(file), { 'content-type': `application/octet-stream`, 'content-encoding': 'gzip' }],
      [
        'multipart',
        multipart(`f.${format}`, file),
        { 'content-type': `multipart/form-data; boundary=${boundary}` },
      ],
    ] as const) {
      const refusedBefore = await refusedSoFar();
      const res = await app.inject({
        method: 'POST',
        url: `/v1/import?format=${format}`,
        headers,
        payload: Readable.from([payload]),
      });
      expect(res.statusCode, encoding).toBe(400);
      expect(res.json().message, encoding).toBe(
        `none of the ${items} items is valid (the first 100 are listed)`,
      );
      expect(res.json().details, encoding).toHaveLength(100);
      expect(await refusedSoFar(), encoding).toBe(refusedBefore + items);
    }
  });
});

describe('whitespace before the data', () => {
  it('imports a JSON array after 200 MB of whitespace (gzip), holding none of it, lines numbered', async () => {
    const tag = `ws-${randomUUID().slice(0, 8)}`;
    const mb = 200;
    // 1 MiB of whitespace, 209 715 line breaks (one every five bytes, the last byte a space).
    const member = gzipSync(Buffer.alloc(1024 * 1024, ' \n\t\r '), { level: 9 });
    const events = [1, 2].map((i) =>
      JSON.stringify({ userId: `${tag}-${i}`, action: 'page_view', page: '/' }),
    );
    const array = `[\n${events[0]},\n{"userId":"${tag}-x"},\n${events[1]}]`;
    const heldBefore = heldMb();
    let heldAtEnd = Number.NaN;
    async function* body() {
      for (let i = 0; i < mb; i += 1) yield member;
      // Asked for more: the server has read the whitespace (but for what its buffers still hold).
      heldAtEnd = heldMb() - heldBefore;
      yield gzipSync(array);
    }
    const res = await app.inject({
      method: 'POST',
      url: '/v1/import',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      payload: Readable.from(body()),
    });
    expect(res.statusCode).toBe(207);
    const breaks = mb * Math.floor((1024 * 1024) / 5);
    expect(res.json()).toMatchObject({
      format: 'json',
      items: 3,
      accepted: 2,
      rejectedCount: 1,
      rejected: [{ line: breaks + 3, errors: expect.any(Array) }],
    });
    await waitFor(
      async () => {
        const records = (await reader.records()).filter((r) => r.userId.startsWith(`${tag}-`));
        return records.length === 2 ? records : undefined;
      },
      { timeoutMs: 30_000, what: 'the two events on the topic' },
    );
    expect(heldAtEnd).toBeLessThan(HELD_BOUND_MB);
  });
});
