// GET /api/retention on the real database: whole tables equal to the definitions' reference
// (@tracker/db/testing) for filters, time zones and modes; bad parameters are 400s naming the field.
import { retention } from '@tracker/db/testing';
import type { TrackerApp } from '@tracker/http';
import type { InteractionRecord, Role } from '@tracker/schemas';
import { buildInteraction, seededRandom } from '@tracker/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveRecords } from './query.harness.js';

const DAY = 86_400_000;
const rand = seededRandom(19);
const ROLES: Role[] = ['ADMIN', 'USER', 'GUEST'];
// Ten weeks ending now, so that the default range (the last `periods` periods) holds data.
const NOW = Date.now();
const START = NOW - 70 * DAY;
const KEY = 'read-key-0123456789abcdef';

const records: InteractionRecord[] = [];
let served: Awaited<ReturnType<typeof serveRecords>> | undefined;
let app: TrackerApp;

beforeAll(async () => {
  for (let u = 0; u < 50; u += 1) {
    let t = START + Math.floor(rand() * 50 * DAY);
    const role = ROLES[u % 3]!;
    for (let i = 0, n = 1 + Math.floor(rand() * 10); i < n && t < NOW; i += 1) {
      records.push(
        buildInteraction({
          userId: `user-${u}`,
          role,
          action: ['signup', 'page_view', 'purchase'][Math.floor(rand() * 3)]!,
          page: ['/docs/a', '/docs/b', '/pricing'][Math.floor(rand() * 3)]!,
          occurredAt: t,
          receivedAt: t + 10,
        }),
      );
      t += Math.floor(rand() * 12 * DAY);
    }
  }
  served = await serveRecords('query_retention', records, { QUERY_READ_KEYS: KEY });
  app = served.app;
}, 120_000);

afterAll(async () => {
  await served?.close();
});

const get = (query: string, key: string | null = KEY) =>
  app.inject({
    method: 'GET',
    url: `/api/retention${query}`,
    headers: key ? { authorization: `Bearer ${key}` } : {},
  });
const raw = (filter: (r: InteractionRecord) => boolean = () => true) =>
  records.filter(filter).map((r) => ({ ...r, sessionId: r.sessionId ?? null }));

describe('GET /api/retention', () => {
  it('answers the last 8 weeks by default, equal to the reference', async () => {
    const res = await get('');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    const from = Date.parse(body.from);
    const expected = retention(raw(), {
      period: 'week',
      tz: 'UTC',
      periods: 8,
      from,
      to: Date.parse(body.to),
      now: Date.parse(body.to),
    });
    expect(body.rows.map((r: { size: number }) => r.size)).toEqual(expected.rows.map((r) => r.size));
    expect(body.rows.map((r: { cells: unknown }) => r.cells)).toEqual(expected.rows.map((r) => r.cells));
    expect(body.mean).toEqual(expected.mean);
    expect(body.rows.length).toBeGreaterThanOrEqual(5);
    // Each row marks the current week as partial; a week starts on a Monday.
    const today = new Date(Date.parse(body.to));
    const monday =
      Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()) -
      ((today.getUTCDay() + 6) % 7) * DAY;
    for (const row of body.rows)
      expect(Date.parse(`${row.start}T00:00:00Z`) + row.partial * 7 * DAY).toBe(monday);
    expect(new Date(`${body.rows[0].start}T00:00:00Z`).getUTCDay()).toBe(1);
    expect(body.rows[0].shares[0]).toBe(1);
  });

  it('filters start and return actions, role and page, in a time zone, recurring, on or after', async () => {
    const to = new Date(NOW - 3 * DAY).toISOString();
    const from = new Date(NOW - 60 * DAY).toISOString();
    const q = `?from=${from}&to=${to}&tz=Asia/Kolkata&period=day&periods=20&cohort=recurring&mode=onOrAfter&startAction=signup,purchase&returnAction=page_view&role=user&page=/docs/*`;
    const res = await get(q);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    const common = { role: 'USER', page: { value: '/docs/', prefix: true } };
    const expected = retention(raw(), {
      period: 'day',
      tz: 'Asia/Kolkata',
      periods: 20,
      cohort: 'recurring',
      mode: 'onOrAfter',
      from: Date.parse(from),
      to: Date.parse(to),
      now: Date.now(),
      start: { ...common, actions: ['signup', 'purchase'] },
      return: { ...common, actions: ['page_view'] },
    });
    expect(body.tz).toBe('Asia/Kolkata');
    expect(body.rows.map((r: { cells: unknown }) => r.cells)).toEqual(expected.rows.map((r) => r.cells));
    expect(body.mean).toEqual(expected.mean);
    expect(body.rows.length).toBeGreaterThan(0);
  });

  it('one user alone', async () => {
    const res = await get(`?userId=user-4&from=${new Date(START).toISOString()}&periods=12`);
    const body = res.json();
    const expected = retention(
      raw((r) => r.userId === 'user-4'),
      {
        period: 'week',
        tz: 'UTC',
        periods: 12,
        from: START,
        to: Date.parse(body.to),
        now: Date.parse(body.to),
      },
    );
    expect(body.rows.map((r: { cells: unknown }) => r.cells)).toEqual(expected.rows.map((r) => r.cells));
    expect(body.rows.reduce((a: number, r: { size: number }) => a + r.size, 0)).toBe(1);
  });

  it.each([
    ['?period=year', 'querystring.period'],
    ['?periods=0', 'querystring.periods'],
    ['?tz=Mars/Olympus', 'querystring.tz'],
    ['?startAction=a,,b', 'querystring.startAction'],
    ['?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z', 'querystring.to'],
    ['?action=click', 'querystring.action'],
  ])('%s is a 400 naming %s', async (query, path) => {
    const res = await get(query);
    expect(res.statusCode).toBe(400);
    expect(JSON.stringify(res.json().details)).toContain(path);
  });

  it('needs the read key', async () => {
    expect((await get('', null)).statusCode).toBe(401);
  });
});
