/**
 * Segment's and PostHog's browser SDKs, unmodified, in Chromium against the whole stack: their own
 * published browser builds (analytics-next's dist/umd/index.js, posthog-js's dist/array.js: what the
 * PostHog snippet loads), copied from node_modules into a demo folder the real query service serves
 * (QUERY_DEMO_DIR), so the page has the query service's origin and its strict Content-Security-
 * Policy, and ingest is another origin with a CORS allow-list naming only that page's origin. The
 * pages change only what a user changes (sdk-pages/*-init.js). The events are then read back through
 * the query API and the identifies table.
 */
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page as BrowserPage, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LaunchedChromium, launchChromium } from '../chromium.js';
import { Pipeline } from '../reliability/pipeline.js';
import { freePort, type ServiceProcess } from '../services.js';
import { waitFor } from '../wait.js';

const KEY = 'browser-sdk-e2e-write-key-01';
const WRONG_KEY = 'browser-sdk-e2e-wrong-key-99';
const PAGES = fileURLToPath(new URL('./sdk-pages/', import.meta.url));
const require = createRequire(import.meta.url);
/** The SDKs' own browser builds, as npm ships them. */
const VENDOR = {
  'analytics-next.js': require.resolve('@segment/analytics-next/dist/umd/index.js'),
  'posthog-array.js': require.resolve('posthog-js/dist/array.js'),
};

/** Collects every CSP violation a page reports, before any of its scripts runs. */
const RECORD_VIOLATIONS = `
  window.__csp = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__csp.push(e.effectiveDirective + ' ' + (e.blockedURI || '?'));
  });
`;

let p: Pipeline;
let ingest: ServiceProcess;
let query: ServiceProcess;
let demo: string;
let browser: LaunchedChromium;

beforeAll(async () => {
  demo = await mkdtemp(join(tmpdir(), 'sdk-pages-'));
  await mkdir(join(demo, 'vendor'));
  for (const file of await readdir(PAGES)) await copyFile(join(PAGES, file), join(demo, file));
  for (const [name, path] of Object.entries(VENDOR)) await copyFile(path, join(demo, 'vendor', name));
  // The same pages with a key ingest does not know (the config comes from the server; this overrides it).
  await writeFile(
    join(demo, 'wrong-key.js'),
    `window.DEMO_CONFIG = Object.assign({}, window.DEMO_CONFIG, { writeKey: ${JSON.stringify(WRONG_KEY)} });\n`,
  );
  for (const sdk of ['segment', 'posthog']) {
    const html = await readFile(join(PAGES, `${sdk}.html`), 'utf8');
    await writeFile(
      join(demo, `${sdk}-wrong-key.html`),
      html.replace(
        '<script src="config.js"></script>',
        '<script src="config.js"></script><script src="wrong-key.js"></script>',
      ),
    );
  }

  p = await Pipeline.create('browser_sdks', { partitions: 1 });
  const queryPort = await freePort();
  const pageOrigin = `http://127.0.0.1:${queryPort}`;
  [ingest] = await Promise.all([
    p.start('ingest', { env: { INGEST_WRITE_KEYS: KEY, INGEST_CORS_ORIGINS: pageOrigin } }),
    p.start('processor'),
  ]);
  query = await p.start('query', {
    port: queryPort,
    env: { QUERY_DEMO_DIR: demo, QUERY_DEMO_INGEST_URL: ingest.url, QUERY_DEMO_WRITE_KEY: KEY },
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await p?.close();
  if (demo) await rm(demo, { recursive: true, force: true });
});

interface Seen {
  method: string;
  url: string;
  contentType: string | undefined;
  /** The first two bytes of the body, hex (1f8b: gzip). */
  magic: string;
  status?: number;
}

interface Watched {
  page: BrowserPage;
  requests: Seen[];
  /** Failed requests, page errors and console errors. */
  problems: string[];
}

async function open(path: string): Promise<Watched> {
  const page = await browser.context.newPage();
  const watched: Watched = { page, requests: [], problems: [] };
  const byRequest = new Map<Request, Seen>();
  page.on('request', (request) => {
    const body = request.postDataBuffer();
    const seen: Seen = {
      method: request.method(),
      url: request.url(),
      contentType: request.headers()['content-type'],
      magic: body ? body.subarray(0, 2).toString('hex') : '',
    };
    byRequest.set(request, seen);
    watched.requests.push(seen);
  });
  page.on('response', (response) => {
    const seen = byRequest.get(response.request());
    if (seen) seen.status = response.status();
    if (response.status() >= 400 && !response.url().startsWith(ingest.url))
      watched.problems.push(`${response.status()}: ${response.url()}`);
  });
  page.on('requestfailed', (request) => watched.problems.push(`failed: ${request.url()}`));
  page.on('pageerror', (error) => watched.problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') watched.problems.push(`console: ${message.text()}`);
  });
  await page.addInitScript({ content: RECORD_VIOLATIONS });
  await page.goto(`${query.url}${path}`);
  return watched;
}

/** Requests to ingest, as `METHOD /path` (query strings dropped). */
const toIngest = (w: Watched) =>
  w.requests.filter((r) => r.url.startsWith(ingest.url)).map((r) => `${r.method} ${new URL(r.url).pathname}`);

/** Everything the page asked for came from the page's own origin or from ingest. */
function expectOnlyOwnOrigins(w: Watched): void {
  const elsewhere = w.requests.filter((r) => !r.url.startsWith(query.url) && !r.url.startsWith(ingest.url));
  expect(elsewhere.map((r) => r.url)).toEqual([]);
}

interface Item {
  eventId: string;
  userId: string;
  role: string;
  action: string;
  page: string;
  properties: Record<string, string | number | boolean>;
}

async function interactions(filter: string): Promise<Item[]> {
  const response = await fetch(`${query.url}/api/interactions?limit=100&${filter}`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { items: Item[] }).items;
}

/** Waits until the user's stored interactions include every action in `actions`. */
function waitForActions(userId: string, actions: string[]): Promise<Item[]> {
  return waitFor(
    async () => {
      const items = await interactions(`userId=${encodeURIComponent(userId)}`);
      return actions.every((a) => items.some((i) => i.action === a)) ? items : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500, what: `${actions.join(', ')} of ${userId} in /api/interactions` },
  );
}

async function identifies(userId: string): Promise<{ role: string; traits: Record<string, unknown> }[]> {
  const { rows } = await p.db.pool.query<{ role: string; traits: Record<string, unknown> }>(
    'SELECT role::text AS role, traits FROM identifies WHERE user_id = $1',
    [userId],
  );
  return rows;
}

describe('Segment analytics-next (browser)', () => {
  it('loads its settings from ingest, then identify, page and track arrive mapped', async () => {
    const w = await open('/demo/segment.html');
    // Each call resolves once the SDK's Segment.io destination has delivered it (or given up).
    const outcomes = await w.page.evaluate(`(async () => {
      const outcome = (ctx) => (ctx.failedDelivery() ? String(ctx.failedDelivery().reason) : 'delivered');
      return [
        outcome(await analytics.identify('seg-user-1', { role: 'admin', plan: 'team' })),
        outcome(await analytics.page()),
        outcome(await analytics.track('Order Completed', { revenue: 42.5, currency: 'EUR' })),
      ];
    })()`);
    expect(outcomes).toEqual(['delivered', 'delivered', 'delivered']);

    const items = await waitForActions('seg-user-1', ['page_view', 'order_completed']);
    const pageView = items.find((i) => i.action === 'page_view')!;
    expect(pageView.page).toBe('/demo/segment.html');
    const order = items.find((i) => i.action === 'order_completed')!;
    expect(order).toMatchObject({ role: 'ADMIN', page: '/demo/segment.html' });
    expect(order.properties).toMatchObject({ revenue: 42.5, currency: 'EUR' });
    const identified = await waitFor(async () => (await identifies('seg-user-1'))[0], {
      timeoutMs: 30_000,
      what: 'the identify of seg-user-1',
    });
    expect(identified.role).toBe('ADMIN');
    expect(identified.traits).toMatchObject({ plan: 'team' });

    // On the wire: settings once, then one POST per call, each answered below 400.
    expect(toIngest(w)).toEqual([
      `GET /v1/projects/${KEY}/settings`,
      'POST /v1/i',
      'POST /v1/p',
      'POST /v1/t',
    ]);
    for (const r of w.requests.filter((r) => r.url.startsWith(ingest.url)))
      expect(r.status, r.url).toBeLessThan(400);
    expect(w.requests.find((r) => r.url.endsWith('/v1/t'))?.contentType).toBe('text/plain');
    expectOnlyOwnOrigins(w);
    expect(await w.page.evaluate('window.__csp')).toEqual([]);
    expect(w.problems).toEqual([]);
    await w.page.close();
  });

  it('with a key ingest does not know: one 401 for the settings, then it sends nothing', async () => {
    const w = await open('/demo/segment-wrong-key.html');
    await w.page.evaluate(`void analytics.track('Never Sent').catch(() => {})`);
    await new Promise((r) => setTimeout(r, 3000));
    expect(toIngest(w)).toEqual([`GET /v1/projects/${WRONG_KEY}/settings`]);
    expect(w.requests.find((r) => r.url.includes('/settings'))?.status).toBe(401);
    expect(await interactions('action=never_sent')).toEqual([]);
    expectOnlyOwnOrigins(w);
    await w.page.close();
  });
});

describe('posthog-js (browser)', () => {
  it('loads its config from ingest, then the page view, identify and capture arrive mapped', async () => {
    const w = await open('/demo/posthog.html');
    await waitFor(
      async () => (await w.page.evaluate('!!(window.posthog && window.posthog.__loaded)')) === true,
      {
        what: 'posthog-js to load',
      },
    );
    const anonymous = (await w.page.evaluate('posthog.get_distinct_id()')) as string;
    await w.page.evaluate(`(() => {
      posthog.identify('ph-user-1', { role: 'admin', plan: 'team' });
      posthog.capture('Order Completed', { revenue: 42.5, currency: 'EUR' });
    })()`);

    const items = await waitForActions('ph-user-1', ['order_completed']);
    const order = items.find((i) => i.action === 'order_completed')!;
    expect(order).toMatchObject({ role: 'ADMIN', page: '/demo/posthog.html' });
    expect(order.properties).toMatchObject({ revenue: 42.5, currency: 'EUR' });
    // The automatic $pageview came before identify: under the anonymous id (or the user's, once linked).
    const views = await waitFor(
      async () => {
        const found = (await interactions('action=page_view')).filter((i) => i.page === '/demo/posthog.html');
        return found.length > 0 ? found : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'the $pageview of /demo/posthog.html' },
    );
    expect([anonymous, 'ph-user-1']).toContain(views[0]!.userId);
    const identified = await waitFor(async () => (await identifies('ph-user-1'))[0], {
      timeoutMs: 30_000,
      what: 'the identify of ph-user-1',
    });
    expect(identified.role).toBe('ADMIN');
    expect(identified.traits).toMatchObject({ plan: 'team' });

    // On the wire: config.js as a script (no JSON fallback needed), flags after identify, gzip events
    // (the first batch may leave before the config is in: posthog-js starts with gzip anyway).
    const paths = toIngest(w);
    expect(paths).toContain(`GET /array/${KEY}/config.js`);
    expect(paths).not.toContain(`GET /array/${KEY}/config`);
    expect(new Set(paths)).toEqual(new Set([`GET /array/${KEY}/config.js`, 'POST /flags/', 'POST /e/']));
    for (const r of w.requests.filter((r) => r.url.startsWith(ingest.url)))
      expect(r.status, r.url).toBeLessThan(400);
    for (const r of w.requests.filter((r) => r.url.startsWith(`${ingest.url}/e/`))) {
      expect(r.status).toBe(200);
      expect(r.contentType).toBe('text/plain');
      expect(r.magic).toBe('1f8b');
    }
    expectOnlyOwnOrigins(w);
    expect(await w.page.evaluate('window.__csp')).toEqual([]);
    expect(w.problems).toEqual([]);
    await w.page.close();
  });

  it('with a token ingest does not know: config refused, events refused once each and not retried', async () => {
    const w = await open('/demo/posthog-wrong-key.html');
    await waitFor(
      async () => (await w.page.evaluate('!!(window.posthog && window.posthog.__loaded)')) === true,
      {
        what: 'posthog-js to load',
      },
    );
    await w.page.evaluate(`posthog.capture('Never Sent')`);
    await waitFor(
      () => w.requests.some((r) => r.url.startsWith(`${ingest.url}/e/`) && r.status !== undefined),
      {
        timeoutMs: 30_000,
        what: 'an event request',
      },
    );
    await new Promise((r) => setTimeout(r, 5000));
    const events = w.requests.filter((r) => r.url.startsWith(`${ingest.url}/e/`));
    expect(events.map((r) => r.status)).toEqual(events.map(() => 401));
    // Two flushes at most (the $pageview, then the capture), each refused once: no retry loop.
    expect(events.length).toBeLessThanOrEqual(2);
    const config = w.requests.filter((r) => r.url.includes('/array/'));
    expect(config.map((r) => r.status)).toEqual(config.map(() => 401));
    expect(await interactions('action=never_sent')).toEqual([]);
    expectOnlyOwnOrigins(w);
    await w.page.close();
  });
});
