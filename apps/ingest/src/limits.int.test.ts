/**
 * What a write key may do, and how much: imports need their own key, events are budgeted per key
 * and address (not only requests), and URLs lose their tokens before they reach Kafka.
 */
import { randomUUID } from 'node:crypto';
import type { TrackerApp } from '@tracker/http';
import { waitFor } from '@tracker/test-utils';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from './app.js';
import { TopicReader, testConfig, testKafka, testTopics } from './ingest.harness.js';

const WRITE_KEY = 'wk_limits_0123456789abcdef';
const IMPORT_KEY = 'ik_limits_0123456789abcdef';
const event = (extra: Record<string, unknown> = {}) => ({
  eventId: randomUUID(),
  userId: 'limits-user',
  action: 'click',
  page: '/p',
  ...extra,
});

let kafka: Kafka;
let topics: Awaited<ReturnType<typeof testTopics>>;
const apps: TrackerApp[] = [];

beforeAll(async () => {
  kafka = testKafka();
  topics = await testTopics(kafka, 'limits');
});
afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  await topics?.drop();
});

async function start(env: Record<string, string>): Promise<TrackerApp> {
  const app = await buildApp(
    testConfig({ INGEST_TOPIC: topics.interactions, INGEST_API_HITS_TOPIC: topics.apiHits, ...env }),
  );
  apps.push(app);
  await app.ready();
  return app;
}

const ndjson = (n: number) => Array.from({ length: n }, () => JSON.stringify(event())).join('\n');

describe('import keys', () => {
  it('refuses a write key on /v1/import and takes an import key, which may also send events', async () => {
    const app = await start({ INGEST_WRITE_KEYS: WRITE_KEY, INGEST_IMPORT_KEYS: IMPORT_KEY });
    const importWith = (key: string) =>
      app.inject({
        method: 'POST',
        url: '/v1/import',
        headers: { 'content-type': 'application/x-ndjson', 'x-write-key': key },
        payload: ndjson(2),
      });
    const refused = await importWith(WRITE_KEY);
    expect(refused.statusCode).toBe(401);
    expect(refused.json().message).toMatch(/import key/);
    expect((await importWith(IMPORT_KEY)).statusCode).toBe(202);
    const single = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { 'x-write-key': IMPORT_KEY },
      payload: event(),
    });
    expect(single.statusCode).toBe(202);
  });

  it('refuses every import when write keys are set but no import key is', async () => {
    const app = await start({ INGEST_WRITE_KEYS: WRITE_KEY });
    const res = await app.inject({
      method: 'POST',
      url: '/v1/import',
      headers: { 'content-type': 'application/x-ndjson', 'x-write-key': WRITE_KEY },
      payload: ndjson(1),
    });
    expect(res.statusCode).toBe(401);
    expect(res.json().message).toMatch(/INGEST_IMPORT_KEYS/);
  });
});

describe('event budgets', () => {
  it('counts events, not requests: a batch past the budget is 429 with Retry-After and nothing of it is produced', async () => {
    const app = await start({ INGEST_WRITE_KEYS: WRITE_KEY, INGEST_EVENT_RATE_MAX: '10' });
    const batch = (n: number) =>
      app.inject({
        method: 'POST',
        url: '/v1/batch',
        headers: { 'x-write-key': WRITE_KEY },
        payload: { events: Array.from({ length: n }, () => event({ userId: 'budget-user' })) },
      });
    expect((await batch(8)).statusCode).toBe(202);
    const over = await batch(5);
    expect(over.statusCode).toBe(429);
    expect(over.json()).toMatchObject({ code: 'EVENT_RATE_LIMITED' });
    expect(over.json().message).toMatch(/2 are left/);
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect((await batch(2)).statusCode).toBe(202);
  });

  it("stops an import at its key's budget, saying what was accepted and where to resume", async () => {
    const app = await start({
      INGEST_IMPORT_KEYS: IMPORT_KEY,
      INGEST_WRITE_KEYS: WRITE_KEY,
      INGEST_IMPORT_EVENT_RATE_MAX: '1000',
      INGEST_IMPORT_CHUNK_EVENTS: '100',
    });
    const res = await app.inject({
      method: 'POST',
      url: '/v1/import',
      headers: { 'content-type': 'application/x-ndjson', 'x-write-key': IMPORT_KEY },
      payload: ndjson(1500),
    });
    expect(res.statusCode).toBe(429);
    expect(res.json().code).toBe('EVENT_RATE_LIMITED');
    expect(res.json().message).toMatch(/1000 events up to line 1000 were accepted; resend from line 1001/);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  });
});

describe('URL privacy', () => {
  it('stores pages and referrers without fragments or query parameters outside the allow-list', async () => {
    const app = await start({ INGEST_URL_QUERY_ALLOW: 'utm_*,plan' });
    const reader = await new TopicReader(kafka, topics.interactions).start();
    try {
      const eventId = randomUUID();
      const res = await app.inject({
        method: 'POST',
        url: '/v1/events',
        payload: event({
          eventId,
          page: 'https://shop.example/reset?token=s3cret&plan=pro&utm_source=mail#access_token=t0k',
          properties: { referrer: 'https://mail.example/open?session=abc#x', hash: '#access_token=t0k' },
        }),
      });
      expect(res.statusCode).toBe(202);
      const records = await waitFor(
        async () => {
          const all = await reader.records();
          return all.some((r) => r.eventId === eventId) && all;
        },
        { what: 'the event on the topic' },
      );
      const stored = records.find((r) => r.eventId === eventId)!;
      expect(stored.page).toBe('/reset?plan=pro&utm_source=mail');
      expect(stored.properties).toEqual({ referrer: 'https://mail.example/open' });
      expect(JSON.stringify(records)).not.toMatch(/s3cret|t0k|session=abc/);
    } finally {
      await reader.stop();
    }
  });
});
