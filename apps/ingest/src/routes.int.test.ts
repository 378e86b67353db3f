import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import type { TrackerApp } from '@tracker/http';
import { InteractionSerde } from '@tracker/kafka';
import { type ApiHitsMessage, ROLE_UNSET_HEADER } from '@tracker/schemas';
import { waitFor } from '@tracker/test-utils';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from './app.js';
import { TopicReader, testConfig, testKafka, testTopics } from './ingest.harness.js';

const KEY = 'wk_test_1_0123456789abcdef';
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0';
const auth = { 'x-write-key': KEY, 'user-agent': FIREFOX };

let kafka: Kafka;
let topics: Awaited<ReturnType<typeof testTopics>>;
let app: TrackerApp;
let reader: TopicReader;
let hitsReader: TopicReader;
let trackerDir: string;

beforeAll(async () => {
  kafka = testKafka();
  topics = await testTopics(kafka, 'routes');
  trackerDir = await mkdtemp(join(tmpdir(), 'ingest-tracker-js-'));
  app = await buildApp(
    testConfig({
      INGEST_TOPIC: topics.interactions,
      INGEST_API_HITS_TOPIC: topics.apiHits,
      INGEST_API_HITS_INTERVAL_MS: '200',
      INGEST_WRITE_KEYS: `other_key_0123456789abcdef,${KEY}`,
      INGEST_CORS_ORIGINS: '*',
      INGEST_TRACKER_JS_PATH: join(trackerDir, 'tracker.js'),
    }),
  );
  await app.ready();
  reader = await new TopicReader(kafka, topics.interactions).start();
  hitsReader = await new TopicReader(kafka, topics.apiHits).start();
});

afterAll(async () => {
  await app?.close();
  await reader?.stop();
  await hitsReader?.stop();
  await topics?.drop();
  await rm(trackerDir, { recursive: true, force: true });
});

const post = (url: string, payload: unknown, headers: Record<string, string> = auth) =>
  app.inject({ method: 'POST', url, payload: payload as object, headers });

describe('POST /v1/events', () => {
  it('answers 202 with the id, and the normalised record is on the topic (Avro through the registry, key = userId)', async () => {
    const eventId = randomUUID();
    const res = await post('/v1/events', {
      eventId,
      userId: 'alice',
      role: 'admin',
      action: 'Form_Submit',
      page: 'https://shop.example/checkout?step=2&utm_campaign=spring#pay',
      timestamp: '2030-01-01T00:00:00.000Z',
      sentAt: '2030-01-01T00:00:10.000Z',
      sessionId: 's-1',
      properties: { plan: 'pro', seats: 3, trial: false },
    });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ id: eventId });

    const record = await reader.waitForRecord((r) => r.eventId === eventId, 'the event on the topic');
    expect(record).toMatchObject({
      key: 'alice',
      type: 'TRACK',
      userId: 'alice',
      role: 'ADMIN',
      action: 'form_submit',
      page: '/checkout?utm_campaign=spring', // only INGEST_URL_QUERY_ALLOW's parameters (utm_*)
      sessionId: 's-1',
      properties: { plan: 'pro', seats: 3, trial: false },
      userAgent: FIREFOX,
      isBot: false,
    });
    // Client clock years ahead: skew-corrected to 10 s before reception.
    expect(record.receivedAt - record.occurredAt).toBe(10_000);
    const message = reader.messages.find((m) => m.key === 'alice')!;
    expect(InteractionSerde.schemaIdOf(message.value)).toBe(app.events.serde.schemaId);
  });

  it('defaults role to GUEST, generates an eventId and flags a curl client as a bot', async () => {
    const res = await post(
      '/v1/events',
      { userId: 'bob', action: 'page_view', page: '/' },
      { ...auth, 'user-agent': 'curl/8.5.0' },
    );
    expect(res.statusCode).toBe(202);
    const { id } = res.json();
    const record = await reader.waitForRecord((r) => r.eventId === id, 'the generated id on the topic');
    expect(record).toMatchObject({
      role: 'GUEST',
      userAgent: 'curl/8.5.0',
      isBot: true,
      sessionId: null,
      properties: {},
    });
  });

  it('answers 400 with every invalid field', async () => {
    const res = await post('/v1/events', {
      userId: '',
      action: 'x',
      page: 'nope',
      role: 'root',
      colour: 'red',
    });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    expect(body.details.map((d: { path: string }) => d.path).sort()).toEqual([
      'body.colour',
      'body.role',
      'body.userId',
    ]);
  });

  it('answers 400 for an action or page that only normalisation can judge', async () => {
    const res = await post('/v1/events', { userId: 'u', action: 'Add To Cart', page: 'cart' });
    expect(res.statusCode).toBe(400);
    expect(res.json().details).toEqual([
      { path: 'body.action', message: 'must be 1 to 64 of a-z 0-9 _ . : - (after lower-casing)' },
      { path: 'body.page', message: 'must be a path starting with / or an absolute http(s) URL' },
    ]);
  });

  it('answers 400 for a timestamp more than 24 h in the future', async () => {
    const timestamp = new Date(Date.now() + 25 * 3600_000).toISOString();
    const res = await post('/v1/events', { userId: 'u', action: 'click', page: '/', timestamp });
    expect(res.statusCode).toBe(400);
    expect(res.json().details).toEqual([
      { path: 'body.timestamp', message: 'is more than 24 h in the future' },
    ]);
  });

  it('answers 400 for a leap second (valid RFC 3339, no instant), and 207 for one in a batch', async () => {
    const leap = { userId: 'leap', action: 'click', page: '/', timestamp: '2026-12-31T23:59:60Z' };
    const res = await post('/v1/events', leap);
    expect(res.statusCode).toBe(400);
    expect(res.json().details).toEqual([
      { path: 'body.timestamp', message: 'is not a representable instant (a leap second, :60, has none)' },
    ]);
    // The batch's other events are accepted (this was a 500 for the whole batch).
    const zoned = { userId: 'zoned', action: 'click', page: '/', timestamp: '2026-06-01T12:00:00Z[UTC]' };
    const batch = await post('/v1/batch', { events: [leap, zoned] });
    expect(batch.statusCode).toBe(207);
    expect(batch.json().rejected).toEqual([
      {
        index: 0,
        errors: [
          {
            path: 'body.events.0.timestamp',
            message: 'is not a representable instant (a leap second, :60, has none)',
          },
        ],
      },
    ]);
    const id = batch.json().accepted[0].id;
    const record = await reader.waitForRecord((r) => r.eventId === id, 'zoned event on the topic');
    expect(record.occurredAt).toBe(Date.parse('2026-06-01T12:00:00Z'));
  });

  it("refuses half an emoji in one batch item as that item's error, accepting the rest (207, not 400)", async () => {
    // Raw JSON text: a lone high surrogate, escaped as a client that cut a string in two sends it.
    const body = `{"events":[{"userId":"half","action":"click","page":"/","properties":{"text":"ab\\ud83d"}},{"userId":"whole","action":"click","page":"/","properties":{"text":"ab\\ud83d\\ude00"}}]}`;
    const batch = await app.inject({
      method: 'POST',
      url: '/v1/batch',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: body,
    });
    expect(batch.statusCode).toBe(207);
    expect(batch.json().rejected).toEqual([
      {
        index: 0,
        errors: [
          {
            path: 'body.events.0.properties.text',
            message: 'contains an unpaired UTF-16 surrogate (half an emoji), which is not text',
          },
        ],
      },
    ]);
    const id = batch.json().accepted[0].id;
    const record = await reader.waitForRecord((r) => r.eventId === id, 'the whole-emoji event on the topic');
    expect(record.properties.text).toBe('ab😀');
    // A single event is still refused as a whole body (400, where the text is).
    const single = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: '{"userId":"half","action":"click","page":"/","properties":{"text":"ab\\ud83d"}}',
    });
    expect(single.statusCode).toBe(400);
  });

  it('answers 400 for bad JSON, 415 for another content type, 413 for an event over 32 KB', async () => {
    const bad = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: '{"userId":',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('INVALID_JSON');
    const text = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { ...auth, 'content-type': 'text/plain' },
      payload: '{}',
    });
    expect(text.statusCode).toBe(415);
    expect(text.json()).toMatchObject({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    const properties = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, 'x'.repeat(1000)]));
    const big = await post('/v1/events', { userId: 'u', action: 'click', page: '/', properties });
    expect(big.statusCode).toBe(413);
    expect(big.json()).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE', details: [{ path: 'body' }] });
    const huge = await post('/v1/events', {
      userId: 'u',
      action: 'click',
      page: '/',
      pad: 'x'.repeat(70_000),
    });
    expect(huge.statusCode).toBe(413);
  });
});

describe('write keys', () => {
  const event = { userId: 'k', action: 'click', page: '/' };

  it('answers 401 without a key or with a wrong one, in the common shape', async () => {
    const none = await post('/v1/events', event, {});
    expect(none.statusCode).toBe(401);
    expect(none.json()).toEqual({
      status: 401,
      code: 'UNAUTHORIZED',
      message: 'a write key is required',
      details: [],
    });
    expect((await post('/v1/events', event, { 'x-write-key': 'nope' })).statusCode).toBe(401);
    expect((await post('/v1/batch', { events: [event] }, { authorization: 'Bearer nope' })).statusCode).toBe(
      401,
    );
    expect((await post('/v1/import', '', { 'content-type': 'application/x-ndjson' })).statusCode).toBe(401);
  });

  it('takes the key from x-write-key, a Bearer token or ?writeKey=', async () => {
    expect((await post('/v1/events', event, { 'x-write-key': KEY })).statusCode).toBe(202);
    expect((await post('/v1/events', event, { authorization: `Bearer ${KEY}` })).statusCode).toBe(202);
    expect((await post(`/v1/events?writeKey=${KEY}`, event, {})).statusCode).toBe(202);
  });
});

describe('POST /v1/batch', () => {
  it('answers 202 when every event is accepted', async () => {
    const events = [
      { userId: 'b1', action: 'click', page: '/a' },
      { userId: 'b2', action: 'page_view', page: '/b', role: 'user' },
    ];
    const res = await post('/v1/batch', { events });
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body.rejected).toEqual([]);
    expect(body.accepted.map((a: { index: number }) => a.index)).toEqual([0, 1]);
    for (const { id } of body.accepted)
      await reader.waitForRecord((r) => r.eventId === id, `batch event ${id}`);
  });

  it('answers 207 with the refused items (index, path, reason) and produces the valid ones', async () => {
    const events = [
      { userId: 'p1', action: 'click', page: '/a' },
      { userId: 'p2', action: 'bad action', page: '/a' },
      'not an object',
      { userId: 'p4', action: 'click', page: '/d', properties: { nested: { no: 1 } } },
      { userId: 'p5', action: 'click', page: '/e' },
    ];
    const res = await post('/v1/batch', { events });
    expect(res.statusCode).toBe(207);
    const body = res.json();
    expect(body.accepted.map((a: { index: number }) => a.index)).toEqual([0, 4]);
    expect(body.rejected).toEqual([
      {
        index: 1,
        errors: [
          {
            path: 'body.events.1.action',
            message: 'must be 1 to 64 of a-z 0-9 _ . : - (after lower-casing)',
          },
        ],
      },
      { index: 2, errors: [{ path: 'body.events.2', message: 'must be object' }] },
      {
        index: 3,
        errors: [
          { path: 'body.events.3.properties.nested', message: 'must be a string, a number or a boolean' },
        ],
      },
    ]);
    const p5 = body.accepted[1].id;
    await reader.waitForRecord((r) => r.eventId === p5, 'p5 on the topic');
    expect((await reader.records()).some((r) => r.userId === 'p2' || r.userId === 'p4')).toBe(false);
  });

  it('takes a body compressed with gzip, deflate or br; 415 for another encoding, 400 for corrupt data', async () => {
    const body = (tag: string) =>
      JSON.stringify({ events: [{ userId: `enc-${tag}`, action: 'click', page: '/z' }] });
    const compressors = { gzip: gzipSync, deflate: deflateSync, br: brotliCompressSync };
    for (const [encoding, compress] of Object.entries(compressors)) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/batch',
        payload: compress(Buffer.from(body(encoding))),
        headers: { ...auth, 'content-type': 'application/json', 'content-encoding': encoding },
      });
      expect(res.statusCode, `${encoding}: ${res.body}`).toBe(202);
      const id = res.json().accepted[0].id;
      const record = await reader.waitForRecord((r) => r.eventId === id, `${encoding} event`);
      expect(record.userId).toBe(`enc-${encoding}`);
    }
    const zstd = await app.inject({
      method: 'POST',
      url: '/v1/batch',
      payload: body('zstd'),
      headers: { ...auth, 'content-type': 'application/json', 'content-encoding': 'zstd' },
    });
    expect(zstd.statusCode).toBe(415);
    expect(zstd.json()).toMatchObject({
      code: 'UNSUPPORTED_CONTENT_ENCODING',
      details: [{ path: 'headers.content-encoding', message: 'must be gzip, deflate, br or identity' }],
    });
    const corrupt = await app.inject({
      method: 'POST',
      url: '/v1/batch',
      payload: Buffer.from(body('corrupt')),
      headers: { ...auth, 'content-type': 'application/json', 'content-encoding': 'gzip' },
    });
    expect(corrupt.statusCode).toBe(400);
    expect(corrupt.json()).toMatchObject({ code: 'INVALID_CONTENT_ENCODING' });
    expect(corrupt.json().message).toMatch(/^the body is not valid gzip: /);
  });

  it('answers 400 when no event is valid, listing each', async () => {
    const res = await post('/v1/batch', {
      events: [{ userId: 'x' }, { userId: 'y', action: 'a', page: 'p' }],
    });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.code).toBe('VALIDATION_FAILED');
    expect(body.details.map((d: { path: string }) => d.path)).toEqual([
      'body.events.0.action',
      'body.events.0.page',
      'body.events.1.page',
    ]);
  });

  it('answers 400 for an empty batch or a body without events', async () => {
    expect((await post('/v1/batch', { events: [] })).statusCode).toBe(400);
    expect((await post('/v1/batch', [{ userId: 'x' }])).json().details[0].path).toBe('body');
  });
});

describe('POST /v1/identify', () => {
  it('puts an IDENTIFY record with the traits on the topic', async () => {
    const res = await post('/v1/identify', {
      userId: 'carol',
      role: 'user',
      traits: { plan: 'team', seats: 5 },
    });
    expect(res.statusCode).toBe(202);
    const { id } = res.json();
    const record = await reader.waitForRecord((r) => r.eventId === id, 'the identify call');
    expect(record).toMatchObject({
      key: 'carol',
      type: 'IDENTIFY',
      role: 'USER',
      action: 'identify',
      page: '',
      properties: { plan: 'team', seats: 5 },
    });
  });

  it('marks records sent without a role (GUEST in the record, ROLE_UNSET_HEADER on the message)', async () => {
    const bare = (await post('/v1/identify', { userId: 'dora', traits: { plan: 'pro' } })).json().id;
    const given = (await post('/v1/identify', { userId: 'dora', role: 'guest' })).json().id;
    const track = (await post('/v1/events', { userId: 'dora', action: 'click', page: '/' })).json().id;
    for (const [id, unset] of [
      [bare, true],
      [given, false],
      [track, true],
    ] as const) {
      const record = await reader.waitForRecord((r) => r.eventId === id, `event ${id}`);
      expect(record.role).toBe('GUEST');
      expect(record.headers[ROLE_UNSET_HEADER] !== undefined, id).toBe(unset);
    }
  });

  it('answers 400 for an invalid identify call', async () => {
    const res = await post('/v1/identify', { role: 'boss', traits: { a: [1] } });
    expect(res.statusCode).toBe(400);
    expect(
      res
        .json()
        .details.map((d: { path: string }) => d.path)
        .sort(),
    ).toEqual(['body.role', 'body.traits.a', 'body.userId']);
  });
});

describe('POST /v1/beacon', () => {
  it('takes a text/plain batch with ?writeKey= and answers 204', async () => {
    const eventId = randomUUID();
    const res = await app.inject({
      method: 'POST',
      url: `/v1/beacon?writeKey=${KEY}`,
      headers: { 'content-type': 'text/plain;charset=UTF-8', 'user-agent': FIREFOX },
      payload: JSON.stringify({
        events: [{ eventId, userId: 'dora', action: 'page_view', page: 'https://site.example/x' }],
      }),
    });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect(await reader.waitForRecord((r) => r.eventId === eventId, 'the beacon event')).toMatchObject({
      page: '/x',
      userAgent: FIREFOX,
    });
  });

  it('answers 401 without the key and 400 for bad JSON or no valid event', async () => {
    const payload = JSON.stringify({ events: [{ userId: 'x', action: 'click', page: '/' }] });
    expect(
      (
        await app.inject({
          method: 'POST',
          url: '/v1/beacon',
          headers: { 'content-type': 'text/plain' },
          payload,
        })
      ).statusCode,
    ).toBe(401);
    const bad = await app.inject({
      method: 'POST',
      url: `/v1/beacon?writeKey=${KEY}`,
      headers: { 'content-type': 'text/plain' },
      payload: '{"events":[',
    });
    expect(bad.statusCode).toBe(400);
    const none = await app.inject({
      method: 'POST',
      url: `/v1/beacon?writeKey=${KEY}`,
      headers: { 'content-type': 'text/plain' },
      payload: JSON.stringify({ events: [{ userId: 'x' }] }),
    });
    expect(none.statusCode).toBe(400);
  });
});

describe('around the routes', () => {
  it('answers CORS preflights for any origin and allows the write-key header', async () => {
    const res = await app.inject({
      method: 'OPTIONS',
      url: '/v1/events',
      headers: {
        origin: 'https://any-site.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-write-key,content-encoding',
      },
    });
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('https://any-site.example');
    expect(String(res.headers['access-control-allow-headers'])).toContain('x-write-key');
    // A browser may send a compressed body (ingest decompresses gzip, deflate, br).
    expect(String(res.headers['access-control-allow-headers'])).toContain('content-encoding');
  });

  it('is ready while Kafka and the registry answer', async () => {
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.json()).toEqual({ ready: true, checks: { kafka: true, schemaRegistry: true } });
  });

  it('exposes accepted and rejected counters, produce latency and batch sizes', async () => {
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toMatch(/ingest_events_accepted_total\{[^}]*route="\/v1\/batch"[^}]*\} [1-9]/);
    expect(text).toMatch(
      /ingest_events_rejected_total\{[^}]*route="\/v1\/batch"[^}]*reason="schema"[^}]*\} [1-9]/,
    );
    expect(text).toMatch(/ingest_produce_duration_seconds_count\{[^}]*\} [1-9]/);
    expect(text).toMatch(/ingest_producer_batch_messages_bucket/);
    expect(text).toMatch(/ingest_kafka_up\{[^}]*\} 1/);
    expect(text).toMatch(/http_requests_total\{[^}]*route="\/v1\/events"[^}]*status="401"/);
  });

  it('sends API hits to the api-hits topic as JSON deltas', async () => {
    await waitFor(() => hitsReader.messages.length > 0, { what: 'an api-hits message', timeoutMs: 10_000 });
    const messages = hitsReader.messages.map((m) => JSON.parse(m.value.toString()) as ApiHitsMessage);
    expect(messages[0]).toMatchObject({
      service: 'ingest',
      batchId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(messages.reduce((n, m) => n + m.hits, 0)).toBeGreaterThan(5);
  });

  it('serves tracker.js once built, with caching headers, 404 before', async () => {
    const missing = await app.inject({ method: 'GET', url: '/v1/tracker.js' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    await writeFile(join(trackerDir, 'tracker.js'), 'window.tracker=1;');
    const res = await app.inject({ method: 'GET', url: '/v1/tracker.js' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('window.tracker=1;');
    expect(res.headers['content-type']).toBe('application/javascript; charset=utf-8');
    expect(res.headers['cache-control']).toContain('max-age=');
    const again = await app.inject({
      method: 'GET',
      url: '/v1/tracker.js',
      headers: { 'if-none-match': String(res.headers.etag) },
    });
    expect(again.statusCode).toBe(304);
    // Weak comparison, as RFC 9110 wants for If-None-Match: W/ (a compressing proxy), lists, *.
    for (const header of [`W/${res.headers.etag}`, `"other", ${res.headers.etag}`, '*']) {
      const revalidated = await app.inject({
        method: 'GET',
        url: '/v1/tracker.js',
        headers: { 'if-none-match': header },
      });
      expect(revalidated.statusCode, header).toBe(304);
    }
    const stale = await app.inject({
      method: 'GET',
      url: '/v1/tracker.js',
      headers: { 'if-none-match': '"old"' },
    });
    expect(stale.statusCode).toBe(200);
  });

  it('documents every route with its responses at /docs', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json();
    const expected: Record<string, string[]> = {
      '/v1/events': ['202', '400', '401', '413', '415', '429', '503'],
      // 200: Segment's bodies on the paths it shares with ours (compat/segment.route.ts)
      '/v1/batch': ['200', '202', '207', '400', '401', '413', '415', '429', '503'],
      '/v1/identify': ['200', '202', '400', '401', '413', '415', '429', '503'],
      '/v1/t': ['200', '400', '401', '413', '415', '429', '503'],
      '/batch/': ['200', '400', '401', '413', '415', '429', '503'],
      '/v1/beacon': ['204', '400', '401', '413', '415', '429', '503'],
      '/v1/import': ['202', '207', '400', '401', '413', '415', '429', '503'],
    };
    for (const [path, statuses] of Object.entries(expected)) {
      expect(Object.keys(doc.paths[path].post.responses).sort(), path).toEqual(statuses);
    }
    expect(Object.keys(doc.paths['/v1/tracker.js'].get.responses).sort()).toEqual(['200', '304', '404']);
    expect(Object.keys(doc.paths['/v1/import'].post.requestBody.content)).toEqual(
      expect.arrayContaining(['multipart/form-data', 'application/x-ndjson', 'application/json', 'text/csv']),
    );
    expect(Object.keys(doc.paths['/v1/beacon'].post.requestBody.content)).toEqual([
      'text/plain',
      'application/json',
    ]);
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual([
      'basic', // Segment's and RudderStack's SDKs: the write key as the Basic user name
      'bearer',
      'writeKeyHeader',
      'writeKeyQuery',
    ]);
  });
});

describe('limits', () => {
  let tight: TrackerApp;
  let tightTopics: Awaited<ReturnType<typeof testTopics>>;

  beforeAll(async () => {
    tightTopics = await testTopics(kafka, 'limits', 1);
    tight = await buildApp(
      testConfig({
        INGEST_TOPIC: tightTopics.interactions,
        INGEST_API_HITS_TOPIC: tightTopics.apiHits,
        INGEST_RATE_LIMIT_MAX: '3',
        INGEST_BATCH_MAX_EVENTS: '5',
        INGEST_BATCH_MAX_BYTES: '2048',
      }),
    );
    await tight.ready();
  });
  afterAll(async () => {
    await tight?.close();
    await tightTopics?.drop();
  });

  const event = { userId: 'l', action: 'click', page: '/' };

  it('answers 413 for too many events or too many bytes in a batch', async () => {
    const many = await tight.inject({
      method: 'POST',
      url: '/v1/batch',
      payload: { events: Array(6).fill(event) },
      remoteAddress: '10.0.0.1',
    });
    expect(many.statusCode).toBe(413);
    expect(many.json()).toMatchObject({
      code: 'TOO_MANY_EVENTS',
      details: [{ path: 'body.events', message: 'has 6 items' }],
    });
    const big = await tight.inject({
      method: 'POST',
      url: '/v1/batch',
      payload: {
        events: [
          { ...event, properties: { pad: 'x'.repeat(1000) } },
          { ...event, properties: { pad: 'y'.repeat(1000) } },
        ],
      },
      remoteAddress: '10.0.0.2',
    });
    expect(big.statusCode).toBe(413);
    expect(big.json()).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      details: [{ path: 'body', message: expect.stringMatching(/limit of \d+ bytes/) }],
    });
  });

  it('answers 429 with Retry-After past the rate limit, per key and IP', async () => {
    const send = (ip: string) =>
      tight.inject({ method: 'POST', url: '/v1/events', payload: event, remoteAddress: ip });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await send('10.0.0.9')).statusCode);
    expect(statuses).toEqual([202, 202, 202, 429]);
    const limited = await send('10.0.0.9');
    expect(limited.json()).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await send('10.0.0.10')).statusCode).toBe(202);
  });
});
