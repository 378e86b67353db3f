import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import type { TrackerApp } from '@tracker/http';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from './app.js';
import { TopicReader, testConfig, testKafka, testTopics } from './ingest.harness.js';

let kafka: Kafka;
let topics: Awaited<ReturnType<typeof testTopics>>;
let app: TrackerApp;
let reader: TopicReader;

beforeAll(async () => {
  kafka = testKafka();
  topics = await testTopics(kafka, 'import');
  app = await buildApp(
    testConfig({
      INGEST_TOPIC: topics.interactions,
      INGEST_API_HITS_TOPIC: topics.apiHits,
      INGEST_IMPORT_MAX_BYTES: String(32 * 1024 * 1024),
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

/** A multipart/form-data body with one file part, streamed from `content`. */
function multipart(filename: string, contentType: string, content: Iterable<string> | AsyncIterable<string>) {
  const boundary = `----ingest${randomUUID()}`;
  async function* body() {
    yield `--${boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\nweekly export\r\n`;
    yield `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: ${contentType}\r\n\r\n`;
    for await (const piece of content) yield piece;
    yield `\r\n--${boundary}--\r\n`;
  }
  return {
    payload: Readable.from(body()),
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  };
}

const raw = (contentType: string, payload: string | Readable, target: TrackerApp = app, url = '/v1/import') =>
  target.inject({ method: 'POST', url, headers: { 'content-type': contentType }, payload });

/** Events whose userId names the test, so each test finds its own on the shared test topic. */
const line = (tag: string, i: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ userId: `${tag}-${i}`, action: 'page_view', page: `/p/${i}`, ...extra });

const recordsOf = async (tag: string) =>
  (await reader.records()).filter((r) => r.userId.startsWith(`${tag}-`));

describe('raw body', () => {
  it('imports NDJSON, reporting the bad lines by number', async () => {
    const body = [
      line('nd', 1),
      '',
      line('nd', 2, { role: 'admin' }),
      '{"userId":"nd-x"}',
      'not json',
      line('nd', 3),
    ].join('\n');
    const res = await raw('application/x-ndjson', body);
    expect(res.statusCode).toBe(207);
    expect(res.json()).toEqual({
      format: 'ndjson',
      items: 5,
      accepted: 3,
      rejectedCount: 2,
      rejected: [
        {
          line: 4,
          errors: [
            { path: 'action', message: 'is required' },
            { path: 'page', message: 'is required' },
          ],
        },
        { line: 5, errors: [{ path: '', message: expect.stringMatching(/^is not valid JSON/) }] },
      ],
      rejectedTruncated: false,
    });
    await reader.waitForCount(3);
    const records = await recordsOf('nd');
    expect(records.map((r) => r.userId).sort()).toEqual(['nd-1', 'nd-2', 'nd-3']);
    expect(records.find((r) => r.userId === 'nd-2')?.role).toBe('ADMIN');
  });

  it('imports a JSON array', async () => {
    const body = `[\n${[1, 2, 3, 4].map((i) => line('ja', i)).join(',\n')}\n]`;
    const res = await raw('application/json', body);
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ format: 'json', items: 4, accepted: 4, rejectedCount: 0 });
    await expect.poll(async () => (await recordsOf('ja')).length, { timeout: 20_000 }).toBe(4);
  });

  it('takes NDJSON sent as application/json', async () => {
    const res = await raw('application/json', `${line('nj', 1)}\n${line('nj', 2)}\n`);
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ format: 'ndjson', accepted: 2 });
  });

  it('imports CSV with a header row and properties.<key> columns', async () => {
    const csv =
      'userId,action,page,role,properties.plan,timestamp\ncsv-1,click,/a,user,pro,2026-01-02T03:04:05Z\ncsv-2,Form_Submit,https://x.example/b?c=1&utm_medium=m,,,\n';
    const res = await raw('text/csv; charset=utf-8', csv);
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ format: 'csv', items: 2, accepted: 2 });
    await expect.poll(async () => (await recordsOf('csv')).length, { timeout: 20_000 }).toBe(2);
    const [one, two] = (await recordsOf('csv')).sort((a, b) => a.userId.localeCompare(b.userId));
    expect(one).toMatchObject({
      role: 'USER',
      properties: { plan: 'pro' },
      occurredAt: Date.parse('2026-01-02T03:04:05Z'),
    });
    expect(two).toMatchObject({
      role: 'GUEST',
      action: 'form_submit',
      page: '/b?utm_medium=m',
      properties: {},
    });
  });

  it('imports what /api/export writes, NDJSON and CSV, keeping eventIds, times, roles and sessions', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    // Lines exactly as GET /api/export writes them (apps/query export.route.ts).
    const ndjson = `${JSON.stringify({
      eventId: a,
      userId: 'exp-1',
      role: 'ADMIN',
      action: 'click',
      page: '/x?utm_source=y',
      occurredAt: '2026-10-01T08:00:00.250Z',
      receivedAt: '2026-10-01T08:00:01.000Z',
      properties: { n: 3 },
      sessionId: null,
    })}\n`;
    const csv =
      'event_id,occurred_at,received_at,user_id,role,action,page,session_id,properties\r\n' +
      `${b},2026-10-02T09:00:00.500Z,2026-10-02T09:00:02.000Z,exp-2,USER,page_view,/b,'+s-9,"{""plan"":""pro""}"\r\n`;
    expect((await raw('application/x-ndjson', ndjson)).json()).toMatchObject({ accepted: 1, rejected: [] });
    expect((await raw('text/csv', csv)).json()).toMatchObject({ accepted: 1, rejected: [] });
    await expect.poll(async () => (await recordsOf('exp')).length, { timeout: 20_000 }).toBe(2);
    const [one, two] = (await recordsOf('exp')).sort((x, y) => x.userId.localeCompare(y.userId));
    expect(one).toMatchObject({
      eventId: a,
      role: 'ADMIN',
      page: '/x?utm_source=y',
      occurredAt: Date.parse('2026-10-01T08:00:00.250Z'),
      properties: { n: 3 },
      sessionId: null,
    });
    expect(two).toMatchObject({
      eventId: b,
      role: 'USER',
      action: 'page_view',
      page: '/b',
      occurredAt: Date.parse('2026-10-02T09:00:00.500Z'),
      sessionId: '+s-9', // the export's formula protection ("'+s-9") undone
      properties: { plan: 'pro' },
    });
  });

  it('lists at most INGEST_IMPORT_MAX_REJECTIONS refused lines and counts all of them', async () => {
    const lines = [line('cap', 0), ...Array.from({ length: 150 }, (_, i) => `{"userId":"cap-bad-${i}"}`)];
    const res = await raw('application/x-ndjson', lines.join('\n'));
    expect(res.statusCode).toBe(207);
    const body = res.json();
    expect(body).toMatchObject({ items: 151, accepted: 1, rejectedCount: 150, rejectedTruncated: true });
    expect(body.rejected).toHaveLength(100);
    expect(body.rejected[0].line).toBe(2);
  });

  it('answers 400 when no item is valid, with line-numbered details', async () => {
    const res = await raw('application/x-ndjson', '{"userId":"z"}\n[1]\n');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: [
        { path: 'line.1.action', message: 'is required' },
        { path: 'line.1.page', message: 'is required' },
        { path: 'line.2', message: 'must be object' },
      ],
    });
  });

  it('answers 400 for an empty file, a bad CSV header, and reports a broken JSON array where it breaks', async () => {
    expect((await raw('application/x-ndjson', '\n\n')).json()).toMatchObject({
      status: 400,
      code: 'EMPTY_IMPORT',
    });
    const header = await raw('text/csv', 'userId,action,colour\nu,click,red\n');
    expect(header.statusCode).toBe(400);
    expect(header.json()).toMatchObject({
      code: 'INVALID_CSV_HEADER',
      details: [{ path: 'header.colour' }, { path: 'header.page' }],
    });
    const broken = await raw('application/json', `[${line('br', 1)},\n${line('br', 2)}\n${line('br', 3)}]`);
    expect(broken.statusCode).toBe(207);
    expect(broken.json()).toMatchObject({
      accepted: 2,
      rejected: [
        {
          line: 3,
          errors: [
            { message: expect.stringContaining('expected , or ]; the rest of the file was not read') },
          ],
        },
      ],
    });
  });

  it('answers 415 for a format it does not read, naming the types it reads', async () => {
    for (const type of ['application/xml', 'text/plain', 'application/octet-stream']) {
      const res = await raw(type, '<events/>');
      expect(res.statusCode, type).toBe(415);
      expect(res.json(), type).toMatchObject({
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
        details: [{ path: 'headers.content-type', message: expect.stringContaining('text/csv') }],
      });
    }
  });

  it('reads a gzip-compressed file', async () => {
    const body = gzipSync(Buffer.from(`${line('gz-imp', 1)}\n${line('gz-imp', 2)}\n`));
    const res = await app.inject({
      method: 'POST',
      url: '/v1/import',
      headers: { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' },
      payload: body,
    });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ format: 'ndjson', items: 2, accepted: 2 });
  });

  it('reads any content type as ?format= says', async () => {
    const body = `${line('fmt-any', 1)}\n${line('fmt-any', 2)}\n`;
    for (const type of ['text/plain', 'application/octet-stream']) {
      const res = await raw(type, body, app, '/v1/import?format=ndjson');
      expect(res.statusCode, type).toBe(202);
      expect(res.json(), type).toMatchObject({ format: 'ndjson', accepted: 2 });
    }
  });
});

describe('multipart upload', () => {
  it.each([
    ['events.ndjson', 'application/octet-stream', `${line('mp-nd', 1)}\n${line('mp-nd', 2)}\n`, 'ndjson'],
    ['events.json', 'application/json', `[${line('mp-js', 1)},${line('mp-js', 2)}]`, 'json'],
    ['events.csv', 'text/csv', 'userId,action,page\nmp-csv-1,click,/\nmp-csv-2,click,/\n', 'csv'],
  ])('imports %s (%s)', async (filename, contentType, content, format) => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/import',
      ...multipart(filename, contentType, [content]),
    });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ format, items: 2, accepted: 2 });
  });

  it('answers 400, never 500, for a multipart body it cannot read: no boundary, or cut off mid-file', async () => {
    const noBoundary = await raw('multipart/form-data', 'abc');
    expect(noBoundary.statusCode).toBe(400);
    expect(noBoundary.json()).toMatchObject({ code: 'INVALID_MULTIPART', details: [{ path: 'body' }] });
    const boundary = '----cut';
    const cut = await app.inject({
      method: 'POST',
      url: '/v1/import',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="e.ndjson"\r\n\r\n${line('mp-cut', 1)}\n${line('mp-cut', 2)}\n`,
    });
    expect(cut.statusCode).toBe(400);
    expect(cut.json()).toMatchObject({ code: 'INVALID_MULTIPART' });
    expect(cut.json().message).toMatch(
      /the multipart body cannot be read: .*; (no event was accepted|\d+ events up to line \d+ were accepted)/,
    );
  });

  it('answers 415 at once for a compressed multipart body, which it cannot read (it hung before)', async () => {
    const { payload, headers } = multipart('e.ndjson', 'application/x-ndjson', [`${line('mp-gz', 1)}\n`]);
    const chunks: Buffer[] = [];
    for await (const chunk of payload) chunks.push(Buffer.from(chunk as string));
    for (const [encoding, compress] of [
      ['gzip', gzipSync],
      ['deflate', deflateSync],
      ['br', brotliCompressSync],
    ] as const) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/import',
        headers: { ...headers, 'content-encoding': encoding },
        payload: compress(Buffer.concat(chunks)),
      });
      expect(res.statusCode, encoding).toBe(415);
      expect(res.json()).toMatchObject({
        code: 'UNSUPPORTED_CONTENT_ENCODING',
        details: [{ path: 'headers.content-encoding' }],
      });
    }
    expect(await recordsOf('mp-gz')).toEqual([]);
  });

  it('answers 400 for a second file part instead of dropping it silently', async () => {
    const boundary = '----two';
    const part = (name: string, content: string) =>
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: application/x-ndjson\r\n\r\n${content}\r\n`;
    const res = await app.inject({
      method: 'POST',
      url: '/v1/import',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: `${part('a.ndjson', line('mp-two-a', 1))}${part('b.ndjson', line('mp-two-b', 1))}--${boundary}--\r\n`,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      code: 'TOO_MANY_FILES',
      details: [{ path: 'body', message: 'has more than one file part' }],
    });
    expect(res.json().message).toContain('1 of its events were accepted');
  });

  it('answers 415 for a file it cannot tell the format of, unless ?format= says', async () => {
    const content = `${line('mp-q', 1)}\n`;
    const unknown = await app.inject({
      method: 'POST',
      url: '/v1/import',
      ...multipart('events.txt', 'text/plain', [content]),
    });
    expect(unknown.statusCode).toBe(415);
    const told = await app.inject({
      method: 'POST',
      url: '/v1/import?format=ndjson',
      ...multipart('events.txt', 'text/plain', [content]),
    });
    expect(told.statusCode).toBe(202);
  });

  it('streams a 50,000-line file through in chunks: every event accepted and on the topic', async () => {
    const total = 50_000;
    function* lines() {
      let batch = '';
      for (let i = 0; i < total; i++) {
        batch += `${line('big', i, { properties: { n: i, src: 'bulk' } })}\n`;
        if (batch.length > 64 * 1024) {
          yield batch;
          batch = '';
        }
      }
      yield batch;
    }
    const before = reader.messages.length;
    const res = await app.inject({
      method: 'POST',
      url: '/v1/import',
      ...multipart('big.ndjson', 'application/x-ndjson', lines()),
    });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({
      format: 'ndjson',
      items: total,
      accepted: total,
      rejectedCount: 0,
      rejected: [],
      rejectedTruncated: false,
    });
    await reader.waitForCount(before + total, 60_000);
    const users = new Set(reader.messages.map((m) => m.key).filter((key) => key.startsWith('big-')));
    expect(users.size).toBe(total);
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    const acceptedImport = /ingest_events_accepted_total\{[^}]*route="\/v1\/import"[^}]*\} (\d+)/.exec(
      metrics,
    );
    expect(Number(acceptedImport?.[1])).toBeGreaterThanOrEqual(total);
  });
});

describe('size limit', () => {
  let small: TrackerApp;
  let smallTopics: Awaited<ReturnType<typeof testTopics>>;
  beforeAll(async () => {
    smallTopics = await testTopics(kafka, 'import_small', 1);
    small = await buildApp(
      testConfig({
        INGEST_TOPIC: smallTopics.interactions,
        INGEST_API_HITS_TOPIC: smallTopics.apiHits,
        INGEST_IMPORT_MAX_BYTES: '4096',
        INGEST_IMPORT_CHUNK_EVENTS: '10',
      }),
    );
    await small.ready();
  });
  afterAll(async () => {
    await small?.close();
    await smallTopics?.drop();
  });

  const lines = (n: number) => Array.from({ length: n }, (_, i) => line('lim', i)).join('\n');

  it('answers 413 before reading when Content-Length is over the limit', async () => {
    const res = await raw('application/x-ndjson', lines(100), small);
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
  });

  it('answers 413 for a streamed body that grows past the limit, saying what was accepted', async () => {
    const res = await raw('application/x-ndjson', Readable.from([lines(100)]), small);
    expect(res.statusCode).toBe(413);
    expect(res.json().message).toMatch(
      /larger than 4096 bytes.*(no event was accepted|events up to line \d+ were accepted)/,
    );
  });

  it('answers 413 for a multipart file over the limit', async () => {
    const res = await small.inject({
      method: 'POST',
      url: '/v1/import',
      ...multipart('x.ndjson', 'application/x-ndjson', [lines(100)]),
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().code).toBe('PAYLOAD_TOO_LARGE');
  });
});
