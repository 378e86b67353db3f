// The dashboard's Funnel section in headless Chromium against the real query app, on REPORTS_SEED
// (nine hand-made sessions of five users), whose funnels are worked out by hand below:
//
//   alice USER   6 days ago: page_view /, page_view /pricing (+60 s), click /pricing (+252 s)
//                5 days ago: page_view /docs/intro;  3 days ago: page_view /docs/intro, /docs/faq (+30 s)
//   bob   ADMIN  6 days ago: page_view /, /docs/intro (+30 s), /signup (+90 s);  today: page_view /
//   carol GUEST  5 days ago: click /pricing
//   dave  USER   5 days ago: page_view /pricing, /signup (+45 s);  4 days ago: the same, /signup at +600 s
//   erin  USER   today: page_view /pricing, click /pricing (+20 s)
import { readFile } from 'node:fs/promises';
import { createTestDatabase, type TestDatabase, waitFor } from '@tracker/test-utils';
import type { LaunchedChromium } from '@tracker/test-utils/chromium';
import { parse } from 'csv-parse/sync';
import type { Page } from 'playwright-core';
import type { Static } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiGet,
  apiSend,
  type BrowserDocument,
  type BrowserElement,
  buildDashboard,
  DESKTOP,
  expectNoSidewaysScrollAtPhoneWidth,
  interactionRow,
  launchDashboardChromium,
  openPage,
  PHONE,
  pageErrors,
  type RunningQuery,
  readyState,
  reportDays,
  screenshotsLightDark,
  seedReports,
  startQuery,
  store,
  TIME_ZONE,
  waitForStream,
  waitForUrl,
} from './dashboard.harness.js';
import type { FunnelSchema, FunnelUnitsSchema } from './schemas/funnel.schema.js';

// page.evaluate callbacks run in Chromium, but this program has no DOM lib (the harness's types).
declare const document: BrowserDocument;
declare const window: { scrollY: number; scrollTo(x: number, y: number): void };

type FunnelAnswer = Static<typeof FunnelSchema>;
type UnitsAnswer = Static<typeof FunnelUnitsSchema>;

const DEFAULTS = { order: 'sequential', windowSeconds: 14 * 86_400, unit: 'users', entry: 'first' };
/** page_view → click */
const VIEW_THEN_CLICK = [{ actions: ['page_view'] }, { actions: ['click'] }];
/** page_view on /pricing → page_view on /signup */
const PRICING_THEN_SIGNUP = [
  { actions: ['page_view'], page: '/pricing' },
  { actions: ['page_view'], page: '/signup' },
];
const percentText = (share: number) => `${Math.round(share * 100)}%`;
const row = (n: number) => `#funnel-steps > li:nth-child(${n})`;
const actionInput = (n: number) => `${row(n)} input[data-suggest="actions"]`;
const pageInput = (n: number) => `${row(n)} input[data-suggest="pages"]`;
const bar = (n: number) => `#funnel-bars > li:nth-child(${n}) .funnel-bar`;

let browser: LaunchedChromium;
let db: TestDatabase;
let reports: RunningQuery;
let page: Page;
/** The zone name the browser reports (Chromium canonicalises Asia/Kolkata to Asia/Calcutta). */
let tz = TIME_ZONE;
let days: { day: string; start: number }[] = [];
/** Every request the page made to /api/funnels…, with its JSON body and when. */
const requests: { path: string; method: string; body: Record<string, unknown> | null; at: number }[] = [];
const funnelRequests = (since = 0) => requests.slice(since).filter((r) => r.path === '/api/funnels');
/** Funnel requests since `since` with a step that has no action (the builder must never send one). */
const incompleteSent = (since: number) =>
  funnelRequests(since).filter((r) =>
    ((r.body?.steps ?? []) as { actions: string[] }[]).some((step) => step.actions.length === 0),
  );

beforeAll(async () => {
  buildDashboard();
  browser = await launchDashboardChromium();
  days = await reportDays(browser.context);
  db = await createTestDatabase('dashboard_funnel');
  await seedReports(db.pool, (ago) => days[ago]!.start);
  reports = await startQuery(db.url);
  page = await openPage(browser.context, `${reports.base}/`);
  tz = await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (!url.pathname.startsWith('/api/funnels')) return;
    let body: Record<string, unknown> | null = null;
    try {
      body = request.postDataJSON() as Record<string, unknown> | null;
    } catch {
      // GET and DELETE carry none.
    }
    requests.push({ path: url.pathname, method: request.method(), body, at: Date.now() });
  });
});

afterAll(async () => {
  await page?.close();
  await browser?.close();
  await reports?.close();
  await db?.drop();
});

// ------------------------------------------------------------------------------------------ helpers

/** The bars as shown: texts, the line under each, and the exact numbers in data-*. */
async function shownFunnel(p: Page = page) {
  return p.$$eval('#funnel-bars > li', (rows) =>
    (rows as BrowserElement[]).map((li) => {
      const text = (selector: string) => li.querySelector(selector)?.textContent ?? '';
      return {
        label: text('.funnel-label-text'),
        count: text('.funnel-count'),
        conversion: text('.funnel-conversion'),
        meta: Array.from(li.querySelectorAll('.funnel-meta span')).map((s) => s.textContent ?? ''),
        data: [
          li.dataset.step,
          li.dataset.count,
          li.dataset.conversion,
          li.dataset.fromPrevious,
          li.dataset.dropOff,
          li.dataset.medianMs,
          li.dataset.p90Ms,
        ].join(' '),
      };
    }),
  );
}

/**
 * Waits until the bars show exactly what POST /api/funnels answers for `definition` (with the
 * defaults) and `filters`, checks the dashboard asked for that very body, and returns the answer.
 */
async function expectFunnelToEqualApi(
  definition: Record<string, unknown>,
  filters: Record<string, string> = {},
  p: Page = page,
): Promise<FunnelAnswer> {
  const body = { ...DEFAULTS, ...definition, ...filters, tz };
  const api = await apiSend<FunnelAnswer>(reports.base, 'POST', '/api/funnels', body);
  const want = api.steps.map((s) =>
    [s.step, s.count, s.conversion, s.fromPrevious, s.dropOff, s.medianMs, s.p90Ms].map(String).join(' '),
  );
  const unit = body.unit === 'users' ? 'user' : 'session';
  await waitFor(
    async () => JSON.stringify((await shownFunnel(p)).map((s) => s.data)) === JSON.stringify(want),
    {
      timeoutMs: 15_000,
      what: `the funnel bars equal to POST /api/funnels ${JSON.stringify(body)}`,
    },
  ).catch(async (error) => {
    throw new Error(
      `${(error as Error).message}\nshown: ${JSON.stringify(await shownFunnel(p))}\napi: ${JSON.stringify(want)}`,
    );
  });
  const shown = await shownFunnel(p);
  expect(shown.map((s) => s.label)).toEqual(api.steps.map((s) => s.label));
  expect(shown.map((s) => s.count)).toEqual(
    api.steps.map((s) => `${s.count} ${unit}${s.count === 1 ? '' : 's'}`),
  );
  expect(shown.map((s) => s.conversion)).toEqual(api.steps.map((s) => percentText(s.conversion)));
  const sent = funnelRequests().at(-1)?.body;
  expect(sent, 'the body the dashboard sent').toEqual(body);
  return api;
}

/** The units listed: each row's unit, user, entry and last-step instants, and "n of N". */
async function shownUnits() {
  return page.$$eval('#funnel-units-rows tr', (rows) =>
    (rows as BrowserElement[]).map((tr) => {
      const times = Array.from(tr.querySelectorAll('time')).map((t) => t.getAttribute('datetime'));
      return {
        unit: tr.dataset.unit ?? '',
        user: tr.querySelector('th')?.textContent ?? '',
        entryAt: times[0],
        lastStepAt: times[1],
        reached: tr.querySelector('.num')?.textContent ?? '',
      };
    }),
  );
}

/** The same from POST /api/funnels/units (every page), as shownUnits shows them. */
async function apiUnits(body: Record<string, unknown>, step: number, status: string, steps: number) {
  const all: UnitsAnswer['units'] = [];
  let cursor: string | null = null;
  do {
    const answer: UnitsAnswer = await apiSend<UnitsAnswer>(reports.base, 'POST', '/api/funnels/units', {
      ...DEFAULTS,
      ...body,
      tz,
      step,
      status,
      limit: 25,
      ...(cursor ? { cursor } : {}),
    });
    all.push(...answer.units);
    cursor = answer.nextCursor;
  } while (cursor);
  return all.map((u) => ({
    unit: u.unit,
    user: u.userId,
    entryAt: u.entryAt,
    lastStepAt: u.lastStepAt,
    reached: `${u.stepsReached} of ${steps}`,
  }));
}

/** Opens the dashboard on `search` in the shared tab and waits for it (a fresh load of the page). */
async function visit(search: string): Promise<void> {
  await page.goto(`${reports.base}/${search}`);
  await readyState(page);
}

/** Fills the builder's steps (adding or removing rows) and presses Show funnel. */
async function build(steps: { action: string; page?: string }[]): Promise<void> {
  let rows = await page.locator('#funnel-steps > li').count();
  for (; rows < steps.length; rows++) await page.click('#funnel-add');
  for (; rows > steps.length; rows--) await page.click(`${row(rows)} .step-remove`);
  for (const [i, step] of steps.entries()) {
    await page.fill(actionInput(i + 1), step.action);
    await page.fill(pageInput(i + 1), step.page ?? '');
  }
  await page.click('#funnel-builder button[type="submit"]');
}

/** The steps in the address bar. */
const urlSteps = (url: URL) => url.searchParams.getAll('step');

// ------------------------------------------------------------------------------------------ tests

describe('the funnel view on hand-made sessions', () => {
  it('starts empty with a hint, suggests actions as you type, and shows page_view → click as worked out by hand', async () => {
    await readyState(page);
    expect(await page.isVisible('#funnel-hint')).toBe(true);
    expect(await page.isVisible('#funnel-result')).toBe(false);
    expect(await page.locator('#funnel-steps > li').count()).toBe(2);
    // Nothing is computed before a funnel is defined.
    expect(funnelRequests()).toEqual([]);
    for (const id of ['fo-order', 'fo-window', 'fo-unit', 'fo-entry', 'funnel-saved']) {
      expect(await page.locator(`label[for="${id}"]`).count(), id).toBe(1);
    }
    expect(await page.textContent(`${row(2)} label[for$="-action"]`)).toBe('Step 2 Action');

    // The same suggest-as-you-type as the filter bar: GET /api/facets?facet=actions&q=…
    const facets = page.waitForRequest((r) => {
      const url = new URL(r.url());
      return url.pathname === '/api/facets' && url.searchParams.get('q') === 'pag';
    });
    await page.locator(actionInput(1)).pressSequentially('pag');
    const asked = new URL((await facets).url());
    expect(asked.searchParams.get('facet')).toBe('actions');
    await waitFor(
      async () =>
        JSON.stringify(
          await page.$$eval('#dl-actions option', (o) => o.map((x) => (x as BrowserElement).value)),
        ) === '["page_view"]',
      { what: 'page_view suggested for "pag"' },
    );
    expect(await page.getAttribute(actionInput(1), 'list')).toBe('dl-actions');
    expect(await page.getAttribute(pageInput(1), 'list')).toBe('dl-pages');

    await build([{ action: 'page_view' }, { action: 'click' }]);
    const url = await waitForUrl(page, (u) => urlSteps(u).length === 2);
    expect(urlSteps(url)).toEqual(['page_view', 'click']);
    // The options at their defaults stay out of the address.
    expect([...url.searchParams.keys()].sort()).toEqual(['step', 'step']);
    const api = await expectFunnelToEqualApi({ steps: VIEW_THEN_CLICK });
    // Step 1: alice, bob, dave, erin viewed a page (carol only clicked). Step 2: alice 252 s after her
    // first view, erin 20 s after hers; bob and dave never click. Times: lower median of [20, 252] s
    // is 20 s, the p90 252 s.
    expect(api.steps.map((s) => s.count)).toEqual([4, 2]);
    const shown = await shownFunnel();
    expect(shown.map((s) => [s.label, s.count, s.conversion])).toEqual([
      ['page_view', '4 users', '100%'],
      ['click', '2 users', '50%'],
    ]);
    expect(shown[1]!.meta).toEqual(['50% of step 1', '2 dropped off', 'median 20 s', 'p90 4 m 12 s']);
    // The bars are drawn to scale: step 2's fill is half of step 1's.
    const widths = await page.$$eval('#funnel-bars .funnel-fill', (fills) =>
      fills.map((f) => (f as unknown as { offsetWidth: number }).offsetWidth),
    );
    expect(widths[1]! / widths[0]!).toBeCloseTo(0.5, 1);
    expect(await page.isVisible('#funnel-hint')).toBe(false);
    expect(await page.textContent('#funnel-summary')).toBe(
      'Users, entries in the last 30 days (no date range chosen); each step after the previous one, within 14 days of the entry; first attempt.',
    );

    // By the role of the entry event: USER alice, dave, erin (2 clicked); ADMIN bob.
    await page.click('.funnel-roles summary');
    const byRole = await page.$$eval('#funnel-roles-table tbody tr', (rows) =>
      (rows as BrowserElement[]).map((tr) =>
        Array.from(tr.querySelectorAll('th, td')).map((c) => c.textContent ?? ''),
      ),
    );
    expect(byRole).toEqual([
      ['USER', '3', '2'],
      ['ADMIN', '1', '0'],
    ]);
    expect(byRole).toEqual(api.byRole.map((r) => [r.role, ...r.counts.map(String)]));
    await page.click('.funnel-roles summary');
    expect(pageErrors(page)).toEqual([]);
  });

  it('changes with the order, the window, what is counted and the entry, as worked out by hand', async () => {
    const counts = async () => (await shownFunnel()).map((s) => s.count);

    // Strict: the click must be the very next event. alice's first view is followed by another view.
    await page.selectOption('#fo-order', 'strict');
    await waitForUrl(page, (u) => u.searchParams.get('order') === 'strict');
    await expectFunnelToEqualApi({ steps: VIEW_THEN_CLICK, order: 'strict' });
    expect(await counts()).toEqual(['4 users', '1 user']);
    // Best attempt: alice's view of /pricing is followed by her click.
    await page.selectOption('#fo-entry', 'best');
    await waitForUrl(page, (u) => u.searchParams.get('entry') === 'best');
    await expectFunnelToEqualApi({ steps: VIEW_THEN_CLICK, order: 'strict', entry: 'best' });
    expect(await counts()).toEqual(['4 users', '2 users']);
    await page.selectOption('#fo-entry', 'first');
    await page.selectOption('#fo-order', 'sequential');
    await waitForUrl(page, (u) => !u.searchParams.has('order') && !u.searchParams.has('entry'));

    // The window: 14 minutes still holds alice's 252 s; 1 minute only erin's 20 s.
    await page.selectOption('#fo-window-unit', 'minutes');
    await waitForUrl(page, (u) => u.searchParams.get('window') === '14m');
    await expectFunnelToEqualApi({ steps: VIEW_THEN_CLICK, windowSeconds: 14 * 60 });
    expect(await counts()).toEqual(['4 users', '2 users']);
    await page.fill('#fo-window', '1');
    await page.press('#fo-window', 'Enter');
    await waitForUrl(page, (u) => u.searchParams.get('window') === '1m');
    await expectFunnelToEqualApi({ steps: VIEW_THEN_CLICK, windowSeconds: 60 });
    expect(await counts()).toEqual(['4 users', '1 user']);
    expect(await page.textContent('#funnel-summary')).toContain('within 1 minute of the entry');

    // Sessions: eight of the nine visits hold a view (not carol's); alice's first and erin's click.
    await page.fill('#fo-window', '14');
    await page.selectOption('#fo-window-unit', 'days');
    await page.selectOption('#fo-unit', 'sessions');
    await waitForUrl(page, (u) => u.searchParams.get('unit') === 'sessions' && !u.searchParams.has('window'));
    await expectFunnelToEqualApi({ steps: VIEW_THEN_CLICK, unit: 'sessions' });
    const sessions = await shownFunnel();
    expect(sessions.map((s) => [s.count, s.conversion])).toEqual([
      ['8 sessions', '100%'],
      ['2 sessions', '25%'],
    ]);
    expect(sessions[1]!.meta).toEqual(['25% of step 1', '6 dropped off', 'median 20 s', 'p90 4 m 12 s']);
    await page.selectOption('#fo-unit', 'users');
    await waitForUrl(page, (u) => !u.searchParams.has('unit'));
    await expectFunnelToEqualApi({ steps: VIEW_THEN_CLICK });
  });

  it('takes a page per step, and adds, reorders and removes steps', async () => {
    await build([
      { action: 'page_view', page: '/pricing' },
      { action: 'page_view', page: '/signup' },
    ]);
    await waitForUrl(page, (u) => urlSteps(u).join(' ') === 'page_view@/pricing page_view@/signup');
    // Viewed /pricing: alice, dave, erin; then /signup: dave, 45 s later.
    await expectFunnelToEqualApi({ steps: PRICING_THEN_SIGNUP });
    let shown = await shownFunnel();
    expect(shown.map((s) => [s.label, s.count, s.conversion])).toEqual([
      ['page_view on /pricing', '3 users', '100%'],
      ['page_view on /signup', '1 user', '33%'],
    ]);
    expect(shown[1]!.meta).toEqual(['33% of step 1', '2 dropped off', 'median 45 s', 'p90 45 s']);

    // A third step: a new empty row (nothing sent until it has an action), then a click after /signup.
    const before = requests.length;
    await page.click('#funnel-add');
    expect(await page.locator('#funnel-steps > li').count()).toBe(3);
    expect(await page.evaluate(() => document.querySelector(':focus')?.getAttribute('data-suggest'))).toBe(
      'actions',
    );
    await page.fill(actionInput(3), 'click');
    await page.press(actionInput(3), 'Enter');
    await waitForUrl(page, (u) => urlSteps(u).length === 3);
    // One request for the three steps, none for an incomplete funnel.
    expect(
      funnelRequests(before).filter((r) => ((r.body?.steps ?? []) as unknown[]).length === 3),
    ).toHaveLength(1);
    expect(incompleteSent(before)).toEqual([]);
    await expectFunnelToEqualApi({ steps: [...PRICING_THEN_SIGNUP, { actions: ['click'] }] });
    expect((await shownFunnel()).map((s) => s.count)).toEqual(['3 users', '1 user', '0 users']);

    // Step 3 up: view /pricing → click → view /signup. alice and erin click after /pricing; nobody
    // views /signup after a click.
    await page.click(`${row(3)} .step-up`);
    const moved = await waitForUrl(page, (u) => urlSteps(u)[1] === 'click');
    expect(urlSteps(moved)).toEqual(['page_view@/pricing', 'click', 'page_view@/signup']);
    expect(await page.evaluate(() => document.querySelector(':focus')?.getAttribute('aria-label'))).toBe(
      'Move step 2 up',
    );
    await expectFunnelToEqualApi({
      steps: [PRICING_THEN_SIGNUP[0], { actions: ['click'] }, PRICING_THEN_SIGNUP[1]],
    });
    shown = await shownFunnel();
    expect(shown.map((s) => s.count)).toEqual(['3 users', '2 users', '0 users']);
    expect(shown[1]!.meta).toEqual(['67% of step 1', '1 dropped off', 'median 20 s', 'p90 3 m 12 s']);
    expect(await page.isDisabled(`${row(1)} .step-up`)).toBe(true);
    expect(await page.isDisabled(`${row(3)} .step-down`)).toBe(true);

    await page.click(`${row(3)} .step-remove`);
    await waitForUrl(page, (u) => urlSteps(u).join(' ') === 'page_view@/pricing click');
    await expectFunnelToEqualApi({ steps: [PRICING_THEN_SIGNUP[0], { actions: ['click'] }] });
    // Two steps left: neither can go.
    expect(await page.isDisabled(`${row(1)} .step-remove`)).toBe(true);
    expect(await page.isDisabled(`${row(2)} .step-remove`)).toBe(true);

    // Any view → a view of /pricing → a click. alice: / then /pricing 60 s later, her click 192 s after
    // that; dave: /pricing, then /pricing again the next day (24 h), no click; bob never views
    // /pricing, erin's only view is her entry.
    await visit('?step=page_view&step=page_view%40%2Fpricing&step=click');
    await expectFunnelToEqualApi({
      steps: [{ actions: ['page_view'] }, PRICING_THEN_SIGNUP[0], { actions: ['click'] }],
    });
    shown = await shownFunnel();
    expect(shown.map((s) => [s.count, s.conversion])).toEqual([
      ['4 users', '100%'],
      ['2 users', '50%'],
      ['1 user', '25%'],
    ]);
    expect(shown[1]!.meta).toEqual(['50% of step 1', '2 dropped off', 'median 1 m', 'p90 24 h']);
    expect(shown[2]!.meta).toEqual(['50% of step 2', '1 dropped off', 'median 3 m 12 s', 'p90 3 m 12 s']);
    expect(shown[0]!.meta).toEqual([]);
    expect(pageErrors(page)).toEqual([]);
  });

  it('lists the units that converted at a step and those that dropped off before it, and downloads them as CSV', async () => {
    await visit('?step=page_view&step=click');
    await expectFunnelToEqualApi({ steps: VIEW_THEN_CLICK });
    expect(await page.isVisible('#funnel-units')).toBe(false);
    await page.click(bar(2));
    await waitFor(async () => (await shownUnits()).length === 2, { what: 'the converted units of step 2' });
    expect(await page.getAttribute(bar(2), 'aria-expanded')).toBe('true');
    expect(await page.textContent('#funnel-units-title')).toBe('Step 2: click');
    const body = { steps: VIEW_THEN_CLICK };
    const converted = await shownUnits();
    expect(converted.map((u) => [u.user, u.reached])).toEqual([
      ['alice', '2 of 2'],
      ['erin', '2 of 2'],
    ]);
    expect(converted).toEqual(await apiUnits(body, 2, 'converted', 2));
    // erin's click is 20 s after her view.
    const erin = converted[1]!;
    expect(Date.parse(erin.lastStepAt!) - Date.parse(erin.entryAt!)).toBe(20_000);
    expect(await page.textContent('#funnel-units-info')).toBe('2 of 2 users listed');
    expect(await page.isVisible('#funnel-more')).toBe(false);

    await page.click('#funnel-units [data-status="dropped"]');
    await waitFor(async () => (await shownUnits())[0]?.user === 'bob', {
      what: 'the dropped units of step 2',
    });
    const dropped = await shownUnits();
    expect(dropped.map((u) => [u.user, u.reached])).toEqual([
      ['bob', '1 of 2'],
      ['dave', '1 of 2'],
    ]);
    expect(dropped).toEqual(await apiUnits(body, 2, 'dropped', 2));
    expect(await page.getAttribute('#funnel-units [data-status="dropped"]', 'aria-pressed')).toBe('true');
    expect(await page.textContent('#funnel-units [data-status="dropped"]')).toBe('Dropped off · 2');

    // The CSV is a POST: fetched, then saved through a blob link.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#funnel-csv')]);
    expect(download.suggestedFilename()).toBe('funnel-step-2-dropped.csv');
    const records = parse(await readFile(await download.path()), { columns: true, bom: true }) as Record<
      string,
      string
    >[];
    expect(records.map((r) => [r.unit, r.userId, r.stepsReached])).toEqual([
      ['bob', 'bob', '1'],
      ['dave', 'dave', '1'],
    ]);
    expect(records.map((r) => [r.entryAt, r.lastStepAt])).toEqual(
      dropped.map((u) => [u.entryAt, u.lastStepAt]),
    );
    const csvRequest = requests.filter((r) => r.path === '/api/funnels/units').at(-1)!;
    expect(csvRequest.body).toMatchObject({ step: 2, status: 'dropped', format: 'csv' });

    // The keyboard: step 1 by Enter lists everyone who entered (nobody drops off before step 1).
    await page.focus(bar(1));
    await page.keyboard.press('Enter');
    await waitFor(async () => (await shownUnits()).length === 4, { what: 'the units of step 1' });
    expect((await shownUnits()).map((u) => u.user)).toEqual(['alice', 'bob', 'dave', 'erin']);
    expect(await page.textContent('#funnel-units [data-status="converted"]')).toBe('Entered · 4');
    expect(await page.isVisible('#funnel-units [data-status="dropped"]')).toBe(false);
    expect(await page.getAttribute(bar(1), 'aria-expanded')).toBe('true');
    expect(await page.getAttribute(bar(2), 'aria-expanded')).toBe('false');
    // Space on the same bar closes the list.
    await page.keyboard.press('Space');
    await waitFor(async () => !(await page.isVisible('#funnel-units')), { what: 'the list to close' });
    expect(await page.getAttribute(bar(1), 'aria-expanded')).toBe('false');

    // Another funnel closes the list too: its units would not match the bars.
    await page.click(bar(2));
    await waitFor(async () => (await shownUnits()).length === 2, { what: 'the list again' });
    await page.selectOption('#fo-order', 'strict');
    await expectFunnelToEqualApi({ steps: VIEW_THEN_CLICK, order: 'strict' });
    expect(await page.isVisible('#funnel-units')).toBe(false);
    expect(await page.locator('#funnel-bars .funnel-bar[aria-expanded="true"]').count()).toBe(0);
    expect(await page.locator('#funnel-bars .is-selected').count()).toBe(0);
  });

  it('lists sessions with their session key', async () => {
    await visit('?step=page_view%40%2Fpricing&step=page_view%40%2Fsignup&unit=sessions');
    await expectFunnelToEqualApi({ steps: PRICING_THEN_SIGNUP, unit: 'sessions' });
    // alice's, dave's two and erin's visits viewed /pricing; dave's two then /signup (45 s, 600 s).
    const shown = await shownFunnel();
    expect(shown.map((s) => s.count)).toEqual(['4 sessions', '2 sessions']);
    expect(shown[1]!.meta).toEqual(['50% of step 1', '2 dropped off', 'median 45 s', 'p90 10 m']);
    await page.click(bar(2));
    await waitFor(async () => (await shownUnits()).length === 2, { what: 'the converted sessions' });
    const units = await shownUnits();
    expect(units).toEqual(
      await apiUnits({ steps: PRICING_THEN_SIGNUP, unit: 'sessions' }, 2, 'converted', 2),
    );
    expect(units.map((u) => u.user)).toEqual(['dave', 'dave']);
    expect(await page.isVisible('#funnel-units-session-col')).toBe(true);
    const sessionCells = await page.$$eval('#funnel-units-rows tr td.mono', (tds) =>
      tds.map((td) => (td as BrowserElement).textContent ?? ''),
    );
    expect(sessionCells).toEqual(units.map((u) => u.unit.slice('dave '.length)));
    expect(await page.textContent('#funnel-units-info')).toBe('2 of 2 sessions listed');
  });

  it('saves a funnel by name, loads it after a reload, and deletes it', async () => {
    await visit('?step=page_view%40%2Fpricing&step=page_view%40%2Fsignup');
    await expectFunnelToEqualApi({ steps: PRICING_THEN_SIGNUP });
    await page.fill('#funnel-name', 'bad/name');
    await page.click('#funnel-save');
    expect(await page.textContent('#funnel-error')).toBe(
      'A name is 1 to 100 letters, digits, spaces and _ . - characters.',
    );
    expect(requests.filter((r) => r.method === 'PUT')).toEqual([]);

    await page.fill('#funnel-name', 'Pricing to signup');
    await page.press('#funnel-name', 'Enter');
    await waitFor(
      async () => (await page.textContent('#funnel-status')) === 'Saved as “Pricing to signup”.',
      {
        what: 'the saved message',
      },
    );
    expect(await page.isVisible('#funnel-error')).toBe(false);
    const saved = await apiGet<{ funnels: { name: string; definition: unknown }[] }>(
      reports.base,
      '/api/funnels/saved',
    );
    expect(saved.funnels).toEqual([
      expect.objectContaining({
        name: 'Pricing to signup',
        definition: { ...DEFAULTS, steps: PRICING_THEN_SIGNUP },
      }),
    ]);
    await waitFor(async () => (await page.inputValue('#funnel-saved')) === 'Pricing to signup', {
      what: 'the select to show the saved funnel',
    });
    // Saved again under that name: replaced, and said so.
    await page.click('#funnel-save');
    await waitFor(async () => (await page.textContent('#funnel-status'))?.includes('replacing'), {
      what: 'the replaced message',
    });
    expect(await page.textContent('#funnel-status')).toBe(
      'Saved as “Pricing to signup”, replacing the funnel saved under that name.',
    );
    expect((await apiGet<{ funnels: unknown[] }>(reports.base, '/api/funnels/saved')).funnels).toHaveLength(
      1,
    );
    expect(await page.isDisabled('#funnel-delete')).toBe(false);

    // Another funnel on screen, then a reload: the saved one is listed and loads by name.
    await page.click('#funnel-clear');
    await waitForUrl(page, (u) => urlSteps(u).length === 0);
    expect(await page.isVisible('#funnel-hint')).toBe(true);
    expect(await page.inputValue(actionInput(1))).toBe('');
    await page.reload();
    await readyState(page);
    await waitFor(
      async () => (await page.locator('#funnel-saved option[value="Pricing to signup"]').count()) === 1,
      {
        what: 'the saved funnel listed',
      },
    );
    expect(await page.inputValue('#funnel-saved')).toBe('');
    expect(await page.isDisabled('#funnel-delete')).toBe(true);
    await page.selectOption('#funnel-saved', 'Pricing to signup');
    await waitForUrl(page, (u) => urlSteps(u).join(' ') === 'page_view@/pricing page_view@/signup');
    await expectFunnelToEqualApi({ steps: PRICING_THEN_SIGNUP });
    expect(await page.inputValue(actionInput(1))).toBe('page_view');
    expect(await page.inputValue(pageInput(1))).toBe('/pricing');
    expect(await page.inputValue(pageInput(2))).toBe('/signup');
    expect(await page.inputValue('#funnel-name')).toBe('Pricing to signup');

    // Delete asks first; "cancel" keeps it.
    page.once('dialog', (dialog) => void dialog.dismiss());
    await page.click('#funnel-delete');
    expect(requests.filter((r) => r.method === 'DELETE')).toEqual([]);
    page.once('dialog', (dialog) => void dialog.accept());
    await page.click('#funnel-delete');
    await waitFor(async () => (await page.textContent('#funnel-status')) === 'Deleted “Pricing to signup”.', {
      what: 'the deleted message',
    });
    await waitFor(
      async () => (await page.locator('#funnel-saved option[value="Pricing to signup"]').count()) === 0,
      {
        what: 'the select without it',
      },
    );
    expect((await apiGet<{ funnels: unknown[] }>(reports.base, '/api/funnels/saved')).funnels).toEqual([]);
    // The funnel on screen stays.
    expect((await shownFunnel()).map((s) => s.count)).toEqual(['3 users', '1 user']);
  });

  it('starts from the two most frequent actions on request', async () => {
    await visit('');
    expect(await page.isVisible('#funnel-suggest')).toBe(true);
    await page.click('#funnel-suggest');
    const url = await waitForUrl(page, (u) => urlSteps(u).length === 2);
    // 14 page views, 3 clicks.
    expect(urlSteps(url)).toEqual(['page_view', 'click']);
    await expectFunnelToEqualApi({ steps: VIEW_THEN_CLICK });
    expect(await page.inputValue(actionInput(1))).toBe('page_view');
    expect(await page.inputValue(actionInput(2))).toBe('click');
    expect(await page.textContent('#funnel-status')).toBe(
      'Steps: the two most frequent actions, page_view then click.',
    );
    expect(await page.isVisible('#funnel-suggest')).toBe(false);
  });

  it('restores the funnel from the URL on a reload and on back and forward; ignores what does not read', async () => {
    const strict = { steps: VIEW_THEN_CLICK, order: 'strict', windowSeconds: 7200, entry: 'best' };
    await visit('?step=page_view&step=click&order=strict&window=2h&unit=sessions&entry=best');
    await expectFunnelToEqualApi({ ...strict, unit: 'sessions' });
    expect(await page.inputValue('#fo-order')).toBe('strict');
    expect(await page.inputValue('#fo-window')).toBe('2');
    expect(await page.inputValue('#fo-window-unit')).toBe('hours');
    expect(await page.inputValue('#fo-unit')).toBe('sessions');
    expect(await page.inputValue('#fo-entry')).toBe('best');

    await page.selectOption('#fo-unit', 'users');
    await waitForUrl(page, (u) => !u.searchParams.has('unit'));
    await expectFunnelToEqualApi(strict);
    await page.goBack();
    await waitForUrl(page, (u) => u.searchParams.get('unit') === 'sessions');
    expect(await page.inputValue('#fo-unit')).toBe('sessions');
    await expectFunnelToEqualApi({ ...strict, unit: 'sessions' });
    await page.goForward();
    await waitForUrl(page, (u) => !u.searchParams.has('unit'));
    expect(await page.inputValue('#fo-unit')).toBe('users');
    await expectFunnelToEqualApi(strict);

    // Unknown options fall back to their defaults; a step that does not read is left out.
    await visit(
      '?step=page_view&step=sign%20up&step=click~NOBODY&step=click&order=sideways&window=91d&unit=x',
    );
    await expectFunnelToEqualApi({ steps: VIEW_THEN_CLICK });
    expect(await page.locator('#funnel-steps > li').count()).toBe(2);
    // Fewer than two steps that read: no funnel, and the page works.
    await visit('?step=page_view&step=%40&role=ADMIN');
    expect(await page.isVisible('#funnel-hint')).toBe(true);
    expect(await page.isVisible('#funnel-result')).toBe(false);
    expect(pageErrors(page)).toEqual([]);
  });

  it('follows the user, role and date filters; the action filter does not apply: it is said and not sent', async () => {
    await visit('?step=page_view&step=click');
    await expectFunnelToEqualApi({ steps: VIEW_THEN_CLICK });
    expect(await page.isVisible('#funnel-action-note')).toBe(false);

    await page.selectOption('#f-role', 'ADMIN');
    await waitForUrl(page, (u) => u.searchParams.get('role') === 'ADMIN');
    // bob: a view, no click.
    await expectFunnelToEqualApi({ steps: VIEW_THEN_CLICK }, { role: 'ADMIN' });
    expect((await shownFunnel()).map((s) => s.count)).toEqual(['1 user', '0 users']);
    await page.click('#reset-filters');
    await waitForUrl(page, (u) => !u.searchParams.has('role') && urlSteps(u).length === 2);

    // Today: bob's view and erin's view and click (alice's click is 6 days ago).
    await page.fill('#f-from', days[0]!.day);
    await page.fill('#f-to', days[0]!.day);
    await page.press('#f-to', 'Enter');
    await waitForUrl(page, (u) => u.searchParams.get('to') === days[0]!.day);
    const bounds = await page.evaluate((day) => {
      const [y, m, d] = day.split('-').map(Number) as [number, number, number];
      return { from: new Date(y, m - 1, d).toISOString(), to: new Date(y, m - 1, d + 1).toISOString() };
    }, days[0]!.day);
    await expectFunnelToEqualApi({ steps: VIEW_THEN_CLICK }, bounds);
    expect((await shownFunnel()).map((s) => s.count)).toEqual(['2 users', '1 user']);
    await page.click('#reset-filters');
    await waitForUrl(page, (u) => !u.searchParams.has('from'));

    await page.fill('#f-user', 'erin');
    await page.press('#f-user', 'Enter');
    await waitForUrl(page, (u) => u.searchParams.get('userId') === 'erin');
    await expectFunnelToEqualApi({ steps: VIEW_THEN_CLICK }, { userId: 'erin' });
    expect((await shownFunnel()).map((s) => s.count)).toEqual(['1 user', '1 user']);
    await page.click('#reset-filters');
    await waitForUrl(page, (u) => !u.searchParams.has('userId'));

    const since = requests.length;
    await page.fill('#f-action', 'click');
    await page.press('#f-action', 'Enter');
    await waitForUrl(page, (u) => u.searchParams.get('action') === 'click');
    await waitFor(async () => page.isVisible('#funnel-action-note'), { what: 'the action note' });
    await waitFor(() => funnelRequests(since).length > 0, { what: 'the funnel asked again' });
    await expectFunnelToEqualApi({ steps: VIEW_THEN_CLICK });
    expect(funnelRequests(since).every((r) => r.body && !('action' in r.body))).toBe(true);
    expect(await page.isVisible('#funnel-error')).toBe(false);
    await page.click('#reset-filters');
    await waitForUrl(page, (u) => !u.searchParams.has('action') && urlSteps(u).length === 2);
    expect(await page.isVisible('#funnel-action-note')).toBe(false);
  });

  it('explains a step the API refuses by the builder, and keeps the bars with a note when a refresh fails', async () => {
    await visit('?step=page_view&step=click');
    await expectFunnelToEqualApi({ steps: VIEW_THEN_CLICK });

    // Missing: said at once, nothing sent.
    const before = requests.length;
    await page.fill(actionInput(2), '');
    await page.click('#funnel-builder button[type="submit"]');
    expect(await page.textContent('#funnel-error')).toBe('Step 2 needs an action.');
    expect(incompleteSent(before)).toEqual([]);
    expect(new URL(page.url()).searchParams.getAll('step')).toEqual(['page_view', 'click']);

    // Refused by the API (400 naming body.steps.1.actions.0).
    await page.fill(actionInput(2), 'sign up');
    await page.click('#funnel-builder button[type="submit"]');
    await waitFor(async () => (await page.textContent('#funnel-error'))?.startsWith('The API refused'), {
      what: 'the refusal by the builder',
    });
    expect(await page.textContent('#funnel-error')).toBe(
      'The API refused this funnel: step 2, action 1 is not an action name (letters, digits and _ . : - only, up to 64).',
    );
    expect(await page.getAttribute('#funnel-error', 'role')).toBe('alert');
    expect(await page.isVisible('#funnel-result')).toBe(false);

    await page.fill(actionInput(2), 'click');
    await page.press(actionInput(2), 'Enter');
    await expectFunnelToEqualApi({ steps: VIEW_THEN_CLICK });
    expect(await page.isVisible('#funnel-error')).toBe(false);

    const shown = await shownFunnel();
    await page.route('**/api/funnels', (route) =>
      route.fulfill({
        status: 503,
        contentType: 'application/json',
        body: '{"status":503,"code":"UNAVAILABLE","message":"statement timeout","details":[]}',
      }),
    );
    try {
      await page.selectOption('#fo-entry', 'best');
      await waitFor(() => page.isVisible('#funnel-failed'), { what: 'the funnel failure note' });
      expect(await page.textContent('#funnel-failed')).toBe(
        'Not updated: the API answered 503 (statement timeout).',
      );
      expect(await shownFunnel()).toEqual(shown);
      expect(await page.getAttribute('main', 'data-state')).toBe('ready');
    } finally {
      await page.unroute('**/api/funnels');
    }
    await page.selectOption('#fo-entry', 'first');
    await waitFor(async () => !(await page.isVisible('#funnel-failed')), { what: 'the note to go' });
    await expectFunnelToEqualApi({ steps: VIEW_THEN_CLICK });
    expect(pageErrors(page)).toEqual([]);
  });

  it('fits a phone: nothing scrolls sideways and the bars stack; screenshots', async () => {
    await visit('?step=page_view&step=click');
    await expectFunnelToEqualApi({ steps: VIEW_THEN_CLICK });
    await page.click(bar(2));
    await waitFor(async () => (await shownUnits()).length === 2, { what: 'the units of step 2' });
    await screenshotsLightDark(page, 'funnel-', '#funnel-section');
    await expectNoSidewaysScrollAtPhoneWidth(page);
    const box = (selector: string) =>
      page.$eval(selector, (el) => {
        const r = (el as BrowserElement).getBoundingClientRect();
        return { top: r.top, bottom: r.bottom, left: r.left, right: r.right };
      });
    // On a phone the label sits above the bar, which takes the row's width.
    const label = await box('#funnel-bars > li:nth-child(2) .funnel-label');
    const track = await box('#funnel-bars > li:nth-child(2) .funnel-track');
    expect(track.top).toBeGreaterThanOrEqual(label.bottom);
    expect(track.right - track.left).toBeGreaterThan(PHONE.width * 0.7);
    // A step's fields stack: the page field below the action field.
    const action = await box(actionInput(1));
    const pageField = await box(pageInput(1));
    expect(pageField.top).toBeGreaterThanOrEqual(action.bottom);
    await page.setViewportSize(DESKTOP);
    // On a desktop they share a line.
    expect((await box(pageInput(1))).top).toBeCloseTo((await box(actionInput(1))).top, 0);
    const wide = await box('#funnel-bars > li:nth-child(2) .funnel-track');
    const wideLabel = await box('#funnel-bars > li:nth-child(2) .funnel-label');
    expect(wide.left).toBeGreaterThan(wideLabel.right);
  });

  it('refreshes on live data at most once per 5 s, without moving the page', async () => {
    await visit('?step=page_view&step=click');
    await expectFunnelToEqualApi({ steps: VIEW_THEN_CLICK });
    await page.setViewportSize({ width: 1280, height: 600 });
    await waitForStream(page);
    await page.evaluate(() => window.scrollTo(0, 900));
    const scrollY = await page.evaluate(() => window.scrollY);
    expect(scrollY).toBe(900);
    const since = requests.length;
    // A busy stream: a new visitor every 0.4 s for 12 s, every third clicking a second later.
    const visitors = 30;
    for (let i = 0; i < visitors; i++) {
      const at = Date.now();
      const rows = [
        interactionRow({ userId: `live-${i}`, page: '/pricing', occurredAt: at, receivedAt: at }),
      ];
      if (i % 3 === 0)
        rows.push(
          interactionRow({
            userId: `live-${i}`,
            action: 'click',
            page: '/pricing',
            occurredAt: at + 1000,
            receivedAt: at,
          }),
        );
      await store(db.pool, rows);
      await new Promise((resolve) => setTimeout(resolve, 400));
    }
    await waitFor(async () => (await shownFunnel())[0]?.count === `${4 + visitors} users`, {
      timeoutMs: 15_000,
      what: 'the funnel to count the new visitors',
    });
    const api = await expectFunnelToEqualApi({ steps: VIEW_THEN_CLICK });
    expect(api.steps.map((s) => s.count)).toEqual([4 + visitors, 2 + visitors / 3]);
    const times = funnelRequests(since).map((r) => r.at);
    const gaps = times.slice(1).map((at, i) => at - times[i]!);
    console.log(
      `dashboard live update: ${times.length} requests to /api/funnels, gaps ${gaps.join(', ')} ms`,
    );
    expect(times.length).toBeGreaterThanOrEqual(2);
    expect(Math.min(...gaps), 'the closest two funnel requests').toBeGreaterThanOrEqual(4500);
    expect(await page.evaluate(() => window.scrollY)).toBe(scrollY);
    await page.setViewportSize(DESKTOP);
  });

  it('pages through a step’s units with More', async () => {
    // After the live visitors: 34 users entered (25 on the first page, 9 on the second).
    await page.click(bar(1));
    await waitFor(async () => (await shownUnits()).length === 25, { what: 'the first page of units' });
    expect(await page.textContent('#funnel-units-info')).toBe('25 of 34 users listed');
    expect(await page.isVisible('#funnel-more')).toBe(true);
    await page.click('#funnel-more');
    await waitFor(async () => (await shownUnits()).length === 34, { what: 'the second page' });
    expect(await page.isVisible('#funnel-more')).toBe(false);
    expect(await page.textContent('#funnel-units-info')).toBe('34 of 34 users listed');
    const units = await shownUnits();
    expect(units).toEqual(await apiUnits({ steps: VIEW_THEN_CLICK }, 1, 'converted', 2));
    expect(new Set(units.map((u) => u.unit)).size).toBe(34);
    const pages = requests.filter((r) => r.path === '/api/funnels/units').slice(-2);
    expect(pages[0]!.body).not.toHaveProperty('cursor');
    expect(pages[1]!.body).toHaveProperty('cursor');
    expect(pageErrors(page)).toEqual([]);
  });

  it('never asks twice side by side when the API is slow', async () => {
    await visit('?step=page_view&step=click');
    await expectFunnelToEqualApi({ steps: VIEW_THEN_CLICK });
    await waitForStream(page);
    // Each answer takes 6 s, longer than the 5 s between two refreshes.
    const spans: { start: number; end: number }[] = [];
    const aborted: string[] = [];
    const onFailed = (request: { url(): string }) => {
      if (new URL(request.url()).pathname === '/api/funnels') aborted.push(request.url());
    };
    page.on('requestfailed', onFailed);
    await page.route('**/api/funnels', async (route) => {
      const span = { start: Date.now(), end: 0 };
      spans.push(span);
      await new Promise((resolve) => setTimeout(resolve, 6000));
      try {
        await route.fulfill({ response: await route.fetch() });
      } catch {
        // The page gave up on it.
      } finally {
        span.end = Date.now();
      }
    });
    try {
      for (let i = 0; i < 14; i++) {
        await store(db.pool, [interactionRow({ userId: `slow-${i}`, page: '/pricing' })]);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
      await waitFor(() => spans.length >= 2 && spans.every((s) => s.end > 0), {
        timeoutMs: 20_000,
        what: 'two slow answers',
      });
    } finally {
      await page.unroute('**/api/funnels');
      page.off('requestfailed', onFailed);
    }
    console.log(
      `dashboard slow funnel: ${spans.map((s) => `${s.start % 100_000}-${s.end % 100_000}`).join(', ')}`,
    );
    for (const [i, span] of spans.slice(1).entries())
      expect(span.start, `request ${i + 2} starts after request ${i + 1} ended`).toBeGreaterThanOrEqual(
        spans[i]!.end,
      );
    expect(aborted).toEqual([]);
    await waitFor(async () => (await shownFunnel())[0]?.count === '48 users', {
      timeoutMs: 20_000,
      what: 'the funnel to count every visitor',
    });
  });

  it('waits while the tab is hidden, and catches up when it is shown', async () => {
    await expectFunnelToEqualApi({ steps: VIEW_THEN_CLICK });
    const hide = (hidden: boolean) =>
      page.evaluate((value) => {
        const doc = document as unknown as {
          dispatchEvent(event: unknown): void;
        };
        Object.defineProperty(doc, 'hidden', { configurable: true, get: () => value });
        doc.dispatchEvent(
          new (globalThis as unknown as { Event: new (type: string) => unknown }).Event('visibilitychange'),
        );
      }, hidden);
    await hide(true);
    const since = requests.length;
    const before = (await shownFunnel())[0]!.count;
    for (let i = 0; i < 12; i++) {
      await store(db.pool, [interactionRow({ userId: `hidden-${i}`, page: '/pricing' })]);
      await new Promise((resolve) => setTimeout(resolve, 600));
    }
    // The stream kept sending stats (the cards follow them), the funnel was not asked.
    const stats = await apiGet<{ totalActions: number }>(
      reports.base,
      `/api/stats?tz=${encodeURIComponent(tz)}`,
    );
    await waitFor(
      async () =>
        (await page.getAttribute('[data-card="totalActions"]', 'data-value')) === String(stats.totalActions),
      { timeoutMs: 10_000, what: 'the cards to follow the stream while hidden' },
    );
    expect(funnelRequests(since)).toEqual([]);
    expect((await shownFunnel())[0]!.count).toBe(before);
    const shownAt = Date.now();
    await hide(false);
    await waitFor(async () => (await shownFunnel())[0]?.count === '60 users', {
      timeoutMs: 10_000,
      what: 'the funnel to catch up',
    });
    expect(funnelRequests(since).length).toBeGreaterThanOrEqual(1);
    expect(funnelRequests(since)[0]!.at - shownAt).toBeLessThan(1500);
    await expectFunnelToEqualApi({ steps: VIEW_THEN_CLICK });
    expect(pageErrors(page)).toEqual([]);
  });
});
