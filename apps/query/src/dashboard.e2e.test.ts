import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { recordLag, type SessionStatsResult, type Stats } from '@tracker/db';
import { createTestDatabase, type TestDatabase, waitFor } from '@tracker/test-utils';
import type { LaunchedChromium } from '@tracker/test-utils/chromium';
import { parse } from 'csv-parse/sync';
import type { BrowserContext, Page } from 'playwright-core';
import type { Static } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ARTIFACTS_DIR,
  apiGet,
  type BrowserDocument,
  type BrowserElement,
  buildDashboard,
  DESKTOP,
  expectNoSidewaysScrollAtPhoneWidth,
  INJECTION,
  interactionRow,
  launchDashboardChromium,
  openPage,
  pageErrors,
  type RunningQuery,
  readyState,
  reportDays,
  screenshot,
  screenshotsLightDark,
  seedDashboard,
  seedReports,
  settle,
  startQuery,
  store,
  TIME_ZONE,
  waitForStream,
  waitForUrl,
} from './dashboard.harness.js';
import { startPipeline } from './dashboard-stack.js';
import type { RetentionSchema } from './routes/retention.route.js';

// page.evaluate callbacks run in Chromium, but this program has no DOM lib (the harness's types).
declare const document: BrowserDocument;
declare const window: {
  innerWidth: number;
  scrollY: number;
  scrollTo(x: number, y: number): void;
  __sameDocument?: boolean;
  __pwned?: number;
};
declare const localStorage: { getItem(key: string): string | null; removeItem(key: string): void };
declare function getComputedStyle(element: BrowserElement): { backgroundColor: string; outlineStyle: string };

const CARD_KEYS = [
  'totalActions',
  'totalUsers',
  'usersWithActions',
  'actionsPerUser',
  'gini',
  'apiHits',
] as const;
/** Bound for "shows up live" (the target is 5 s; this is a timeout, not a speed assertion). */
const LIVE_TIMEOUT_MS = 15_000;

interface InteractionPage {
  items: { eventId: string; userId: string; role: string; action: string; page: string }[];
  nextCursor: string | null;
  prevCursor: string | null;
  total?: number;
}

type Retention = Static<typeof RetentionSchema>;

let seeded: TestDatabase;
let empty: TestDatabase;
let query: RunningQuery;
let browser: LaunchedChromium;
/** The zone name the browser reports (Chromium canonicalises Asia/Kolkata to Asia/Calcutta). */
let tz = TIME_ZONE;

beforeAll(async () => {
  buildDashboard();
  seeded = await createTestDatabase('dashboard');
  await seedDashboard(seeded.pool);
  query = await startQuery(seeded.url);
  browser = await launchDashboardChromium();
});

afterAll(async () => {
  await browser?.close();
  await query?.close();
  await seeded?.drop();
  await empty?.drop();
});

// ------------------------------------------------------------------------------------------ helpers

/** A new tab on `url` (the shared browser's) that records uncaught page errors. */
function open(url: string, context: BrowserContext = browser.context): Promise<Page> {
  return openPage(context, url);
}

/** The numbers the cards settled on (data-shown is set when the count-up animation ends). */
async function shownCards(page: Page): Promise<Record<string, number>> {
  return page.$$eval('[data-card]', (cards) =>
    Object.fromEntries(
      (cards as BrowserElement[]).map((card) => [card.dataset.card, Number(card.dataset.shown)]),
    ),
  );
}

/** Waits until every card shows exactly what /api/stats answers for `params`, and returns that answer. */
async function expectCardsToEqualApi(
  page: Page,
  params: Record<string, string>,
  base = query.base,
  key?: string,
): Promise<Stats> {
  const search = new URLSearchParams({ ...params, tz });
  const stats = await apiGet<Stats>(base, `/api/stats?${search}`, key);
  await waitFor(
    async () => {
      const shown = await shownCards(page);
      return CARD_KEYS.every((k) => shown[k] === stats[k]);
    },
    { timeoutMs: 15_000, what: `cards equal to /api/stats?${search}` },
  ).catch(async (error) => {
    throw new Error(
      `${(error as Error).message}\nshown: ${JSON.stringify(await shownCards(page))}\napi: ${JSON.stringify(stats)}`,
    );
  });
  // The visible digits are the same number, formatted.
  const texts = await page.$$eval('[data-card] .card-value', (els) => els.map((el) => el.textContent ?? ''));
  CARD_KEYS.forEach((k, i) => {
    const text = texts[i]!.replace(/,/g, '');
    if (k === 'actionsPerUser' || k === 'gini') expect(Number(text)).toBeCloseTo(stats[k], 2);
    else expect(text).toBe(String(stats[k]));
  });
  return stats;
}

/** The rows of a chart's data table (its text alternative). */
async function chartRows(page: Page, chart: string): Promise<string[][]> {
  return page.$$eval(`[data-chart="${chart}"] .chart-data tbody tr`, (rows) =>
    (rows as BrowserElement[]).map((row) => Array.from(row.cells).map((cell) => cell.textContent ?? '')),
  );
}

async function expectChartsToEqual(page: Page, stats: Stats): Promise<void> {
  const fmt = (n: number) => n.toLocaleString('en-US');
  await waitFor(
    async () => {
      const actions = await chartRows(page, 'actions');
      return JSON.stringify(actions) === JSON.stringify(stats.byAction.map((a) => [a.action, fmt(a.count)]));
    },
    { timeoutMs: 10_000, what: 'the actions chart equal to byAction' },
  );
  expect(await chartRows(page, 'pages')).toEqual(stats.pageRanking.map((p) => [p.page, fmt(p.count)]));
  expect(await chartRows(page, 'roles')).toEqual(stats.roleDistribution.map((r) => [r.role, fmt(r.users)]));
  expect(await chartRows(page, 'daily')).toEqual(stats.daily.map((d) => [d.date, fmt(d.count)]));
  for (const chart of ['daily', 'actions', 'pages', 'roles']) {
    const label = await page.getAttribute(`[data-chart="${chart}"] canvas`, 'aria-label');
    expect(label, `${chart} canvas label`).toMatch(/chart of/);
  }
}

async function tableIds(page: Page): Promise<string[]> {
  return page.$$eval('#rows tr[data-event-id]', (rows) =>
    (rows as BrowserElement[]).map((row) => row.dataset.eventId ?? ''),
  );
}

/** The ISO instants the dashboard sends for a from/to day pair (local midnights, `to` exclusive). */
async function dayBounds(page: Page, from: string, to: string): Promise<{ from: string; to: string }> {
  return page.evaluate(
    ([f, t]) => {
      const start = (day: string, add: number) => {
        const [y, m, d] = day.split('-').map(Number) as [number, number, number];
        return new Date(y, m - 1, d + add).toISOString();
      };
      return { from: start(f!, 0), to: start(t!, 1) };
    },
    [from, to],
  );
}

/** Entry and exit pages the sessions row lists (the dashboard asks for TOP_SESSION_PAGES = 5). */
const SESSION_TOP = 5;
const SESSION_CARD_KEYS = ['sessions', 'bounceRate', 'medianDurationMs', 'pagesPerSession'] as const;
const percentText = (share: number) => `${Math.round(share * 100)}%`;

/** The sessions row as shown: card texts, the mean line, and the entry and exit lists. */
async function shownSessions(page: Page) {
  return page.evaluate(() => {
    const text = (selector: string) => document.querySelector(selector)?.textContent ?? '';
    const list = (which: string) =>
      Array.from(document.querySelectorAll(`[data-list="${which}"] li`)).map((li) => [
        li.querySelector('.rank-page')?.textContent ?? '',
        li.querySelector('.rank-value')?.textContent ?? '',
      ]);
    return {
      sessions: text('[data-card="sessions"] .card-value'),
      bounceRate: text('[data-card="bounceRate"] .card-value'),
      median: text('[data-card="medianDurationMs"] .card-value'),
      mean: text('[data-card="medianDurationMs"] [data-sub]'),
      pagesPerSession: text('[data-card="pagesPerSession"] .card-value'),
      entry: list('entry'),
      exit: list('exit'),
    };
  });
}

/**
 * Waits until the sessions row shows exactly what /api/sessions/stats answers for `params` (never with
 * `action`: that endpoint refuses it) and returns that answer.
 */
async function expectSessionsToEqualApi(
  page: Page,
  params: Record<string, string>,
  base = query.base,
): Promise<SessionStatsResult> {
  const search = new URLSearchParams({ ...params, top: String(SESSION_TOP) });
  const api = await apiGet<SessionStatsResult>(base, `/api/sessions/stats?${search}`);
  await waitFor(
    async () => {
      const shown = await shownCards(page);
      return SESSION_CARD_KEYS.every((k) => shown[k] === api[k]);
    },
    { timeoutMs: 15_000, what: `session cards equal to /api/sessions/stats?${search}` },
  ).catch(async (error) => {
    throw new Error(
      `${(error as Error).message}\nshown: ${JSON.stringify(await shownCards(page))}\napi: ${JSON.stringify(api)}`,
    );
  });
  const shown = await shownSessions(page);
  expect(shown.sessions).toBe(api.sessions.toLocaleString('en-US'));
  expect(shown.bounceRate).toBe(percentText(api.bounceRate));
  expect(Number(shown.pagesPerSession)).toBeCloseTo(api.pagesPerSession, 2);
  expect(shown.entry).toEqual(api.entryPages.map((p) => [p.page, p.sessions.toLocaleString('en-US')]));
  expect(shown.exit).toEqual(api.exitPages.map((p) => [p.page, percentText(p.exitRate)]));
  return api;
}

/** The retention table as shown: head, one entry per cohort row, and the mean row. */
async function shownRetention(page: Page) {
  return page.evaluate(() => {
    const cells = (row: BrowserElement | null) =>
      Array.from(row?.querySelectorAll('td[data-k]') ?? []).map((td) => ({
        text: td.textContent ?? '',
        value: td.querySelector('.heat-value')?.textContent ?? '',
        count: td.dataset.count ?? null,
        partial: td.dataset.partial === 'true',
        title: td.getAttribute('title'),
      }));
    return {
      head: Array.from(document.querySelectorAll('#retention-table thead th')).map(
        (th) => th.textContent ?? '',
      ),
      rows: Array.from(document.querySelectorAll('#retention-table tbody tr[data-start]')).map((tr) => ({
        start: tr.dataset.start ?? '',
        size: tr.querySelector('.heat-size')?.textContent ?? '',
        cells: cells(tr),
      })),
      mean: cells(document.querySelector('#retention-table tfoot tr')),
    };
  });
}

/** The shares, counts and under-way marks a retention answer must show (null cells: nothing). */
function expectedRetention(api: Retention) {
  const cell = (share: number | null, count: number | null, partial: boolean) => ({
    value: share === null ? '' : percentText(share),
    count: count === null ? null : String(count),
    partial,
  });
  return {
    rows: api.rows.map((row) => ({
      start: row.start,
      size: row.size.toLocaleString('en-US'),
      cells: row.cells.map((count, k) => cell(row.shares[k] ?? null, count, row.partial === k)),
    })),
    mean: api.mean.map((share) => cell(share, null, false)),
  };
}

/** Waits until the retention table shows exactly /api/retention's answer for `params`, and returns it. */
async function expectRetentionToEqualApi(
  page: Page,
  params: Record<string, string>,
  base = query.base,
): Promise<Retention> {
  const search = new URLSearchParams({ period: 'week', cohort: 'first', mode: 'on', ...params, tz });
  const api = await apiGet<Retention>(base, `/api/retention?${search}`);
  const want = expectedRetention(api);
  const comparable = async () => {
    const shown = await shownRetention(page);
    return {
      rows: shown.rows.map((r) => ({
        ...r,
        cells: r.cells.map(({ value, count, partial }) => ({ value, count, partial })),
      })),
      mean: shown.mean.map(({ value, count, partial }) => ({ value, count, partial })),
    };
  };
  await waitFor(async () => JSON.stringify(await comparable()) === JSON.stringify(want), {
    timeoutMs: 15_000,
    what: `the retention table equal to /api/retention?${search}`,
  }).catch(async (error) => {
    throw new Error(
      `${(error as Error).message}\nshown: ${JSON.stringify(await comparable())}\napi: ${JSON.stringify(want)}`,
    );
  });
  const shown = await shownRetention(page);
  // A period that has not begun is an empty cell: no number, no count, nothing for a screen reader.
  for (const [i, row] of api.rows.entries())
    for (const [k, count] of row.cells.entries())
      if (count === null) expect(shown.rows[i]!.cells[k]!.text, `${row.start} cell ${k}`).toBe('');
  return api;
}

// ------------------------------------------------------------------------------------------ tests

describe('dashboard on a seeded database', () => {
  let page: Page;

  beforeAll(async () => {
    page = await open(`${query.base}/`);
    tz = await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
  });

  it('shows every card equal to /api/stats and the charts equal to its series', async () => {
    await readyState(page);
    const stats = await expectCardsToEqualApi(page, {});
    expect(stats.totalActions).toBeGreaterThan(200);
    expect(stats.totalUsers).toBeGreaterThan(stats.usersWithActions);
    expect(stats.apiHits).toBe(4321);
    await expectChartsToEqual(page, stats);
    expect(await page.textContent('#tz-label')).toBe(tz);
    const first = await apiGet<InteractionPage>(query.base, '/api/interactions?limit=25');
    expect(await tableIds(page)).toEqual(first.items.map((i) => i.eventId));
    expect(pageErrors(page)).toEqual([]);
  });

  it('shows the sessions row and the retention table equal to their APIs', async () => {
    await readyState(page);
    const sessions = await expectSessionsToEqualApi(page, {});
    expect(sessions.sessions).toBeGreaterThan(50);
    expect(sessions.entryPages).toHaveLength(SESSION_TOP);
    const table = await expectRetentionToEqualApi(page, {});
    expect(table.rows.length).toBeGreaterThan(1);
    // 18 days of data by week: the newest cohorts have weeks not begun yet, and this week is under way.
    expect(table.rows.some((row) => row.cells.includes(null))).toBe(true);
    expect(table.rows.at(-1)?.partial).not.toBeNull();
    expect(await page.isVisible('#sessions-action-note')).toBe(false);
    expect(await page.isVisible('#retention-action-note')).toBe(false);
    expect(await page.isVisible('#sessions-error')).toBe(false);
    expect(await page.isVisible('#retention-error')).toBe(false);
  });

  it('is labelled for screen readers', async () => {
    expect(await page.locator('header').count()).toBe(1);
    expect(await page.locator('main#main').count()).toBe(1);
    expect(await page.locator('search form#filters').count()).toBe(1);
    expect(await page.textContent('#interactions caption')).toMatch(/newest first/);
    expect(await page.getAttribute('#cards-live', 'aria-live')).toBe('polite');
    expect(await page.textContent('#cards-live')).toMatch(/Total actions: [\d,]+/);
    expect(await page.getAttribute('#sessions-live', 'aria-live')).toBe('polite');
    expect(await page.textContent('#sessions-live')).toMatch(/^Sessions: [\d,]+\. Bounce rate: \d+%/);
    expect(await page.textContent('#retention-table caption')).toMatch(
      /^Retention\. Cohorts: users by the week/,
    );
    expect(await page.locator('#retention-table thead th[scope="col"]').count()).toBeGreaterThan(2);
    expect(await page.locator('#retention-table tbody th[scope="row"]').count()).toBeGreaterThan(0);
    for (const id of ['r-period', 'r-cohort', 'r-mode']) {
      expect(await page.locator(`label[for="${id}"]`).count(), id).toBe(1);
    }
    for (const id of ['f-user', 'f-role', 'f-action', 'f-page', 'f-from', 'f-to']) {
      expect(await page.locator(`label[for="${id}"]`).count(), id).toBe(1);
    }
  });

  it('saves desktop and phone screenshots, light and dark', async () => {
    await screenshotsLightDark(page);
    await page.setViewportSize(DESKTOP);
    await expectNoSidewaysScrollAtPhoneWidth(page);
    await page.setViewportSize(DESKTOP);
  });

  it('switches to dark with the toggle and keeps the choice', async () => {
    await page.click('#theme-toggle');
    expect(await page.getAttribute('html', 'data-theme')).toBe('dark');
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(background).not.toBe('rgb(245, 246, 250)');
    await page.reload();
    await readyState(page);
    expect(await page.getAttribute('html', 'data-theme')).toBe('dark');
    await page.click('#theme-toggle');
    expect(await page.getAttribute('html', 'data-theme')).toBe('light');
    await page.evaluate(() => localStorage.removeItem('tracker.theme'));
  });

  it('filters by role, action, user, page prefix and date range exactly as the API does', async () => {
    const all = await apiGet<Stats>(query.base, `/api/stats?tz=${encodeURIComponent(tz)}`);

    await page.selectOption('#f-role', 'ADMIN');
    await waitForUrl(page, (u) => u.searchParams.get('role') === 'ADMIN');
    const admin = await expectCardsToEqualApi(page, { role: 'ADMIN' });
    expect(admin.totalActions).toBeGreaterThan(0);
    expect(admin.totalActions).toBeLessThan(all.totalActions);
    const allSessions = await apiGet<SessionStatsResult>(query.base, '/api/sessions/stats');
    const adminSessions = await expectSessionsToEqualApi(page, { role: 'ADMIN' });
    expect(adminSessions.sessions).toBeGreaterThan(0);
    expect(adminSessions.sessions).toBeLessThan(allSessions.sessions);
    await expectRetentionToEqualApi(page, { role: 'ADMIN' });
    await expectChartsToEqual(page, admin);
    const roles = await page.$$eval('#rows .col-role', (cells) => cells.map((c) => c.textContent));
    expect(new Set(roles)).toEqual(new Set(['ADMIN']));

    await page.click('#reset-filters');
    await waitForUrl(page, (u) => u.search === '');
    await expectCardsToEqualApi(page, {});

    await page.fill('#f-action', 'signup');
    await page.press('#f-action', 'Enter');
    await waitForUrl(page, (u) => u.searchParams.get('action') === 'signup');
    const signup = await expectCardsToEqualApi(page, { action: 'signup' });
    expect(signup.totalActions).toBeGreaterThan(0);
    expect(signup.totalActions).toBeLessThan(all.totalActions);
    // Sessions and cohorts are not chosen by an action: the rows say so and keep the unfiltered numbers.
    expect(await page.textContent('#sessions-action-note')).toBe('not filtered by action');
    expect(await page.isVisible('#sessions-action-note')).toBe(true);
    expect(await page.isVisible('#retention-action-note')).toBe(true);
    expect((await expectSessionsToEqualApi(page, {})).sessions).toBe(allSessions.sessions);
    expect(new Set(await page.$$eval('#rows .col-action', (c) => c.map((x) => x.textContent)))).toEqual(
      new Set(['signup']),
    );

    await page.click('#reset-filters');
    await page.fill('#f-user', 'user-00');
    await page.press('#f-user', 'Enter');
    await waitForUrl(page, (u) => u.searchParams.get('userId') === 'user-00');
    const user = await expectCardsToEqualApi(page, { userId: 'user-00' });
    expect(user.totalUsers).toBe(1);
    expect(user.totalActions).toBeGreaterThan(0);

    await page.click('#reset-filters');
    await page.fill('#f-page', '/docs/*');
    await page.press('#f-page', 'Enter');
    await waitForUrl(page, (u) => u.searchParams.get('page') === '/docs/*');
    const docs = await expectCardsToEqualApi(page, { page: '/docs/*' });
    expect(docs.totalActions).toBeLessThan(all.totalActions);
    const pages = await page.$$eval('#rows .col-page', (cells) => cells.map((c) => c.textContent ?? ''));
    expect(pages.length).toBeGreaterThan(0);
    expect(pages.every((p) => p.startsWith('/docs/'))).toBe(true);
    expect(docs.pageRanking.every((p) => p.page.startsWith('/docs/'))).toBe(true);
    await expectChartsToEqual(page, docs);

    await page.click('#reset-filters');
    const days = await page.evaluate(() => {
      const day = (ago: number) => {
        const d = new Date();
        d.setDate(d.getDate() - ago);
        return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
      };
      return { from: day(9), to: day(3) };
    });
    await page.fill('#f-from', days.from);
    await waitForUrl(page, (u) => u.searchParams.get('from') === days.from);
    await page.fill('#f-to', days.to);
    await waitForUrl(page, (u) => u.searchParams.get('to') === days.to);
    const bounds = await dayBounds(page, days.from, days.to);
    const range = await expectCardsToEqualApi(page, bounds);
    expect(range.totalActions).toBeGreaterThan(0);
    expect(range.totalActions).toBeLessThan(all.totalActions);
    const rangeSessions = await expectSessionsToEqualApi(page, bounds);
    expect(rangeSessions.sessions).toBeLessThan(allSessions.sessions);
    await expectRetentionToEqualApi(page, bounds);
    expect(range.daily.map((d) => d.date)[0]).toBe(days.from);
    expect(range.daily.at(-1)?.date).toBe(days.to);
    await expectChartsToEqual(page, range);

    // Combined, then shared: a reload of the URL shows the same view.
    await page.selectOption('#f-role', 'USER');
    const url = await waitForUrl(page, (u) => u.searchParams.get('role') === 'USER');
    const combined = await expectCardsToEqualApi(page, { ...bounds, role: 'USER' });
    const again = await open(url.toString());
    await readyState(again);
    expect(await again.inputValue('#f-role')).toBe('USER');
    expect(await again.inputValue('#f-from')).toBe(days.from);
    expect(await again.inputValue('#f-to')).toBe(days.to);
    expect(await expectCardsToEqualApi(again, { ...bounds, role: 'USER' })).toEqual(combined);
    await again.close();

    await page.click('#reset-filters');
    await waitForUrl(page, (u) => u.search === '');
    await expectCardsToEqualApi(page, {});
    expect(pageErrors(page)).toEqual([]);
  });

  it('offers the known values as suggestions', async () => {
    const options = async (id: string) =>
      page.$$eval(`#${id} option`, (os) => (os as BrowserElement[]).map((option) => option.value));
    await waitFor(async () => (await options('dl-users')).includes('user-00'), { what: 'user suggestions' });
    expect(await options('f-role')).toEqual(['', 'ADMIN', 'USER', 'GUEST']);
    expect(await options('dl-pages')).toContain('/docs/*');
  });

  it('pages through the interactions with Previous and Next', async () => {
    await readyState(page);
    const pageAt = (cursor?: string) =>
      apiGet<InteractionPage>(query.base, `/api/interactions?limit=25${cursor ? `&cursor=${cursor}` : ''}`);
    const showing = (expected: InteractionPage, what: string) =>
      waitFor(
        async () =>
          JSON.stringify(await tableIds(page)) === JSON.stringify(expected.items.map((i) => i.eventId)),
        { what },
      );
    const first = await pageAt();
    expect(first.nextCursor).not.toBeNull();
    await showing(first, 'the first page');
    expect(await page.isDisabled('#prev')).toBe(true);

    await page.click('#next');
    const second = await pageAt(first.nextCursor!);
    await showing(second, 'the second page');
    expect(new URL(page.url()).searchParams.get('cursor')).toBe(first.nextCursor);
    expect(await page.textContent('#page-info')).toMatch(/^26–50 of /);

    await page.click('#next');
    await showing(await pageAt(second.nextCursor!), 'the third page');

    await page.click('#prev');
    await showing(second, 'the second page again');
    await page.click('#prev');
    await showing(first, 'the first page again');
    expect(new URL(page.url()).searchParams.has('cursor')).toBe(false);
    expect(await page.isDisabled('#prev')).toBe(true);
  });

  it('drops the cursor from the address bar when a deep link pages back to the newest page, or the API refuses it', async () => {
    const pageAt = (cursor?: string) =>
      apiGet<InteractionPage>(query.base, `/api/interactions?limit=25${cursor ? `&cursor=${cursor}` : ''}`);
    const first = await pageAt();
    const second = await pageAt(first.nextCursor!);
    // A reloaded link to the third page: its position is unknown until paging back reaches the newest.
    const deep = await open(`${query.base}/?cursor=${encodeURIComponent(second.nextCursor!)}`);
    await readyState(deep);
    await deep.click('#prev');
    await waitFor(async () => (await tableIds(deep))[0] === second.items[0]!.eventId, {
      what: 'the second page',
    });
    await deep.click('#prev');
    await waitFor(async () => (await tableIds(deep))[0] === first.items[0]!.eventId, {
      what: 'the newest page',
    });
    await waitForUrl(deep, (url) => !url.searchParams.has('cursor'));
    await waitFor(async () => /^1–25 of /.test((await deep.textContent('#page-info')) ?? ''), {
      what: 'the pager counting from 1',
    });
    expect(await deep.isDisabled('#prev')).toBe(true);
    await deep.close();
    // A cursor the API refuses: the newest page, and the address bar without it (a reload would repeat the 400).
    const refused = await open(`${query.base}/?cursor=not-a-cursor`);
    await readyState(refused);
    await waitForUrl(refused, (url) => !url.searchParams.has('cursor'));
    expect(pageErrors(refused)).toEqual([]);
    await refused.close();
  });

  it('reads a lower-case role in a link as the role it selects', async () => {
    const link = await open(`${query.base}/?role=guest`);
    await readyState(link);
    await waitFor(async () => (await link.inputValue('#f-role')) === 'GUEST', { what: 'GUEST selected' });
    await link.close();
  });

  it('exports the filtered rows as CSV', async () => {
    await page.selectOption('#f-role', 'GUEST');
    await waitForUrl(page, (u) => u.searchParams.get('role') === 'GUEST');
    const guest = await expectCardsToEqualApi(page, { role: 'GUEST' });
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
    const path = await download.path();
    const records = parse(await readFile(path), { columns: true, bom: true }) as Record<string, string>[];
    expect(records).toHaveLength(guest.totalActions);
    expect(records.every((r) => r.role === 'GUEST')).toBe(true);
    const listed = await apiGet<InteractionPage>(query.base, '/api/interactions?role=GUEST&limit=500');
    expect(records.map((r) => r.event_id)).toEqual(listed.items.map((i) => i.eventId));
    expect(download.suggestedFilename()).toMatch(/\.csv$/);
    await page.click('#reset-filters');
    await waitForUrl(page, (u) => u.search === '');
  });

  it('shows injection strings as text and runs no script', async () => {
    await page.fill('#f-user', INJECTION.userId);
    await page.press('#f-user', 'Enter');
    await waitForUrl(page, (u) => u.searchParams.get('userId') === INJECTION.userId);
    await expectCardsToEqualApi(page, { userId: INJECTION.userId });
    await waitFor(async () => (await page.textContent('#rows .col-user')) === INJECTION.userId, {
      what: 'the injected user as text',
    });
    expect(await page.textContent('#rows .col-page')).toBe(INJECTION.page);
    expect(await page.textContent('#rows .col-props')).toContain(INJECTION.note);
    expect(await page.textContent('#filter-summary')).toContain(INJECTION.userId);
    expect(await chartRows(page, 'pages')).toEqual([[INJECTION.page, '1']]);
    expect(
      await page.locator('#rows img, #rows script, #rows svg, .chart-data img, .chart-data script').count(),
    ).toBe(0);
    expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
    await page.click('#reset-filters');
    await waitForUrl(page, (u) => u.search === '');
    expect(pageErrors(page)).toEqual([]);
  });

  it('shows new events live without a reload, keeping the scroll position and the charts', async () => {
    await readyState(page);
    await page.setViewportSize({ width: 1280, height: 600 });
    await waitForStream(page);
    const before = await expectCardsToEqualApi(page, {});
    await page.evaluate(() => {
      window.__sameDocument = true;
      for (const canvas of Array.from(document.querySelectorAll('canvas'))) canvas.__mark = true;
      window.scrollTo(0, 1200);
    });
    const scrollY = await page.evaluate(() => window.scrollY);
    expect(scrollY).toBe(1200);

    const fresh = [
      interactionRow({ userId: 'live-user', role: 'ADMIN', action: 'signup', page: '/pricing' }),
      interactionRow({ userId: 'live-user', role: 'ADMIN', action: 'click', page: '/pricing' }),
    ];
    const started = Date.now();
    await store(seeded.pool, fresh);
    await waitFor(async () => (await tableIds(page)).includes(fresh[1]!.eventId), {
      timeoutMs: LIVE_TIMEOUT_MS,
      intervalMs: 50,
      what: 'the new rows in the table',
    });
    const seenAfterMs = Date.now() - started;
    console.log(`dashboard live update: new row visible ${seenAfterMs} ms after it was stored (stream)`);
    expect((await tableIds(page)).slice(0, 2).sort()).toEqual(fresh.map((r) => r.eventId).sort());
    const after = await expectCardsToEqualApi(page, {});
    expect(after.totalActions).toBe(before.totalActions + 2);

    expect(await page.evaluate(() => window.scrollY)).toBe(scrollY);
    expect(await page.evaluate(() => window.__sameDocument)).toBe(true);
    const marked = await page.$$eval('canvas', (canvases) =>
      (canvases as BrowserElement[]).map((c) => c.__mark === true),
    );
    expect(marked).toEqual([true, true, true, true]);
    await page.setViewportSize(DESKTOP);
  });

  it('falls back to polling every 5 s when the event stream is unavailable', async () => {
    const polled = await browser.context.newPage();
    await polled.route('**/api/stream**', (route) =>
      route.fulfill({
        status: 404,
        contentType: 'application/json',
        body: '{"status":404,"code":"NOT_FOUND","message":"no stream","details":[]}',
      }),
    );
    await polled.goto(`${query.base}/?action=download`);
    await readyState(polled);
    await waitFor(
      () =>
        polled.evaluate(
          () => document.querySelector('#live-status')?.getAttribute('data-mode') === 'polling',
        ),
      {
        what: 'polling mode',
      },
    );
    const row = interactionRow({ userId: 'poll-user', action: 'download', page: '/docs/intro' });
    const started = Date.now();
    await store(seeded.pool, [row]);
    await waitFor(async () => (await tableIds(polled)).includes(row.eventId), {
      timeoutMs: LIVE_TIMEOUT_MS,
      intervalMs: 50,
      what: 'the new row through polling',
    });
    console.log(
      `dashboard live update: new row visible ${Date.now() - started} ms after it was stored (polling)`,
    );
    await expectCardsToEqualApi(polled, { action: 'download' });
    await polled.close();
  });

  it('shows a notice while the pipeline lags, and hides it when it has caught up', async () => {
    await readyState(page);
    expect(await page.isVisible('#lag-notice')).toBe(false);
    // What the processors' lag monitor records: 2 500 messages waiting, nothing stored lately.
    await recordLag(seeded.prisma, 'dashboard-e2e', 'interactions', [
      { partition: 0, committedOffset: 100, highWatermark: 2100, lag: 2000 },
      { partition: 1, committedOffset: 50, highWatermark: 550, lag: 500 },
    ]);
    await waitFor(() => page.isVisible('#lag-notice'), {
      timeoutMs: LIVE_TIMEOUT_MS,
      what: 'the lag notice',
    });
    expect(await page.textContent('#lag-notice')).toContain('2,500 events are waiting to be stored');
    expect(await page.getAttribute('#lag-notice', 'role')).toBe('status');
    await settle(page);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(ARTIFACTS_DIR, 'dashboard-lag.png') });

    await recordLag(seeded.prisma, 'dashboard-e2e', 'interactions', [
      { partition: 0, committedOffset: 2100, highWatermark: 2100, lag: 0 },
      { partition: 1, committedOffset: 550, highWatermark: 550, lag: 0 },
    ]);
    await waitFor(async () => !(await page.isVisible('#lag-notice')), {
      timeoutMs: LIVE_TIMEOUT_MS,
      what: 'the notice to go',
    });
  });

  it('says since when raw rows are kept once retention has dropped older ones', async () => {
    await readyState(page);
    expect(await page.isVisible('#retention-note')).toBe(false);
    await seeded.pool.query(`UPDATE raw_retention SET raw_from = '2026-05-18T00:00:00Z' WHERE id = 1`);
    try {
      await waitFor(() => page.isVisible('#retention-note'), {
        timeoutMs: LIVE_TIMEOUT_MS,
        what: 'the retention note',
      });
      expect(await page.textContent('#retention-note')).toMatch(
        /Raw interactions \(this table and exports\) are kept from .*2026.*statistics and charts include everything before/,
      );
    } finally {
      await seeded.pool.query('UPDATE raw_retention SET raw_from = NULL WHERE id = 1');
    }
    await waitFor(async () => !(await page.isVisible('#retention-note')), {
      timeoutMs: LIVE_TIMEOUT_MS,
      what: 'the note to go',
    });
  });

  it('keeps the numbers and says so when the query service goes down, then recovers', async () => {
    const own = await startQuery(seeded.url);
    const port = Number(new URL(own.base).port);
    let restarted: RunningQuery | undefined;
    const flaky = await open(`${own.base}/`);
    try {
      await readyState(flaky);
      const before = await expectCardsToEqualApi(flaky, {}, own.base);
      await own.close();
      await waitFor(() => flaky.isVisible('#connection-notice'), {
        timeoutMs: LIVE_TIMEOUT_MS,
        what: 'the lost-contact notice',
      });
      expect(await flaky.getAttribute('#live-status', 'data-mode')).toBe('offline');
      expect(await flaky.isVisible('#cards')).toBe(true);
      expect((await shownCards(flaky)).totalActions).toBe(before.totalActions);
      await settle(flaky);
      await screenshot(flaky, 'connection-lost');

      restarted = await startQuery(seeded.url, {}, port);
      await waitFor(async () => !(await flaky.isVisible('#connection-notice')), {
        timeoutMs: LIVE_TIMEOUT_MS,
        what: 'recovery',
      });
      await expectCardsToEqualApi(flaky, {}, restarted.base);
      expect(pageErrors(flaky)).toEqual([]);
    } finally {
      await flaky.close();
      await restarted?.close();
    }
  });
});

describe('sessions and retention on known data', () => {
  let db: TestDatabase;
  let reports: RunningQuery;
  let page: Page;
  /** The session and retention requests the page made, with when. */
  const requests: { url: URL; at: number }[] = [];
  const sent = (path: string, since = 0) => requests.slice(since).filter((r) => r.url.pathname === path);
  /** Today and the six days before in the browser's zone: the day (YYYY-MM-DD) and a session start. */
  let days: { day: string; start: number }[] = [];
  const day = (daysAgo: number) => days[daysAgo]!.day;

  beforeAll(async () => {
    days = await reportDays(browser.context);
    db = await createTestDatabase('dashboard_reports');
    await seedReports(db.pool, (ago) => days[ago]!.start);
    reports = await startQuery(db.url);
    page = await open(`${reports.base}/?period=day`);
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname === '/api/sessions/stats' || url.pathname === '/api/retention')
        requests.push({ url, at: Date.now() });
    });
  });

  afterAll(async () => {
    await page?.close();
    await reports?.close();
    await db?.drop();
  });

  it('shows the session numbers of the seeded visits', async () => {
    await readyState(page);
    const api = await expectSessionsToEqualApi(page, {}, reports.base);
    // REPORTS_SEED: nine sessions lasting 252, 0, 30, 90, 0, 0, 45, 600 and 20 s (median 30 s, mean
    // 1 037 / 9 = 115 s); two bounces (alice's and bob's single page views; carol's single click is
    // none); 14 page views.
    expect(api.sessions).toBe(9);
    const shown = await shownSessions(page);
    expect(shown).toMatchObject({
      sessions: '9',
      bounceRate: '22%',
      median: '30 s',
      mean: 'mean 1 m 55 s',
      pagesPerSession: '1.56',
    });
    // Entry: /pricing 4 (carol, dave twice, erin), / 3 (alice, bob twice), /docs/intro 2 (alice twice).
    expect(shown.entry).toEqual([
      ['/pricing', '4'],
      ['/', '3'],
      ['/docs/intro', '2'],
    ]);
    // Exit (sessions ending there ÷ sessions that include the page): /pricing 3 of 5 (carol's click
    // counts as including it), /signup 3 of 3, then one each: / of 3, /docs/faq of 1, /docs/intro of 3.
    expect(shown.exit).toEqual([
      ['/pricing', '60%'],
      ['/signup', '100%'],
      ['/', '33%'],
      ['/docs/faq', '100%'],
      ['/docs/intro', '33%'],
    ]);
    expect(await page.getAttribute('[data-list="exit"] li', 'title')).toBe(
      '/pricing: exit rate 60%: 3 sessions end here, of 5 that include it',
    );
    expect(await page.textContent('#sessions-live')).toBe(
      'Sessions: 9. Bounce rate: 22%. Median session duration: 30 s. Pages per session: 1.56',
    );
    expect(pageErrors(page)).toEqual([]);
  });

  it('shows the retention triangle: shares, counts, empty cells for periods not begun, the day under way, the mean', async () => {
    const api = await expectRetentionToEqualApi(page, { period: 'day' }, reports.base);
    const shown = await shownRetention(page);
    expect(shown.head).toEqual(['Day', 'Users', ...Array.from({ length: 9 }, (_, k) => `Day ${k}`)]);
    // First activity: alice and bob 6 days ago, carol and dave 5 days ago, erin today.
    expect(shown.rows.map((r) => [r.start, r.size])).toEqual([
      [day(6), '2'],
      [day(5), '2'],
      [day(0), '1'],
    ]);
    // 6 days ago: alice back on days 1 and 3, bob today (day 6, under way); days 7 and 8 not begun.
    // 5 days ago: dave back on day 1; today is its day 5. Today's cohort: only day 0, under way.
    const values = (i: number) => shown.rows[i]!.cells.map((c) => c.value);
    expect(values(0)).toEqual(['100%', '50%', '0%', '50%', '0%', '0%', '50%', '', '']);
    expect(values(1)).toEqual(['100%', '50%', '0%', '0%', '0%', '0%', '', '', '']);
    expect(values(2)).toEqual(['100%', '', '', '', '', '', '', '', '']);
    expect(shown.rows[0]!.cells.map((c) => c.count)).toEqual(['2', '1', '0', '1', '0', '0', '1', null, null]);
    expect(shown.rows.map((r) => r.cells.flatMap((c, k) => (c.partial ? [k] : [])))).toEqual([[6], [5], [0]]);
    expect(api.rows.map((r) => r.partial)).toEqual([6, 5, 0]);
    // Weighted over the cohorts whose day k has ended: day 3 = (1 + 0) / (2 + 2); day 5 only the
    // first cohort's (0 of 2); day 6 and later: none has ended.
    expect(shown.mean.map((c) => c.value)).toEqual(['100%', '50%', '0%', '25%', '0%', '0%', '', '', '']);

    // The count on hover and for screen readers; the day under way said and drawn dashed.
    const third = shown.rows[0]!.cells[3]!;
    expect(third.title).toContain('day 3: 1 of 2 users (50%)');
    expect(third.text).toBe('50% (1 of 2 users)');
    const underWay = shown.rows[0]!.cells[6]!;
    expect(underWay.title).toContain('so far: day 6 is under way');
    expect(underWay.text).toBe('50% (1 of 2 users, day under way)');
    expect(shown.rows[0]!.cells[7]).toMatchObject({ text: '', count: null, partial: false, title: null });
    const style = (selector: string) =>
      page.$eval(selector, (td) => {
        const computed = getComputedStyle(td as BrowserElement);
        return { outline: computed.outlineStyle, background: computed.backgroundColor };
      });
    const full = await style('#retention-table tbody tr:first-child td[data-k="0"]');
    const none = await style('#retention-table tbody tr:first-child td[data-k="2"]');
    const partial = await style('#retention-table tbody tr:first-child td[data-k="6"]');
    expect(partial.outline).toBe('dashed');
    expect(full.outline).toBe('none');
    // The heat: a full cohort is coloured, a share of 0 is not.
    expect(full.background).not.toBe(none.background);
  });

  it('follows the role filter; the action filter does not apply: it is said and not sent', async () => {
    await page.selectOption('#f-role', 'ADMIN');
    await waitForUrl(page, (u) => u.searchParams.get('role') === 'ADMIN');
    await expectSessionsToEqualApi(page, { role: 'ADMIN' }, reports.base);
    // bob's two sessions: 90 s with three page views, and one page view today.
    expect(await shownSessions(page)).toMatchObject({
      sessions: '2',
      bounceRate: '50%',
      median: '0 s',
      mean: 'mean 45 s',
      pagesPerSession: '2.00',
    });
    const admin = await expectRetentionToEqualApi(page, { period: 'day', role: 'ADMIN' }, reports.base);
    expect(admin.rows.map((r) => r.cells)).toEqual([[1, 0, 0, 0, 0, 0, 1, null, null]]);

    // Clearing the filters keeps the table's options.
    await page.click('#reset-filters');
    const cleared = await waitForUrl(page, (u) => !u.searchParams.has('role'));
    expect(cleared.searchParams.get('period')).toBe('day');
    expect((await expectSessionsToEqualApi(page, {}, reports.base)).sessions).toBe(9);

    expect(await page.isVisible('#sessions-action-note')).toBe(false);
    const since = requests.length;
    await page.fill('#f-action', 'click');
    await page.press('#f-action', 'Enter');
    await waitForUrl(page, (u) => u.searchParams.get('action') === 'click');
    const clicks = await expectCardsToEqualApi(page, { action: 'click' }, reports.base);
    expect(clicks.totalActions).toBe(3);
    expect(await page.isVisible('#sessions-action-note')).toBe(true);
    expect(await page.isVisible('#retention-action-note')).toBe(true);
    // The reports refresh with the filters they accept (the action left out, not refused with a 400).
    await waitFor(
      () => sent('/api/sessions/stats', since).length > 0 && sent('/api/retention', since).length > 0,
      {
        timeoutMs: 10_000,
        what: 'the reports asked again under the action filter',
      },
    );
    expect((await expectSessionsToEqualApi(page, {}, reports.base)).sessions).toBe(9);
    await expectRetentionToEqualApi(page, { period: 'day' }, reports.base);
    expect(requests.filter((r) => r.url.searchParams.has('action'))).toEqual([]);
    expect(sent('/api/retention').every((r) => r.url.searchParams.get('tz') === tz)).toBe(true);
    expect(await page.isVisible('#sessions-error')).toBe(false);
    expect(await page.isVisible('#filter-error')).toBe(false);
    await page.click('#reset-filters');
    await waitForUrl(page, (u) => !u.searchParams.has('action'));
    expect(await page.isVisible('#sessions-action-note')).toBe(false);
  });

  it('keeps period, cohort and mode in the URL, and changes only the table with them', async () => {
    const statsRequests: string[] = [];
    const onRequest = (request: { url(): string }) => {
      if (new URL(request.url()).pathname === '/api/stats') statsRequests.push(request.url());
    };
    page.on('request', onRequest);
    await page.selectOption('#r-period', 'week');
    // The default (week) is left out of the address.
    await waitForUrl(page, (u) => !u.searchParams.has('period'));
    await expectRetentionToEqualApi(page, {}, reports.base);
    expect((await shownRetention(page)).head.slice(0, 3)).toEqual(['Week of', 'Users', 'Week 0']);
    await page.selectOption('#r-period', 'month');
    await page.selectOption('#r-cohort', 'recurring');
    await page.selectOption('#r-mode', 'onOrAfter');
    const url = await waitForUrl(
      page,
      (u) =>
        u.searchParams.get('period') === 'month' &&
        u.searchParams.get('cohort') === 'recurring' &&
        u.searchParams.get('mode') === 'onOrAfter',
    );
    const options = { period: 'month', cohort: 'recurring', mode: 'onOrAfter' };
    // The summary says which options the table shown answers: on this data the "on" and "on or
    // after" tables can be equal, so the table alone would pass while the last answer is under way.
    const summary = (mode: string) =>
      `Cohorts: users by each month they were active in. Each cell: the share of the cohort active in that month${mode}.`;
    await waitFor(async () => (await page.textContent('#retention-summary')) === summary(' or later'), {
      timeoutMs: 15_000,
      what: 'the on-or-after summary',
    });
    await expectRetentionToEqualApi(page, options, reports.base);
    page.off('request', onRequest);
    expect(statsRequests).toEqual([]);

    const again = await open(url.toString());
    await readyState(again);
    expect(await again.inputValue('#r-period')).toBe('month');
    expect(await again.inputValue('#r-cohort')).toBe('recurring');
    expect(await again.inputValue('#r-mode')).toBe('onOrAfter');
    await expectRetentionToEqualApi(again, options, reports.base);
    expect(pageErrors(again)).toEqual([]);
    await again.close();

    await page.goBack();
    await waitForUrl(page, (u) => u.searchParams.get('period') === 'month' && !u.searchParams.has('mode'));
    expect(await page.inputValue('#r-mode')).toBe('on');
    await waitFor(async () => (await page.textContent('#retention-summary')) === summary(''), {
      timeoutMs: 15_000,
      what: 'the on summary',
    });
    await expectRetentionToEqualApi(page, { ...options, mode: 'on' }, reports.base);

    await page.selectOption('#r-period', 'day');
    await page.selectOption('#r-cohort', 'first');
    await waitForUrl(page, (u) => u.searchParams.get('period') === 'day' && !u.searchParams.has('cohort'));
    await expectRetentionToEqualApi(page, { period: 'day' }, reports.base);
  });

  it('fits a phone without sideways scrolling (the table scrolls in its own region); screenshots', async () => {
    await readyState(page);
    await screenshotsLightDark(page, 'reports-');
    await expectNoSidewaysScrollAtPhoneWidth(page);
    // Nine day columns do not fit 390 px: the table's own region scrolls, and a keyboard can reach it.
    expect(
      await page.$eval(
        '.heat-scroll',
        (el) => (el as BrowserElement).scrollWidth > (el as BrowserElement).clientWidth,
      ),
    ).toBe(true);
    expect(await page.getAttribute('.heat-scroll', 'tabindex')).toBe('0');
    await page.setViewportSize(DESKTOP);
  });

  it('keeps the last table and says why when the retention API fails', async () => {
    await page.route('**/api/retention?**', (route) =>
      route.fulfill({
        status: 503,
        contentType: 'application/json',
        body: '{"status":503,"code":"UNAVAILABLE","message":"statement timeout","details":[]}',
      }),
    );
    try {
      const before = await shownRetention(page);
      expect(before.rows.length).toBe(3);
      await page.selectOption('#r-mode', 'onOrAfter');
      await waitFor(() => page.isVisible('#retention-error'), { what: 'the retention error' });
      expect(await page.textContent('#retention-error')).toBe(
        'Not updated: the API answered 503 (statement timeout).',
      );
      expect(await shownRetention(page)).toEqual(before);
      expect(await page.isVisible('#sessions-error')).toBe(false);
      expect(await page.getAttribute('main', 'data-state')).toBe('ready');
    } finally {
      await page.unroute('**/api/retention?**');
    }
    await page.selectOption('#r-mode', 'on');
    await waitFor(async () => !(await page.isVisible('#retention-error')), { what: 'the error to go' });
    await expectRetentionToEqualApi(page, { period: 'day' }, reports.base);
  });

  it('refreshes on live data at most once per few seconds, without moving the page', async () => {
    await page.setViewportSize({ width: 1280, height: 600 });
    await waitForStream(page);
    const before = await expectSessionsToEqualApi(page, {}, reports.base);
    await page.evaluate(() => window.scrollTo(0, 700));
    const scrollY = await page.evaluate(() => window.scrollY);
    expect(scrollY).toBe(700);
    const since = requests.length;
    // A busy stream: a new visitor every 0.4 s for 12 s (a stats event every ~2 s).
    const visitors = 30;
    for (let i = 0; i < visitors; i++) {
      await store(db.pool, [
        interactionRow({ userId: `live-${i}`, sessionId: `live-${i}`, page: '/pricing' }),
      ]);
      await new Promise((resolve) => setTimeout(resolve, 400));
    }
    await waitFor(async () => (await shownCards(page)).sessions === before.sessions + visitors, {
      timeoutMs: LIVE_TIMEOUT_MS,
      what: 'the sessions card to count the new visitors',
    });
    expect((await expectSessionsToEqualApi(page, {}, reports.base)).sessions).toBe(
      before.sessions + visitors,
    );
    const table = await expectRetentionToEqualApi(page, { period: 'day' }, reports.base);
    expect(table.rows.at(-1)?.size).toBe(1 + visitors);
    for (const path of ['/api/sessions/stats', '/api/retention']) {
      const times = sent(path, since).map((r) => r.at);
      const gaps = times.slice(1).map((at, i) => at - times[i]!);
      console.log(
        `dashboard live update: ${times.length} requests to ${path} in ${Math.round((Date.now() - (requests[since]?.at ?? Date.now())) / 1000)} s, gaps ${gaps.join(', ')} ms`,
      );
      expect(times.length, path).toBeGreaterThanOrEqual(2);
      expect(Math.min(...gaps), `${path}: the closest two requests`).toBeGreaterThanOrEqual(4500);
    }
    expect(await page.evaluate(() => window.scrollY)).toBe(scrollY);
    expect(pageErrors(page)).toEqual([]);
    await page.setViewportSize(DESKTOP);
  });
});

describe('dashboard states', () => {
  it('shows an error state with a retry when the API is down', async () => {
    const page = await browser.context.newPage();
    await page.route('**/api/**', (route) => route.abort('connectionrefused'));
    await page.goto(`${query.base}/`);
    await readyState(page, 'error');
    expect(await page.isVisible('#state-error')).toBe(true);
    expect(await page.textContent('#error-title')).toMatch(/reach the query API/);
    expect(await page.isVisible('#dashboard')).toBe(false);
    await settle(page);
    await screenshot(page, 'error');
    await page.unroute('**/api/**');
    await page.click('#retry');
    await readyState(page);
    await expectCardsToEqualApi(page, {});
    await page.close();
  });

  it('shows an empty state on an empty database, then the first event without a reload', async () => {
    empty = await createTestDatabase('dashboard_empty');
    const emptyQuery = await startQuery(empty.url);
    try {
      const page = await open(`${emptyQuery.base}/`);
      await readyState(page, 'empty');
      expect(await page.isVisible('#state-empty')).toBe(true);
      expect(await page.isVisible('#dashboard')).toBe(false);
      expect(await page.getAttribute('#state-empty a[href="demo"]', 'href')).toBe('demo');
      expect(await page.getAttribute('#state-empty a[href="docs"]', 'href')).toBe('docs');
      expect(await page.textContent('#empty-curl')).toContain('/v1/events');
      for (const scheme of ['light', 'dark'] as const) {
        await page.emulateMedia({ colorScheme: scheme });
        await screenshot(page, `empty-${scheme}`);
      }
      await page.emulateMedia({ colorScheme: 'light' });

      const first = interactionRow({ userId: 'first-user', action: 'page_view', page: '/' });
      await store(empty.pool, [first]);
      await readyState(page, 'ready');
      await waitFor(async () => (await tableIds(page)).includes(first.eventId), {
        timeoutMs: LIVE_TIMEOUT_MS,
        what: 'the first row',
      });
      const stats = await expectCardsToEqualApi(page, {}, emptyQuery.base);
      expect(stats.totalActions).toBe(1);
      expect(pageErrors(page)).toEqual([]);
      await page.close();
    } finally {
      await emptyQuery.close();
    }
  });

  it('asks for a read key on 401, keeps it and sends it', async () => {
    const readKey = 'dash-read-key-0123456789';
    const keyed = await startQuery(seeded.url, { QUERY_READ_KEYS: `${readKey},other-read-key-0123456789` });
    try {
      const page = await open(`${keyed.base}/`);
      await page.waitForSelector('#key-dialog[open]');
      await readyState(page, 'locked');
      expect(await page.isVisible('#dashboard')).toBe(false);
      await settle(page);
      await screenshot(page, 'key-prompt');

      await page.fill('#key-input', 'wrong-key');
      await page.click('#key-form button[type="submit"]');
      await page.waitForSelector('#key-dialog[open] #key-error:not([hidden])');

      await page.fill('#key-input', readKey);
      await page.click('#key-form button[type="submit"]');
      await readyState(page);
      const stats = await expectCardsToEqualApi(page, {}, keyed.base, readKey);
      expect(await page.evaluate(() => localStorage.getItem('tracker.readKey'))).toBe(readKey);
      // The export link never carries the key: a click fetches a short-lived signed URL and follows it.
      expect((await page.getAttribute('#export', 'href')) ?? '').not.toContain(readKey);
      const linkRequests: string[] = [];
      page.on('request', (request) => {
        if (request.url().includes('/api/export')) linkRequests.push(request.url());
      });
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
      expect(download.url()).toMatch(/\/api\/export\?.*&expires=\d+&.*sig=/);
      expect(linkRequests.some((url) => new URL(url).pathname === '/api/export/link')).toBe(true);
      for (const url of [download.url(), ...linkRequests]) expect(url).not.toContain(readKey);
      const exported = parse(await readFile(await download.path()), {
        columns: true,
        bom: true,
      }) as unknown[];
      expect(exported).toHaveLength(stats.totalActions);
      await waitForStream(page, 'the event stream to open with ?key=');

      const row = interactionRow({ userId: 'keyed-user', action: 'click', page: '/pricing' });
      await store(seeded.pool, [row]);
      await waitFor(async () => (await tableIds(page)).includes(row.eventId), {
        timeoutMs: LIVE_TIMEOUT_MS,
        what: 'a live row with a key',
      });

      await page.reload();
      await readyState(page);
      expect(await page.locator('#key-dialog[open]').count()).toBe(0);
      await page.close();
    } finally {
      await keyed.close();
    }
  });

  it('shows events sent through ingest (Kafka, processor) without a reload', async () => {
    const stackDb = await createTestDatabase('dashboard_stack');
    const pipeline = await startPipeline(stackDb.url);
    const stackQuery = await startQuery(stackDb.url);
    try {
      const page = await open(`${stackQuery.base}/`);
      await readyState(page, 'empty');
      await waitForStream(page);
      const sent = [
        {
          userId: 'ingest-alice',
          role: 'ADMIN',
          action: 'signup',
          page: '/pricing',
          properties: { plan: 'team' },
        },
        { userId: 'ingest-bob', action: 'page_view', page: '/docs/intro' },
      ];
      const started = Date.now();
      for (const event of sent) {
        const response = await fetch(`${pipeline.ingest}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(event),
        });
        expect(response.status).toBe(202);
      }
      await readyState(page);
      await waitFor(async () => (await page.$$eval('#rows .col-user', (cells) => cells.length)) === 2, {
        timeoutMs: 30_000,
        what: 'both events in the table',
      });
      console.log(`dashboard live update: events sent to ingest visible ${Date.now() - started} ms later`);
      const users = await page.$$eval('#rows .col-user', (cells) => cells.map((c) => c.textContent));
      expect(users.sort()).toEqual(['ingest-alice', 'ingest-bob']);
      // The ingest service's own request count travels the api-hits topic into the same card.
      await waitFor(async () => ((await shownCards(page)).apiHits ?? 0) >= 2, {
        timeoutMs: 30_000,
        what: 'the API hits card',
      });
      const stats = await expectCardsToEqualApi(page, {}, stackQuery.base);
      expect(stats.totalActions).toBe(2);
      expect(stats.roleDistribution.find((r) => r.role === 'ADMIN')?.users).toBe(1);
      expect(pageErrors(page)).toEqual([]);
      await page.close();
    } finally {
      await stackQuery.close();
      await pipeline.close();
      await stackDb.drop();
    }
  });
});
