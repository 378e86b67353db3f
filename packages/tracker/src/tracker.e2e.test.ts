// Whole stack in a browser: the demo site (served by query) loads the snippet from ingest; a user
// clicks, buys, signs up and navigates; the events go through Kafka and the processor into
// PostgreSQL, and the query API must return each of them once, with the right action, page and user.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildApp as buildIngest } from '@tracker/ingest';
import { loadIngestConfig } from '@tracker/ingest/config';
import { createKafka } from '@tracker/kafka';
import { buildApp as buildProcessor } from '@tracker/processor';
import { loadProcessorConfig } from '@tracker/processor/config';
import { buildApp as buildQuery } from '@tracker/query';
import { loadQueryConfig } from '@tracker/query/config';
import { createTestDatabase, stackConfig, type TestDatabase, uniqueName, waitFor } from '@tracker/test-utils';
import { type LaunchedChromium, launchChromium } from '@tracker/test-utils/chromium';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tracker } from './types.js';

const TRACKER_JS = fileURLToPath(new URL('../dist/tracker.js', import.meta.url));
/** Bound for events to travel browser -> ingest -> Kafka -> processor -> PostgreSQL (a timeout, not a target). */
const ARRIVAL_TIMEOUT_MS = 60_000;

interface Item {
  eventId: string;
  userId: string;
  role: string;
  action: string;
  page: string;
  sessionId: string | null;
  properties: Record<string, string | number | boolean>;
}

const stack = stackConfig();
const topics = {
  interactions: uniqueName('tracker_e2e_interactions'),
  apiHits: uniqueName('tracker_e2e_api_hits'),
  dlq: uniqueName('tracker_e2e_dlq'),
};
const kafka = createKafka({ ...stack, KAFKA_CLIENT_ID: 'tracker-e2e' });
const admin = kafka.admin();

type TrackerApp = Awaited<ReturnType<typeof buildIngest>>;

/** Every Content-Security-Policy violation of a page (the demo runs under the query service's CSP). */
const RECORD_CSP_VIOLATIONS = `
  window.__csp = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__csp.push(e.effectiveDirective + ' ' + (e.blockedURI || '?'));
  });
`;

let db: TestDatabase;
let ingest: TrackerApp | undefined;
let processor: TrackerApp | undefined;
let query: TrackerApp | undefined;
let browser: LaunchedChromium | undefined;
let ingestUrl = '';
let queryUrl = '';

beforeAll(async () => {
  if (!existsSync(TRACKER_JS)) {
    throw new Error(
      `${TRACKER_JS} is missing: build the snippet first (pnpm turbo run build --filter @tracker/tracker)`,
    );
  }
  await admin.connect();
  await admin.createTopics({
    topics: [
      { topic: topics.interactions, numPartitions: 3 },
      { topic: topics.apiHits, numPartitions: 1 },
      { topic: topics.dlq, numPartitions: 1 },
    ],
    waitForLeaders: true,
  });
  db = await createTestDatabase('tracker_e2e');
  const kafkaEnv = {
    KAFKA_BROKERS: stack.KAFKA_BROKERS.join(','),
    SCHEMA_REGISTRY_URL: stack.SCHEMA_REGISTRY_URL,
  };

  ingest = await buildIngest(
    loadIngestConfig({
      ...kafkaEnv,
      LOG_LEVEL: 'warn',
      INGEST_TOPIC: topics.interactions,
      INGEST_SUBJECT: 'tracker-e2e-value',
      INGEST_API_HITS_TOPIC: topics.apiHits,
      INGEST_RATE_LIMIT_MAX: '0',
      INGEST_TRACKER_JS_PATH: TRACKER_JS,
      // The demo's own allow list (data-allow-params="plan,step"): ingest strips the rest again.
      INGEST_URL_QUERY_ALLOW: 'utm_*,plan,step',
    }),
  );
  processor = await buildProcessor(
    loadProcessorConfig({
      ...kafkaEnv,
      LOG_LEVEL: 'warn',
      DATABASE_URL: db.url,
      PROCESSOR_TOPIC: topics.interactions,
      PROCESSOR_API_HITS_TOPIC: topics.apiHits,
      PROCESSOR_DLQ_TOPIC: topics.dlq,
      PROCESSOR_GROUP_ID: uniqueName('tracker_e2e_processor'),
    }),
  );
  ingestUrl = await ingest.listen({ host: '127.0.0.1', port: 0 });
  // The demo pages load the snippet from the ingest the query service is configured with.
  query = await buildQuery(
    loadQueryConfig({
      ...kafkaEnv,
      LOG_LEVEL: 'warn',
      DATABASE_URL: db.url,
      QUERY_RATE_LIMIT_MAX: '0',
      QUERY_DEMO_INGEST_URL: ingestUrl,
    }),
  );
  queryUrl = await query.listen({ host: '127.0.0.1', port: 0 });
  await processor.ready();
  browser = await launchChromium({ viewport: { width: 1280, height: 800 } });
  await browser.context.addInitScript({ content: RECORD_CSP_VIOLATIONS });
});

afterAll(async () => {
  await browser?.close();
  await query?.close();
  await ingest?.close();
  await processor?.close();
  await db?.drop();
  await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => {});
  await admin.disconnect();
});

/** Every stored interaction of a user (newest first), through the query API. */
async function interactionsOf(userId: string): Promise<Item[]> {
  const res = await fetch(`${queryUrl}/api/interactions?userId=${encodeURIComponent(userId)}&limit=500`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: Item[] }).items;
}

interface Expected {
  action: string;
  page: string;
  properties?: Record<string, string | number | boolean>;
}

const matches = (item: Item, e: Expected) =>
  item.action === e.action &&
  item.page === e.page &&
  Object.entries(e.properties ?? {}).every(([k, v]) => item.properties[k] === v);

/** Waits until every expected event of `userId` is stored, then returns all of theirs. */
async function waitForEvents(userId: string, expected: Expected[]): Promise<Item[]> {
  let last: Item[] = [];
  try {
    return await waitFor(
      async () => {
        last = await interactionsOf(userId);
        return expected.every((e) => last.some((item) => matches(item, e))) ? last : undefined;
      },
      { timeoutMs: ARRIVAL_TIMEOUT_MS, intervalMs: 500, what: `the events of ${userId}` },
    );
  } catch (error) {
    const missing = expected.filter((e) => !last.some((item) => matches(item, e)));
    const got = last.map((i) => `${i.action} ${i.page} ${JSON.stringify(i.properties)}`).join('\n  ');
    throw new Error(`${(error as Error).message}\nmissing: ${JSON.stringify(missing)}\nstored:\n  ${got}`);
  }
}

/** The page's tracker, once the snippet has loaded from ingest. */
async function trackerUser(page: Page): Promise<string> {
  await page.waitForFunction(() => (window as unknown as { tracker?: Tracker }).tracker?.enabled === true);
  return page.evaluate(() => (window as unknown as { tracker: Tracker }).tracker.userId());
}

describe('tracker snippet on the demo site, through the whole stack', () => {
  it('stores page views, clicks, a purchase, the sign-up form and SPA navigation under the right users', async () => {
    const context = browser!.context;
    const sent: string[] = [];
    context.on('request', (request) => {
      if (request.url().startsWith(ingestUrl)) sent.push(new URL(request.url()).pathname);
    });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));

    // Home (the demo's ingest is QUERY_DEMO_INGEST_URL, this test's ingest).
    await page.goto(`${queryUrl}/demo/index.html`);
    const anonymous = await trackerUser(page);
    expect(anonymous).toMatch(/^anon-[0-9a-f-]{36}$/);
    await page.click('#watch-video');
    await Promise.all([page.waitForURL('**/demo/pricing.html'), page.click('#cta-pricing')]);

    // Pricing: a custom event from the page's own code, then on to sign-up.
    expect(await trackerUser(page)).toBe(anonymous);
    await page.click('#buy-pro');
    await Promise.all([page.waitForURL('**/demo/signup.html?plan=pro'), page.click('#plan-pro')]);

    // Sign-up: the snippet records the form (never its values); the page identifies the new user.
    const username = uniqueName('e2e-user').replace(/_/g, '-');
    await trackerUser(page);
    await page.fill('input[name="username"]', username);
    await page.fill('input[name="email"]', 'ada@example.com');
    await page.fill('input[name="password"]', 'hunter2-secret');
    await page.selectOption('select[name="role"]', 'ADMIN');
    await Promise.all([page.waitForURL('**/demo/welcome.html'), page.click('#signup-submit')]);

    // Welcome and docs, now as the identified user; the docs steps switch with history.pushState.
    expect(await trackerUser(page)).toBe(username);
    await Promise.all([page.waitForURL('**/demo/docs/getting-started.html'), page.click('#welcome-docs')]);
    await trackerUser(page);
    await page.click('#step-link-2');
    expect(page.url()).toBe(`${queryUrl}/demo/docs/getting-started.html?step=2`);
    await page.evaluate(() => (window as unknown as { tracker: Tracker }).tracker.flush());
    expect(await page.evaluate('window.__csp')).toEqual([]);
    await page.close({ runBeforeUnload: true });

    const beforeSignup = await waitForEvents(anonymous, [
      {
        action: 'page_view',
        page: '/demo/index.html',
        properties: { title: 'Home · Acme Analytics (demo)' },
      },
      {
        action: 'click',
        page: '/demo/index.html',
        properties: { tag: 'button', id: 'watch-video', 'data-track': 'watch-video' },
      },
      {
        action: 'click',
        page: '/demo/index.html',
        properties: { tag: 'a', id: 'cta-pricing', href: '/demo/pricing.html' },
      },
      {
        action: 'page_view',
        page: '/demo/pricing.html',
        properties: { referrer: `${queryUrl}/demo/index.html` },
      },
      { action: 'click', page: '/demo/pricing.html', properties: { id: 'buy-pro', 'data-purchase': 'pro' } },
      { action: 'purchase', page: '/demo/pricing.html', properties: { plan: 'pro', amount: 29 } },
      {
        action: 'click',
        page: '/demo/pricing.html',
        properties: { id: 'plan-pro', href: '/demo/signup.html' },
      },
      { action: 'page_view', page: '/demo/signup.html?plan=pro' },
      {
        action: 'click',
        page: '/demo/signup.html?plan=pro',
        properties: { id: 'signup-submit', text: 'Create account' },
      },
      {
        action: 'form_submit',
        page: '/demo/signup.html?plan=pro',
        properties: { id: 'signup-form', name: 'signup', action: '/demo/welcome.html', method: 'post' },
      },
    ]);
    const afterSignup = await waitForEvents(username, [
      { action: 'signup', page: '/demo/signup.html?plan=pro', properties: { plan: 'pro' } },
      { action: 'page_view', page: '/demo/welcome.html' },
      { action: 'click', page: '/demo/welcome.html', properties: { id: 'welcome-docs' } },
      { action: 'page_view', page: '/demo/docs/getting-started.html' },
      { action: 'click', page: '/demo/docs/getting-started.html', properties: { id: 'step-link-2' } },
      { action: 'page_view', page: '/demo/docs/getting-started.html?step=2' },
    ]);

    // The right role: anonymous visitors are guests, the signed-up user is who the page identified.
    expect(new Set(beforeSignup.map((i) => i.role))).toEqual(new Set(['GUEST']));
    expect(new Set(afterSignup.filter((i) => i.action !== 'identify').map((i) => i.role))).toEqual(
      new Set(['ADMIN']),
    );
    // One session for the whole visit (same tab, minutes apart).
    const sessions = new Set([...beforeSignup, ...afterSignup].map((i) => i.sessionId));
    expect(sessions.size).toBe(1);
    // Each event once, whether it went by fetch or by beacon while a page was being left.
    const ids = [...beforeSignup, ...afterSignup].map((i) => i.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(
      beforeSignup.filter((i) => i.action === 'page_view' && i.page === '/demo/index.html'),
    ).toHaveLength(1);
    // Nothing typed into the form was sent.
    const everything = JSON.stringify([...beforeSignup, ...afterSignup]);
    for (const secret of ['ada@example.com', 'hunter2-secret']) expect(everything).not.toContain(secret);
    // The snippet came from ingest and used both ways of sending.
    // The snippet came from ingest, and events went both ways: fetch while pages were open,
    // sendBeacon while they were being left.
    expect(sent).toContain('/v1/tracker.js');
    expect(sent).toContain('/v1/batch');
    const metrics = await (await fetch(`${ingestUrl}/metrics`)).text();
    const accepted = (route: string) =>
      Number(
        new RegExp(`^ingest_events_accepted_total\\{route="${route}"[^}]*\\} (\\d+)`, 'm').exec(
          metrics,
        )?.[1] ?? 0,
      );
    expect(accepted('/v1/batch')).toBeGreaterThan(0);
    expect(accepted('/v1/beacon')).toBeGreaterThan(0);
    // The identify call arrived, linking the anonymous id to the user.
    const identified = await waitFor(
      async () => {
        const { rows } = await db.pool.query<{ role: string; traits: Record<string, unknown> }>(
          'SELECT role, traits FROM identifies WHERE user_id = $1',
          [username],
        );
        return rows[0];
      },
      { timeoutMs: ARRIVAL_TIMEOUT_MS, what: `the identify call of ${username}` },
    );
    expect(identified).toEqual({ role: 'ADMIN', traits: { anonymousId: anonymous, plan: 'pro' } });
    expect(pageErrors).toEqual([]);
  });
});

describe('privacy in the browser', () => {
  /** The events a page sent to ingest (fetch and beacon bodies). */
  function sentEvents(
    bodies: string[],
  ): { action: string; page: string; properties: Record<string, unknown> }[] {
    return bodies.flatMap((body) => {
      try {
        return (JSON.parse(body) as { events?: [] }).events ?? [];
      } catch {
        return [];
      }
    });
  }

  it('sends /x?token=abc&utm_source=x#access_token=y as /x?utm_source=x: no token, no fragment', async () => {
    const page = await browser!.context.newPage();
    const bodies: string[] = [];
    page.on('request', (request) => {
      if (request.url().startsWith(ingestUrl)) bodies.push(request.postData() ?? '');
    });
    await page.goto(`${queryUrl}/demo/index.html?token=abc&utm_source=x#access_token=y`);
    await trackerUser(page);
    await page.click('#watch-video');
    await page.evaluate(() => (window as unknown as { tracker: Tracker }).tracker.flush());
    const events = sentEvents(bodies);
    expect(events.map((e) => e.action)).toEqual(expect.arrayContaining(['page_view', 'click']));
    for (const event of events) expect(event.page).toBe('/demo/index.html?utm_source=x');
    const all = bodies.join('\n');
    for (const secret of ['token=abc', 'access_token', '#']) expect(all).not.toContain(secret);
    await page.close();
  });

  it.each([
    ['Global Privacy Control', 'globalPrivacyControl', 'true'],
    ['Do-Not-Track', 'doNotTrack', "'1'"],
  ])('with %s on, the demo sends nothing and says so', async (label, property, value) => {
    const page = await browser!.context.newPage();
    await page.addInitScript({
      content: `Object.defineProperty(Navigator.prototype, '${property}', { get: () => ${value}, configurable: true });`,
    });
    const requested: string[] = [];
    page.on('request', (request) => {
      if (request.url().startsWith(ingestUrl)) requested.push(new URL(request.url()).pathname);
    });
    await page.goto(`${queryUrl}/demo/index.html`);
    await page.waitForFunction(() => (window as unknown as { tracker?: Tracker }).tracker?.enabled === false);
    await page.waitForSelector(`#demo-who:text("${label} is on: nothing is sent")`);
    await page.click('#watch-video');
    await page.evaluate(() => (window as unknown as { tracker: Tracker }).tracker.flush());
    await page.close({ runBeforeUnload: true });
    expect(requested).toEqual(['/v1/tracker.js']);
  });
});
