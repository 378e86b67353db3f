// POST /api/funnels, POST /api/funnels/units and the saved funnels on the real database: results
// equal to the definitions' reference (@tracker/db/testing) for each option; 400s name the field.
import { ownConnections, type pg } from '@tracker/db';
import { type FunnelDef, funnel, type RawEvent, type StepDef } from '@tracker/db/testing';
import type { TrackerApp } from '@tracker/http';
import type { InteractionRecord, Role } from '@tracker/schemas';
import { buildInteraction, seededRandom } from '@tracker/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveRecords } from './query.harness.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const NOW = Date.now();
const START = NOW - 20 * DAY;
const KEY = 'read-key-0123456789abcdef';
const ROLES: Role[] = ['ADMIN', 'USER', 'GUEST'];
const rand = seededRandom(26);

const records: InteractionRecord[] = [];
let served: Awaited<ReturnType<typeof serveRecords>> | undefined;
let app: TrackerApp;

beforeAll(async () => {
  for (let u = 0; u < 80; u += 1) {
    let t = START + Math.floor(rand() * 15 * DAY);
    let role = ROLES[u % 3]!;
    for (let i = 0, n = 2 + Math.floor(rand() * 12); i < n; i += 1) {
      if (rand() < 0.1) role = ROLES[Math.floor(rand() * 3)]!;
      records.push(
        buildInteraction({
          userId: `user-${String(u).padStart(2, '0')}`,
          role,
          action: ['signup', 'page_view', 'purchase', 'page_view', 'cancel'][Math.floor(rand() * 5)]!,
          page: ['/docs/a', '/pricing', '/checkout'][Math.floor(rand() * 3)]!,
          occurredAt: t,
          receivedAt: t + 10,
        }),
      );
      t += [1_000, 5 * MIN, 40 * MIN, 3 * HOUR, 2 * DAY][Math.floor(rand() * 5)]!;
    }
  }
  served = await serveRecords('query_funnels', records, {
    QUERY_READ_KEYS: KEY,
    QUERY_REPORT_PARALLEL_WORKERS: '3',
  });
  app = served.app;
}, 120_000);

afterAll(async () => {
  await served?.close();
});

const call = (
  method: 'POST' | 'GET' | 'PUT' | 'DELETE',
  url: string,
  payload?: unknown,
  key: string | null = KEY,
) =>
  app.inject({
    method,
    url,
    headers: key ? { authorization: `Bearer ${key}` } : {},
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
const raw = (): RawEvent[] => records.map((r) => ({ ...r, sessionId: r.sessionId ?? null }));

const STEPS = [{ actions: ['signup'] }, { actions: ['page_view'] }, { actions: ['purchase'] }];
const refSteps = (steps: { actions: string[]; page?: string; role?: string }[]): StepDef[] =>
  steps.map((s) => ({
    actions: s.actions,
    ...(s.role ? { role: s.role } : {}),
    ...(s.page
      ? {
          page: s.page.endsWith('*')
            ? { value: s.page.slice(0, -1), prefix: true }
            : { value: s.page, prefix: false },
        }
      : {}),
  }));

/** The API's answer in the reference's terms. */
function expectEqual(body: Record<string, unknown>, expected: ReturnType<typeof funnel>) {
  const steps = body['steps'] as Record<string, unknown>[];
  expect(steps.map(({ step: _s, label: _l, ...rest }) => rest)).toEqual(
    expected.steps.map(({ converted: _c, dropped: _d, ...rest }) => rest),
  );
  expect(body['byRole']).toEqual(
    [...expected.byRole]
      .sort(([x, a], [y, b]) => b[0]! - a[0]! || (x < y ? -1 : 1))
      .map(([role, counts]) => ({ role, counts })),
  );
  expect(body['byEntryDay']).toEqual(
    [...expected.byEntryDay]
      .sort(([a], [b]) => a - b)
      .map(([day, counts]) => ({ day: new Date(day * DAY).toISOString().slice(0, 10), counts })),
  );
}

describe('POST /api/funnels', () => {
  it('answers the last 30 days by default, equal to the reference', async () => {
    const res = await call('POST', '/api/funnels', { steps: STEPS });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(Date.parse(body.to) - Date.parse(body.from)).toBe(30 * DAY);
    expect(body.definition).toEqual({
      steps: STEPS,
      order: 'sequential',
      windowSeconds: 14 * 86_400,
      unit: 'users',
      entry: 'first',
    });
    expect(body.steps.map((s: { label: string }) => s.label)).toEqual(['signup', 'page_view', 'purchase']);
    const expected = funnel(raw(), {
      steps: refSteps(STEPS),
      from: Date.parse(body.from),
      to: Date.parse(body.to),
    });
    expectEqual(body, expected);
    expect(expected.steps[2]!.count).toBeGreaterThan(0);
  });

  const from = new Date(START + 2 * DAY).toISOString();
  const to = new Date(START + 12 * DAY).toISOString();
  const CASES: [string, Record<string, unknown>, Partial<FunnelDef>][] = [
    ['strict order, best attempt', { order: 'strict', entry: 'best' }, { order: 'strict', entry: 'best' }],
    ['any order', { order: 'any' }, { order: 'any' }],
    ['sessions as the unit', { unit: 'sessions' }, { unit: 'sessions' }],
    [
      'a one-hour window and an exclusion',
      { windowSeconds: 3600, exclusion: { actions: ['CANCEL'] } },
      { windowMs: HOUR, exclusion: { actions: ['cancel'] } },
    ],
    ['entry days in Asia/Kolkata', { tz: 'Asia/Kolkata' }, { tz: 'Asia/Kolkata' }],
  ];
  it.each(CASES)('%s: equal to the reference', async (_name, extra, def) => {
    const res = await call('POST', '/api/funnels', { steps: STEPS, from, to, ...extra });
    expect(res.statusCode).toBe(200);
    const expected = funnel(raw(), {
      steps: refSteps(STEPS),
      from: Date.parse(from),
      to: Date.parse(to),
      ...def,
    });
    expectEqual(res.json(), expected);
    expect(expected.steps[1]!.count).toBeGreaterThan(0);
  });

  it('role and page hold for every step; a step may have its own page, role and any-of actions', async () => {
    const steps = [
      { actions: ['signup', 'page_view'], page: '/docs/*' },
      { actions: ['purchase'], role: 'user' },
    ];
    const res = await call('POST', '/api/funnels', {
      steps,
      from,
      to,
      role: 'user',
      windowSeconds: 7 * 86_400,
    });
    expect(res.statusCode).toBe(200);
    const expected = funnel(raw(), {
      steps: refSteps(steps.map((s) => ({ ...s, role: 'USER' }))),
      from: Date.parse(from),
      to: Date.parse(to),
      windowMs: 7 * DAY,
    });
    expectEqual(res.json(), expected);
    expect(res.json().steps.map((x: { label: string }) => x.label)).toEqual([
      'signup or page_view on /docs/*',
      'purchase as USER',
    ]);
  });

  it.each([
    [{ steps: [{ actions: ['a'] }] }, 'body.steps'],
    [{ steps: Array.from({ length: 11 }, () => ({ actions: ['a'] })) }, 'body.steps'],
    [{ steps: STEPS, windowSeconds: 0 }, 'body.windowSeconds'],
    [{ steps: STEPS, windowSeconds: 90 * 86_400 + 1 }, 'body.windowSeconds'],
    [{ steps: STEPS, order: 'random' }, 'body.order'],
    [{ steps: [{ actions: [] }, { actions: ['b'] }] }, 'body.steps.0.actions'],
    [{ steps: [{ page: '/x' }, { actions: ['b'] }] }, 'body.steps.0'],
    [{ steps: STEPS, colour: 'red' }, 'body'],
    [{ steps: STEPS, tz: 'Mars/Olympus' }, 'body.tz'],
    [{ steps: STEPS, from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z' }, 'body.to'],
    [{ steps: STEPS, role: 'owner' }, 'body.role'],
    [{}, 'body.steps'],
  ])('%j is a 400 naming %s', async (payload, path) => {
    const res = await call('POST', '/api/funnels', payload);
    expect(res.statusCode).toBe(400);
    expect(JSON.stringify(res.json().details)).toContain(path);
  });

  it('computes on a connection with QUERY_REPORT_PARALLEL_WORKERS parallel workers', async () => {
    // What the funnel's statement sees, asked on its own connection just before it runs.
    const pool = ownConnections(app.db);
    const connect = pool.connect.bind(pool) as (cb?: never) => Promise<pg.PoolClient>;
    const seen: string[] = [];
    const spy = (client: pg.PoolClient) => {
      const { query, release } = client;
      const run = query.bind(client) as (...args: unknown[]) => Promise<pg.QueryResult>;
      client.query = (async (text: unknown, ...rest: unknown[]) => {
        if (typeof text === 'string' && text.trimStart().startsWith('WITH'))
          seen.push(
            (await run('SHOW max_parallel_workers_per_gather')).rows[0].max_parallel_workers_per_gather,
          );
        return run(text, ...rest);
      }) as typeof client.query;
      client.release = (err?: Error | boolean) => {
        client.query = query;
        client.release = release;
        return release.call(client, err);
      };
      return client;
    };
    // Connections taken as promises (withTransaction's); pool.query's, taken with a callback, pass.
    pool.connect = ((cb?: never) => (cb ? connect(cb) : connect().then(spy))) as typeof pool.connect;
    try {
      const res = await call('POST', '/api/funnels', {
        steps: [{ actions: ['signup'] }, { actions: ['purchase'] }],
      });
      expect(res.statusCode).toBe(200);
      expect(seen).toEqual(['3']);
    } finally {
      pool.connect = connect as typeof pool.connect;
    }
  });

  it('needs the read key', async () => {
    expect((await call('POST', '/api/funnels', { steps: STEPS }, null)).statusCode).toBe(401);
  });
});

describe('POST /api/funnels/units', () => {
  const body = { steps: STEPS, from: new Date(START).toISOString(), to: new Date(NOW).toISOString() };
  const expected = () => funnel(raw(), { steps: refSteps(STEPS), from: START, to: NOW });

  it('pages the units that converted at a step by cursor, equal to the reference', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await call('POST', '/api/funnels/units', {
        ...body,
        step: 2,
        status: 'converted',
        limit: 7,
        ...(cursor ? { cursor } : {}),
      });
      expect(res.statusCode).toBe(200);
      const page = res.json();
      expect(page.units.length).toBeLessThanOrEqual(7);
      seen.push(...page.units.map((u: { unit: string }) => u.unit));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor && pages < 50);
    expect(seen).toEqual(expected().steps[1]!.converted);
    expect(pages).toBeGreaterThan(1);
  });

  it('lists who dropped before a step, and all of them as CSV', async () => {
    const json = await call('POST', '/api/funnels/units', {
      ...body,
      step: 3,
      status: 'dropped',
      limit: 1000,
    });
    const dropped = json.json().units as { unit: string; stepsReached: number }[];
    expect(dropped.map((u) => u.unit)).toEqual(expected().steps[2]!.dropped);
    expect(dropped.every((u) => u.stepsReached === 2)).toBe(true);
    const csv = await call('POST', '/api/funnels/units', {
      ...body,
      step: 3,
      status: 'dropped',
      format: 'csv',
    });
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toContain('text/csv');
    expect(csv.headers['content-disposition']).toContain('funnel-step-3-dropped.csv');
    const lines = csv.body.trimEnd().split('\r\n');
    expect(lines[0]).toBe('unit,userId,entryAt,lastStepAt,stepsReached');
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(expected().steps[2]!.dropped);
  });

  it('refuses a step past the funnel', async () => {
    const res = await call('POST', '/api/funnels/units', { ...body, step: 4, status: 'converted' });
    expect(res.statusCode).toBe(400);
    expect(JSON.stringify(res.json().details)).toContain('body.step');
  });
});

describe('saved funnels', () => {
  it('are saved, listed, run by name with the range given, replaced and deleted', async () => {
    const put = await call('PUT', '/api/funnels/saved/Signup to purchase', { steps: STEPS, order: 'any' });
    expect(put.statusCode).toBe(200);
    expect(put.json().definition.order).toBe('any');
    const list = await call('GET', '/api/funnels/saved');
    expect(list.json().funnels.map((f: { name: string }) => f.name)).toEqual(['Signup to purchase']);
    const from = new Date(START + DAY).toISOString();
    const run = await call('POST', '/api/funnels', {
      saved: 'Signup to purchase',
      from,
      to: new Date(NOW).toISOString(),
    });
    expect(run.statusCode).toBe(200);
    expectEqual(
      run.json(),
      funnel(raw(), { steps: refSteps(STEPS), order: 'any', from: Date.parse(from), to: NOW }),
    );
    // The body's fields win over the saved ones.
    const strict = await call('POST', '/api/funnels', { saved: 'Signup to purchase', order: 'strict' });
    expect(strict.json().definition.order).toBe('strict');
    await call('PUT', '/api/funnels/saved/Signup to purchase', { steps: STEPS.slice(0, 2) });
    expect((await call('GET', '/api/funnels/saved/Signup to purchase')).json().definition.steps).toHaveLength(
      2,
    );
    expect((await call('DELETE', '/api/funnels/saved/Signup to purchase')).statusCode).toBe(204);
    expect((await call('GET', '/api/funnels/saved/Signup to purchase')).statusCode).toBe(404);
    expect((await call('DELETE', '/api/funnels/saved/Signup to purchase')).statusCode).toBe(404);
    const missing = await call('POST', '/api/funnels', { saved: 'Signup to purchase' });
    expect(missing.statusCode).toBe(404);
  });

  it('refuse a bad name or definition', async () => {
    expect((await call('PUT', '/api/funnels/saved/a%2Fb', { steps: STEPS })).statusCode).toBe(400);
    const bad = await call('PUT', '/api/funnels/saved/ok', { steps: STEPS.slice(0, 1) });
    expect(bad.statusCode).toBe(400);
    expect(JSON.stringify(bad.json().details)).toContain('body.steps');
    expect((await call('GET', '/api/funnels/saved', undefined, null)).statusCode).toBe(401);
  });
});
