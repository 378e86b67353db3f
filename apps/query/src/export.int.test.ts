import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TrackerApp } from '@tracker/http';
import type { InteractionRecord } from '@tracker/schemas';
import { buildInteraction, createTestDatabase, type TestDatabase, waitFor } from '@tracker/test-utils';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from './app.js';
import { apiItem, insertBulkInteractions, storeRecords, testConfig } from './query.harness.js';

let db: TestDatabase;
let app: TrackerApp;
const T = Date.parse('2026-05-01T08:00:00.000Z');

const tricky: InteractionRecord[] = [
  buildInteraction({ userId: 'plain', page: '/a', occurredAt: T, properties: {} }),
  buildInteraction({
    userId: 'comma,user',
    page: '/b,c',
    occurredAt: T - 1,
    properties: { note: 'say "hi", ok' },
  }),
  buildInteraction({ userId: 'quote"user', page: '/q"uote', occurredAt: T - 2, sessionId: 's"1' }),
  buildInteraction({
    userId: 'multi\nline\r\nuser',
    page: '/line\nbreak',
    occurredAt: T - 3,
    properties: { text: 'a\nb' },
  }),
  buildInteraction({
    userId: 'ünïcødé-用户-🚀',
    page: '/café/日本',
    occurredAt: T - 4,
    properties: { emoji: '👍🏽', rtl: 'שלום' },
  }),
  buildInteraction({
    userId: '=HYPERLINK("http://x")',
    action: '-1',
    page: '@SUM(A1)',
    occurredAt: T - 5,
    sessionId: '+cmd',
  }),
  buildInteraction({ userId: '\tTAB', action: 'x', page: '/p', occurredAt: T - 6 }),
  buildInteraction({
    userId: 'sep\u2028user',
    page: '/u2028',
    occurredAt: T - 7,
    properties: { n: 1.5, b: false },
  }),
  buildInteraction({ userId: 'lone\rcr', page: '/p', occurredAt: T - 8 }),
];

beforeAll(async () => {
  db = await createTestDatabase('query_export');
  await storeRecords(db.pool, tricky);
  app = await buildApp(testConfig(db.url, { QUERY_EXPORT_MAX_CONCURRENT: '1' }));
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await db?.drop();
});

describe('GET /api/export', () => {
  it('writes RFC 4180 CSV: header, CRLF, quoting, unicode; formula cells neutralised', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/export?format=csv' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(
      /^attachment; filename="interactions-\d{8}T\d{6}Z\.csv"$/,
    );
    const text = res.body;
    expect(
      text.startsWith('event_id,occurred_at,received_at,user_id,role,action,page,session_id,properties\r\n'),
    ).toBe(true);
    expect(text.endsWith('\r\n')).toBe(true);
    const rows: string[][] = parse(text, { record_delimiter: '\r\n', relax_quotes: false });
    expect(rows).toHaveLength(tricky.length + 1);
    const body = rows.slice(1);
    expect(body.map((r) => r[0])).toEqual(tricky.map((r) => r.eventId));
    const protect = (v: string) => (/^[=+\-@\t\r]/.test(v) ? `'${v}` : v);
    for (const [i, record] of tricky.entries()) {
      const row = body[i]!;
      expect(row).toEqual([
        record.eventId,
        new Date(record.occurredAt).toISOString(),
        new Date(record.receivedAt).toISOString(),
        protect(record.userId),
        record.role,
        protect(record.action),
        protect(record.page),
        record.sessionId === null ? '' : protect(record.sessionId),
        expect.any(String),
      ]);
      expect(JSON.parse(row[8]!)).toEqual(record.properties);
    }
    const formula = body[5]!;
    expect(formula[3]).toBe(`'=HYPERLINK("http://x")`);
    expect(formula[5]).toBe(`'-1`);
    expect(formula[6]).toBe(`'@SUM(A1)`);
    expect(formula[7]).toBe(`'+cmd`);
    expect(body[6]![3]).toBe(`'\tTAB`);
    // A lone LF or CR is quoted too (csv-stringify quotes only the whole CRLF by default): readers
    // that take either as a line break (Python's csv, spreadsheets) would split the record.
    expect(text).toContain('"/line\nbreak"');
    expect(text).toContain('"lone\rcr"');
    // Outside quoted fields, CRLF ends records and no other CR or LF appears.
    const unquoted = text.replace(/"(?:[^"]|"")*"/g, '""');
    for (const line of unquoted.split('\r\n')) expect(line, JSON.stringify(line)).not.toMatch(/[\r\n]/);
  });

  it('can start CSV with a BOM for spreadsheets', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/export?format=csv&bom=true&limit=1' });
    expect(res.rawPayload.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
  });

  it('writes NDJSON: one API item per line, exactly the stored values', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/export?format=ndjson' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(/filename="interactions-.*\.ndjson"/);
    const lines = res.body.split('\n');
    expect(lines.at(-1)).toBe('');
    const items = lines.slice(0, -1).map((l) => JSON.parse(l));
    expect(items).toEqual(tricky.map(apiItem));
  });

  it('applies the filters and the row cap', async () => {
    const filtered = await app.inject({
      method: 'GET',
      url: `/api/export?format=ndjson&page=${encodeURIComponent('/line\nbreak')}`,
    });
    expect(
      filtered.body
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).userId),
    ).toEqual(['multi\nline\r\nuser']);
    const capped = await app.inject({ method: 'GET', url: '/api/export?format=ndjson&limit=3' });
    expect(capped.body.trim().split('\n')).toHaveLength(3);
    const none = await app.inject({ method: 'GET', url: '/api/export?format=csv&userId=nobody' });
    expect(none.body).toBe(
      'event_id,occurred_at,received_at,user_id,role,action,page,session_id,properties\r\n',
    );
  });

  it('refuses bad parameters before streaming anything', async () => {
    for (const [qs, field] of [
      ['format=xlsx', 'format'],
      ['limit=0', 'limit'],
      ['from=soon', 'from'],
      ['format=csv&unknown=1', 'unknown'],
    ] as const) {
      const res = await app.inject({ method: 'GET', url: `/api/export?${qs}` });
      expect(res.statusCode).toBe(400);
      expect(res.json().details.map((d: { path: string }) => d.path)).toContain(`querystring.${field}`);
    }
  });
});

describe('GET /api/export of a large table', () => {
  const ROWS = 200_000;

  beforeAll(async () => {
    await insertBulkInteractions(db.pool, ROWS);
    // 2 shared cores: bulk loading and streaming 200k rows can take a while; no timing is asserted.
  }, 300_000);

  const exportedRows = async () => {
    const metric = await app.metrics.getSingleMetric('query_export_rows_total')!.get();
    return metric.values.reduce((sum, v) => sum + v.value, 0);
  };

  it('streams every row, reading from the database only as fast as the client reads', async () => {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;
    const before = await exportedRows();
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http
        .get(`http://127.0.0.1:${port}/api/export?format=csv&page=${encodeURIComponent('/bulk/*')}`, resolve)
        .on('error', reject);
    });
    expect(res.statusCode).toBe(200);
    res.pause();
    // While the client reads nothing, the server stops once the socket buffers are full.
    let last = -1;
    await waitFor(
      async () => {
        const now = await exportedRows();
        const settled = now === last && now > before;
        last = now;
        return settled;
      },
      { intervalMs: 500, timeoutMs: 30_000, what: 'the export to stall on backpressure' },
    );
    const stalledAt = last - before;
    expect(stalledAt).toBeGreaterThan(0);
    expect(stalledAt).toBeLessThan(ROWS / 2);
    // The download holds a database connection: beyond QUERY_EXPORT_MAX_CONCURRENT (1 here) others wait.
    const busy = await app.inject({ method: 'GET', url: '/api/export?format=ndjson&limit=1' });
    expect(busy.statusCode).toBe(503);
    expect(busy.json().code).toBe('TOO_MANY_EXPORTS');
    expect(busy.headers['retry-after']).toBe('10');

    // Reading on delivers the rest, counted without keeping it.
    let lines = 0;
    let tail = '';
    res.setEncoding('utf8');
    res.resume();
    for await (const chunk of res as AsyncIterable<string>) {
      const text = tail + chunk;
      const parts = text.split('\r\n');
      tail = parts.pop()!;
      lines += parts.length;
    }
    expect(tail).toBe('');
    expect(lines).toBe(ROWS + 1);
    expect((await exportedRows()) - before).toBe(ROWS);
    await waitFor(
      async () =>
        (await app.inject({ method: 'GET', url: '/api/export?format=ndjson&limit=1' })).statusCode === 200,
      { what: 'the export slot to be free again', timeoutMs: 5000 },
    );
  }, 300_000);
});
