import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type IdentifyRow,
  type InteractionRow,
  type pg,
  recordApiHits,
  storeIdentifies,
  storeInteractions,
} from '@tracker/db';
import type { TrackerApp } from '@tracker/http';
import type { Role } from '@tracker/schemas';
import { prismaFor, waitFor } from '@tracker/test-utils';
import { type LaunchedChromium, launchChromium } from '@tracker/test-utils/chromium';
import type { BrowserContext, Page } from 'playwright-core';
import { buildApp } from './app.js';
import { loadQueryConfig } from './config.js';

/** test-artifacts/ at the repository root (git-ignored): screenshots of the dashboard tests. */
export const ARTIFACTS_DIR = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));

/** Builds the dashboard (web/ -> public/) so the browser tests always run the current sources. */
export function buildDashboard(): void {
  execFileSync(process.execPath, [fileURLToPath(new URL('../web/build.mjs', import.meta.url))], {
    stdio: 'pipe',
  });
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
}

export interface RunningQuery {
  app: TrackerApp;
  /** http://127.0.0.1:<port> */
  base: string;
  close(): Promise<void>;
}

/** The real query app on a random port, against `databaseUrl`. */
export async function startQuery(
  databaseUrl: string,
  env: Record<string, string> = {},
  port = 0,
): Promise<RunningQuery> {
  const config = loadQueryConfig({
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: 'warn',
    // The browser tests make a few hundred requests in a minute.
    QUERY_RATE_LIMIT_MAX: '0',
    QUERY_STREAM_LAG_MS: '1000',
    ...env,
  });
  // API hits are flushed once an hour here, so the card's number does not move while a test compares it.
  const app = await buildApp(config, { apiHitsFlushMs: 3_600_000 });
  await app.listen({ host: '127.0.0.1', port });
  const address = app.server.address();
  if (address === null || typeof address === 'string')
    throw new Error('the query app is not listening on TCP');
  return { app, base: `http://127.0.0.1:${address.port}`, close: () => app.close() };
}

/** GET a query API path as JSON (fails on a non-2xx answer). */
export async function apiGet<T>(base: string, path: string, key?: string): Promise<T> {
  const response = await fetch(`${base}${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  if (!response.ok) throw new Error(`GET ${path} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

/** Sends a JSON body (POST, PUT) or none (DELETE) to a query API path; fails on a non-2xx answer. */
export async function apiSend<T>(
  base: string,
  method: 'POST' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<T> {
  const response = await fetch(`${base}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  if (!response.ok)
    throw new Error(`${method} ${path} answered ${response.status}: ${await response.text()}`);
  return (response.status === 204 ? undefined : await response.json()) as T;
}

/** A deterministic PRNG (mulberry32), so the seeded data set is the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let offset = 0;

/** An interaction as the processor stores it; override any field. */
export function interactionRow(overrides: Partial<InteractionRow> = {}): InteractionRow {
  const now = Date.now();
  offset += 1;
  return {
    eventId: randomUUID(),
    userId: 'user-1',
    role: 'USER',
    action: 'page_view',
    page: '/',
    occurredAt: now,
    receivedAt: now,
    sessionId: null,
    properties: {},
    userAgent: null,
    isBot: false,
    partition: 0,
    offset: String(offset),
    ...overrides,
  };
}

/** The classic injection strings: valid data that must show as text. */
export const INJECTION = {
  userId: '<img src=x onerror=window.__pwned=1>',
  page: '/<script>window.__pwned=1</script>',
  note: '"><svg onload=window.__pwned=1>',
} as const;

export const SEED = {
  users: 36,
  /** Identified users who never did anything (they count in totalUsers and the Gini). */
  idleUsers: 6,
  interactions: 260,
  days: 18,
  actions: ['page_view', 'click', 'form_submit', 'signup', 'download'],
  pages: [
    '/',
    '/pricing',
    '/docs/intro',
    '/docs/api/stats',
    '/docs/faq',
    '/blog/launch',
    '/signup',
    '/settings',
  ],
} as const;

/** Stores a realistic, skewed data set through the processor's storage path (raw rows + aggregates). */
export async function seedDashboard(pool: pg.Pool): Promise<{ rows: InteractionRow[] }> {
  const random = prng(42);
  const pick = <T>(items: readonly T[], skew: number): T =>
    items[Math.floor(random() ** skew * items.length)]!;
  const roleOf = (i: number): Role => (i % 9 === 0 ? 'ADMIN' : i % 3 === 0 ? 'GUEST' : 'USER');
  const now = Date.now();
  const rows: InteractionRow[] = [];
  for (let i = 0; i < SEED.interactions; i++) {
    const user = Math.floor(random() ** 2.2 * SEED.users);
    const occurredAt = now - Math.floor(random() * SEED.days * 86_400_000) - 60_000;
    rows.push(
      interactionRow({
        userId: `user-${String(user).padStart(2, '0')}`,
        role: roleOf(user),
        action: pick(SEED.actions, 1.8),
        page: pick(SEED.pages, 1.5),
        occurredAt,
        receivedAt: occurredAt + 150,
        sessionId: `s-${user}-${Math.floor(occurredAt / 3_600_000)}`,
        properties: i % 7 === 0 ? { plan: 'pro', seats: 3 } : {},
        partition: i % 3,
      }),
    );
  }
  rows.push(
    interactionRow({
      userId: INJECTION.userId,
      role: 'GUEST',
      action: 'click',
      page: INJECTION.page,
      occurredAt: now - 120_000,
      receivedAt: now - 119_000,
      properties: { note: INJECTION.note },
    }),
  );
  const idle: IdentifyRow[] = Array.from({ length: SEED.idleUsers }, (_, i) => ({
    eventId: randomUUID(),
    userId: `idle-${i}`,
    role: i % 2 === 0 ? 'USER' : 'GUEST',
    traits: { plan: 'free' },
    occurredAt: now - 20 * 86_400_000,
    receivedAt: now - 20 * 86_400_000,
    partition: 0,
    offset: String(++offset),
  }));
  await store(pool, rows, idle);
  // Requests the ingest service served (the query's own are flushed hourly in these tests).
  await recordApiHits(prismaFor(pool), [{ batchId: randomUUID(), service: 'ingest', hits: 4321 }]);
  return { rows };
}

/** One visit of the sessions and retention data set: [action, page, seconds after its start]. */
interface SeedSession {
  userId: string;
  role: Role;
  /** Calendar days before today in the viewer's zone (0: today). */
  daysAgo: number;
  events: [action: string, page: string, atSeconds: number][];
}

/**
 * Nine sessions of five users over the last seven days in the viewer's zone (one client session id
 * each), small enough that the tests state the session numbers and the retention cells by hand.
 */
export const REPORTS_SEED: SeedSession[] = [
  {
    userId: 'alice',
    role: 'USER',
    daysAgo: 6,
    events: [
      ['page_view', '/', 0],
      ['page_view', '/pricing', 60],
      ['click', '/pricing', 252],
    ],
  },
  { userId: 'alice', role: 'USER', daysAgo: 5, events: [['page_view', '/docs/intro', 0]] },
  {
    userId: 'alice',
    role: 'USER',
    daysAgo: 3,
    events: [
      ['page_view', '/docs/intro', 0],
      ['page_view', '/docs/faq', 30],
    ],
  },
  {
    userId: 'bob',
    role: 'ADMIN',
    daysAgo: 6,
    events: [
      ['page_view', '/', 0],
      ['page_view', '/docs/intro', 30],
      ['page_view', '/signup', 90],
    ],
  },
  { userId: 'bob', role: 'ADMIN', daysAgo: 0, events: [['page_view', '/', 0]] },
  { userId: 'carol', role: 'GUEST', daysAgo: 5, events: [['click', '/pricing', 0]] },
  {
    userId: 'dave',
    role: 'USER',
    daysAgo: 5,
    events: [
      ['page_view', '/pricing', 0],
      ['page_view', '/signup', 45],
    ],
  },
  {
    userId: 'dave',
    role: 'USER',
    daysAgo: 4,
    events: [
      ['page_view', '/pricing', 0],
      ['page_view', '/signup', 600],
    ],
  },
  {
    userId: 'erin',
    role: 'USER',
    daysAgo: 0,
    events: [
      ['page_view', '/pricing', 0],
      ['click', '/pricing', 20],
    ],
  },
];

/**
 * Stores REPORTS_SEED. `startOf(daysAgo)`: when a session of that day starts, in the viewer's zone
 * (the tests ask the browser: 10:00 local on past days, a few minutes ago today).
 */
export async function seedReports(
  pool: pg.Pool,
  startOf: (daysAgo: number) => number,
): Promise<InteractionRow[]> {
  const rows = REPORTS_SEED.flatMap((session, i) =>
    session.events.map(([action, page, at]) => {
      const occurredAt = startOf(session.daysAgo) + at * 1000;
      return interactionRow({
        userId: session.userId,
        role: session.role,
        action,
        page,
        occurredAt,
        receivedAt: occurredAt + 150,
        sessionId: `seed-${i}`,
      });
    }),
  );
  await store(pool, rows);
  return rows;
}

/** Stores rows the way the processor does: one transaction per batch. */
export async function store(
  pool: pg.Pool,
  rows: InteractionRow[],
  identifies: IdentifyRow[] = [],
): Promise<void> {
  await prismaFor(pool).$transaction(async (tx) => {
    if (identifies.length > 0) await storeIdentifies(tx, identifies);
    await storeInteractions(tx, rows);
  });
}

// ------------------------------------------------------------------------------------------ browser

// page.evaluate callbacks run in Chromium, but these programs have no DOM lib: the test files declare
// `document` (and what else their callbacks use) with these types, module by module.
export interface BrowserElement {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
  value: string;
  cells: ArrayLike<BrowserElement>;
  scrollWidth: number;
  clientWidth: number;
  getAttribute(name: string): string | null;
  getBoundingClientRect(): {
    left: number;
    top: number;
    right: number;
    bottom: number;
    width: number;
    height: number;
  };
  querySelector(selector: string): BrowserElement | null;
  querySelectorAll(selector: string): ArrayLike<BrowserElement>;
  __mark?: boolean;
}
export interface BrowserDocument {
  querySelector(selector: string): BrowserElement | null;
  querySelectorAll(selector: string): ArrayLike<BrowserElement>;
  documentElement: { scrollWidth: number };
  body: BrowserElement;
}
declare const document: BrowserDocument;
declare const window: { innerWidth: number; scrollTo(x: number, y: number): void };

/**
 * The browser runs in a half-hour-offset zone, so "daily in the viewer's zone" and the date filter
 * are checked where a UTC mix-up would show.
 */
export const TIME_ZONE = 'Asia/Kolkata';
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** Chromium as the dashboard tests drive it: desktop size, TIME_ZONE, en-US, downloads accepted. */
export function launchDashboardChromium(): Promise<LaunchedChromium> {
  return launchChromium({ viewport: DESKTOP, timezoneId: TIME_ZONE, locale: 'en-US', acceptDownloads: true });
}

const errorsOf = new WeakMap<Page, string[]>();

/** A new tab on `url` that records uncaught page errors (pageErrors). */
export async function openPage(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  const errors: string[] = [];
  errorsOf.set(page, errors);
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(url);
  return page;
}

export function pageErrors(page: Page): string[] {
  return errorsOf.get(page) ?? [];
}

export async function readyState(page: Page, state = 'ready'): Promise<void> {
  await page.waitForSelector(`main[data-state="${state}"][aria-busy="false"]`, { timeout: 20_000 });
}

export async function waitForUrl(page: Page, predicate: (url: URL) => boolean): Promise<URL> {
  return waitFor(
    () => {
      const url = new URL(page.url());
      return predicate(url) ? url : undefined;
    },
    { timeoutMs: 10_000, what: 'the page URL' },
  );
}

/** Waits until the live pill says the event stream is open. */
export async function waitForStream(page: Page, what = 'the event stream to open'): Promise<void> {
  await waitFor(
    () => page.evaluate(() => document.querySelector('#live-status')?.getAttribute('data-mode') === 'live'),
    { what },
  );
}

/** Lets the count-up animations and chart transitions finish before a screenshot. */
export async function settle(page: Page): Promise<void> {
  await page.waitForFunction(() =>
    Array.from(document.querySelectorAll('[data-card]')).every(
      (card) => card.dataset.shown === card.dataset.value,
    ),
  );
  await page.waitForTimeout(800);
}

/** `dashboard-<name>.png`: the whole page, or the part the element `of` selects covers. */
export async function screenshot(page: Page, name: string, of?: string): Promise<void> {
  // The page's own shot from the top, clipped: an element's screenshot scrolls to it, and the
  // sticky header would cover its top.
  const clip = of
    ? await page.locator(of).evaluate((el: BrowserElement) => {
        window.scrollTo(0, 0);
        const r = el.getBoundingClientRect();
        return { x: r.left, y: r.top, width: r.width, height: r.height };
      })
    : undefined;
  await page.screenshot({
    path: join(ARTIFACTS_DIR, `dashboard-${name}.png`),
    fullPage: true,
    ...(clip ? { clip } : {}),
  });
}

/**
 * Desktop and phone screenshots, light and dark (`dashboard-<prefix><size>-<scheme>.png`), of the
 * whole page or of the element `of` selects; then light.
 */
export async function screenshotsLightDark(page: Page, prefix = '', of?: string): Promise<void> {
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const [name, size] of [
      ['desktop', DESKTOP],
      ['phone', PHONE],
    ] as const) {
      await page.setViewportSize(size);
      await settle(page);
      await screenshot(page, `${prefix}${name}-${scheme}`, of);
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

/** At phone width (left set) nothing scrolls sideways: the page is no wider than the viewport. */
export async function expectNoSidewaysScrollAtPhoneWidth(page: Page): Promise<void> {
  await page.setViewportSize(PHONE);
  await waitFor(() => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), {
    timeoutMs: 5000,
    what: 'no sideways scrolling at phone width (charts resize asynchronously)',
  });
}

/**
 * Today and the six days before in the browser's zone, for seedReports: the day (YYYY-MM-DD) and when
 * a session of that day starts (10:00 on past days; a few minutes ago today, still today just after
 * midnight).
 */
export async function reportDays(context: BrowserContext): Promise<{ day: string; start: number }[]> {
  const probe = await context.newPage();
  try {
    return await probe.evaluate((now) => {
      const today = new Date(now);
      const pad = (n: number) => String(n).padStart(2, '0');
      return [0, 1, 2, 3, 4, 5, 6].map((ago) => {
        const midnight = new Date(today.getFullYear(), today.getMonth(), today.getDate() - ago);
        const day = `${midnight.getFullYear()}-${pad(midnight.getMonth() + 1)}-${pad(midnight.getDate())}`;
        if (ago > 0)
          return {
            day,
            start: new Date(midnight.getFullYear(), midnight.getMonth(), midnight.getDate(), 10).getTime(),
          };
        return { day, start: Math.max(midnight.getTime() + 1000, now - 300_000) };
      });
    }, Date.now());
  } finally {
    await probe.close();
  }
}
