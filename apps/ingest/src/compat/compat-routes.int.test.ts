/**
 * The bodies, keys and answers of the Segment/RudderStack/PostHog routes as the browser SDKs send
 * them (analytics-next, posthog-js; their own e2e tests drive the real SDKs in Chromium), through
 * inject against the real Kafka and registry.
 */
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { TrackerApp } from '@tracker/http';
import { uniqueName } from '@tracker/test-utils';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../app.js';
import { TopicReader, testConfig, testKafka, testTopics } from '../ingest.harness.js';
import { compatEventId } from './event-id.js';

const KEY = 'wk_compat_test_0123456789abcdef';
const CHROME =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36';
const basic = `Basic ${Buffer.from(`${KEY}:`).toString('base64')}`;

let kafka: Kafka;
let topics: Awaited<ReturnType<typeof testTopics>>;
let app: TrackerApp;
let reader: TopicReader;

beforeAll(async () => {
  kafka = testKafka();
  topics = await testTopics(kafka, 'compat');
  app = await buildApp(
    testConfig({
      INGEST_TOPIC: topics.interactions,
      INGEST_API_HITS_TOPIC: topics.apiHits,
      INGEST_WRITE_KEYS: KEY,
      INGEST_BATCH_MAX_EVENTS: '5',
      INGEST_BATCH_MAX_BYTES: '65536',
      AUTH_FAILURE_LIMIT: '1000',
    }),
  );
  await app.ready();
  reader = await new TopicReader(kafka, topics.interactions).start();
});

afterAll(async () => {
  await app?.close();
  await reader?.stop();
  await topics?.drop();
});

const send = (url: string, payload: string | Buffer, headers: Record<string, string>) =>
  app.inject({ method: 'POST', url, payload, headers: { 'user-agent': CHROME, ...headers } });

describe('analytics-next (Segment, browser)', () => {
  it('takes one text/plain message per /v1/t|p|i with writeKey in the body; 200 {success: true}', async () => {
    const anon = uniqueName('anon');
    const context = {
      page: {
        path: '/shop',
        search: '?utm_source=ad&session=s3cr3t',
        url: 'https://shop.example/shop?utm_source=ad&session=s3cr3t',
        title: 'Shop',
        referrer: '',
      },
      userAgent: CHROME,
      library: { name: 'analytics.js', version: 'next-1.84.3' },
      ip: '203.0.113.9',
    };
    const page = await send(
      '/v1/p',
      JSON.stringify({
        type: 'page',
        anonymousId: anon,
        messageId: `ajs-next-${randomUUID()}`,
        properties: { path: '/shop' },
        context,
        writeKey: KEY,
        sentAt: new Date().toISOString(),
        _metadata: { bundled: [] },
        integrations: {},
      }),
      { 'content-type': 'text/plain' },
    );
    expect(page.statusCode).toBe(200);
    expect(page.json()).toMatchObject({ success: true, accepted: [{ index: 0 }], rejected: [] });
    const record = await reader.waitForRecord((r) => r.userId === anon, 'the page view');
    expect(record).toMatchObject({
      action: 'page_view',
      page: '/shop?utm_source=ad',
      userAgent: CHROME,
      properties: {
        path: '/shop',
        'context.page.search': '?utm_source=ad',
        'context.page.url': 'https://shop.example/shop?utm_source=ad',
        'context.library.name': 'analytics.js',
      },
    });
    // ingest stores no client address, and Segment's routing metadata means nothing here
    expect(Object.keys(record.properties).filter((k) => /ip|_metadata|integrations/.test(k))).toEqual([]);
  });

  it('takes a /v1/b batch and a gzip body recognised by its bytes under text/plain', async () => {
    const user = uniqueName('gz');
    const body = gzipSync(
      JSON.stringify({
        writeKey: KEY,
        sentAt: new Date().toISOString(),
        batch: [{ type: 'track', userId: user, event: 'Added To Cart', messageId: randomUUID() }],
      }),
    );
    const res = await send('/v1/b', body, { 'content-type': 'text/plain' });
    expect(res.statusCode).toBe(200);
    expect(await reader.waitForRecord((r) => r.userId === user, 'the gzip batch')).toMatchObject({
      action: 'added_to_cart',
      properties: { event: 'Added To Cart' },
    });
  });
});

describe('keys', () => {
  const message = { type: 'track', userId: 'k-1', event: 'X' };

  it('answers 401 (permanent to every SDK) without a key or with a wrong one, in the body or Basic auth', async () => {
    for (const [url, payload, headers] of [
      ['/v1/t', message, {}],
      ['/v1/t', { ...message, writeKey: 'wrong_key_0123456789' }, {}],
      [
        '/v1/batch',
        { batch: [message] },
        { authorization: `Basic ${Buffer.from('wrong_key_0123456789:').toString('base64')}` },
      ],
      ['/batch/', { api_key: 'phc_wrong_0123456789', batch: [{ event: 'x', distinct_id: 'd' }] }, {}],
      ['/e/', [{ event: 'x', properties: { distinct_id: 'd' } }], {}],
    ] as const) {
      const res = await send(url, JSON.stringify(payload), {
        'content-type': 'application/json',
        ...headers,
      });
      expect(res.statusCode, `${url} ${JSON.stringify(payload)}`).toBe(401);
      expect(res.json().code).toBe('UNAUTHORIZED');
    }
  });

  it('takes the key from Basic auth alone (rudder-sdk-node) and from PostHog’s properties.token', async () => {
    const rs = await send('/v1/batch', JSON.stringify({ batch: [message] }), {
      'content-type': 'application/json',
      authorization: basic,
    });
    expect(rs.statusCode).toBe(200);
    const ph = await send(
      '/e/',
      JSON.stringify([{ event: 'x', properties: { distinct_id: 'd', token: KEY } }]),
      { 'content-type': 'text/plain' },
    );
    expect(ph.statusCode).toBe(200);
    expect(ph.json()).toMatchObject({ status: 1 });
  });
});

describe('paths shared with ours (/v1/batch, /v1/identify): the body decides', () => {
  it('keeps our /v1/batch and /v1/identify answers (202) and their JSON-only rule', async () => {
    const ours = await send(
      '/v1/batch',
      JSON.stringify({ events: [{ userId: 'o-1', action: 'click', page: '/' }] }),
      {
        'content-type': 'application/json',
        'x-write-key': KEY,
      },
    );
    expect(ours.statusCode).toBe(202);
    const plain = await send(
      '/v1/batch',
      JSON.stringify({ events: [{ userId: 'o-1', action: 'click', page: '/' }] }),
      {
        'content-type': 'text/plain',
        'x-write-key': KEY,
      },
    );
    expect(plain.statusCode).toBe(415);
    const identify = await send('/v1/identify', JSON.stringify({ userId: 'o-2', role: 'admin' }), {
      'content-type': 'application/json',
      'x-write-key': KEY,
    });
    expect(identify.statusCode).toBe(202);
  });

  it("reads Segment's identify on /v1/identify: traits flattened, role from the trait, the anonymousId link kept", async () => {
    const user = uniqueName('seg_id');
    const res = await send(
      '/v1/identify',
      JSON.stringify({
        userId: user,
        anonymousId: 'anon-9',
        traits: { role: 'Admin', company: { name: 'Acme', size: 12 } },
        writeKey: KEY,
      }),
      { 'content-type': 'application/json' },
    );
    expect(res.statusCode).toBe(200);
    expect(await reader.waitForRecord((r) => r.userId === user, 'the identify')).toMatchObject({
      type: 'IDENTIFY',
      role: 'ADMIN',
      properties: { 'company.name': 'Acme', 'company.size': 12, anonymousId: 'anon-9' },
    });
  });
});

describe('posthog-js bodies', () => {
  it('reads a base64 data= form (?compression=base64) and gzip under text/plain without a flag', async () => {
    const user = uniqueName('ph');
    const events = [
      {
        event: '$pageview',
        uuid: randomUUID(),
        properties: {
          distinct_id: user,
          token: KEY,
          $current_url: 'https://app.example/a?x=1#f',
          $session_id: 'sess-1',
        },
        timestamp: new Date().toISOString(),
      },
    ];
    const form = `data=${encodeURIComponent(Buffer.from(JSON.stringify(events)).toString('base64'))}`;
    const b64 = await send('/e/?compression=base64&ver=1.449.2', form, {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(b64.statusCode).toBe(200);
    const gz = await send(
      '/i/v0/e/',
      gzipSync(
        JSON.stringify({
          api_key: KEY,
          sent_at: new Date().toISOString(),
          batch: [{ event: 'Clicked Buy', uuid: randomUUID(), properties: { distinct_id: user } }],
        }),
      ),
      { 'content-type': 'text/plain' },
    );
    expect(gz.statusCode).toBe(200);
    const page = await reader.waitForRecord(
      (r) => r.userId === user && r.action === 'page_view',
      'the base64 page view',
    );
    expect(page).toMatchObject({ page: '/a', sessionId: 'sess-1' });
    expect(page.properties).not.toHaveProperty('token');
    expect(
      await reader.waitForRecord((r) => r.userId === user && r.action === 'clicked_buy', 'the gzip event'),
    ).toBeTruthy();
  });

  it('counts a resent event once: the same uuid, or a non-UUID messageId, gives the same eventId', async () => {
    const messageId = `node-next-${Date.now()}-retry`;
    const body = JSON.stringify({
      writeKey: KEY,
      batch: [{ type: 'track', userId: 'r-1', event: 'x', messageId }],
    });
    const first = (await send('/v1/batch', body, { 'content-type': 'application/json' })).json();
    const again = (await send('/v1/batch', body, { 'content-type': 'application/json' })).json();
    expect(first.accepted[0].id).toBe(compatEventId(messageId));
    expect(again.accepted[0].id).toBe(first.accepted[0].id);
  });
});

describe('partial failures and limits', () => {
  it('accepts the valid messages, reports the invalid ones and what was dropped (200); 400 when none is valid', async () => {
    const user = uniqueName('part');
    const res = await send(
      '/batch/',
      JSON.stringify({
        api_key: KEY,
        batch: [
          {
            event: 'ok',
            distinct_id: user,
            properties: { long: 'x'.repeat(2000), nested: { deep: { deeper: { deepest: { end: 1 } } } } },
          },
          { event: 'no user' },
          { distinct_id: user },
        ],
      }),
      { 'content-type': 'application/json' },
    );
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.accepted.map((a: { index: number }) => a.index)).toEqual([0]);
    expect(body.rejected).toEqual([
      { index: 1, errors: [{ path: 'body.batch.1.distinct_id', message: 'is required' }] },
      { index: 2, errors: [{ path: 'body.batch.2.event', message: 'is required (the name of the event)' }] },
    ]);
    expect(body.dropped).toEqual([{ index: 0, path: 'long', message: 'truncated to 1024 characters' }]);
    const stored = await reader.waitForRecord((r) => r.userId === user, 'the valid one');
    // at most MAX_DEPTH (4) levels of keys; below them, JSON text
    expect(stored.properties).toMatchObject({ 'nested.deep.deeper.deepest': '{"end":1}' });
    expect((stored.properties.long as string).length).toBe(1024);

    const none = await send(
      '/v1/batch',
      JSON.stringify({ writeKey: KEY, batch: [{ type: 'track', userId: 'u' }] }),
      {
        'content-type': 'application/json',
      },
    );
    expect(none.statusCode).toBe(400);
    expect(none.json().details).toEqual([
      { path: 'body.batch.0.event', message: 'is required (the name of the event)' },
    ]);
  });

  it('answers 413 for too many events (posthog-node halves its batch) and for a body over the limit once decompressed', async () => {
    const batch = Array.from({ length: 6 }, () => ({ event: 'e', distinct_id: 'd' }));
    const many = await send('/batch/', JSON.stringify({ api_key: KEY, batch }), {
      'content-type': 'application/json',
    });
    expect(many.statusCode).toBe(413);
    expect(many.json().code).toBe('TOO_MANY_EVENTS');
    const bomb = gzipSync(
      JSON.stringify({
        api_key: KEY,
        batch: [{ event: 'e', distinct_id: 'd', properties: { pad: ' '.repeat(200_000) } }],
      }),
    );
    expect(bomb.length).toBeLessThan(65_536);
    const big = await send('/e/', bomb, { 'content-type': 'text/plain' });
    expect(big.statusCode).toBe(413);
    expect(big.json().code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('answers CORS preflights of the browser paths, allowing what analytics-next sends', async () => {
    for (const url of ['/v1/t', '/v1/b', '/e/', '/i/v0/e/', '/batch/']) {
      const res = await app.inject({
        method: 'OPTIONS',
        url,
        headers: {
          origin: 'https://shop.example',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type,x-retry-count',
        },
      });
      expect(res.statusCode, url).toBe(204);
      expect(res.headers['access-control-allow-origin']).toBe('https://shop.example');
      expect(String(res.headers['access-control-allow-headers'])).toContain('x-retry-count');
    }
  });
});
